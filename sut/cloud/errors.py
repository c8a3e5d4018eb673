"""Exceptions of the reference cloud. Everything raised on purpose derives from CloudError."""

from __future__ import annotations


class CloudError(Exception):
    """Root of every error the cloud raises on purpose."""


class ConfigError(CloudError):
    """A setting has a value the cloud cannot use; the message names it and the accepted form."""


class SeedError(CloudError):
    """The seed file is unreadable or not in the cloud_seed.json format."""


class RequestError(CloudError):
    """A client sent something malformed; becomes a 4xx JSON error and nothing is written."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class NotFound(RequestError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=404)


class CursorAhead(CloudError):
    """A delta request named a cursor the cloud never issued (e.g. the cloud DB was reset)."""

    def __init__(self, since: int, cursor: int) -> None:
        super().__init__(
            f"since={since} is ahead of the cloud's cursor {cursor}; "
            "the cloud was reset or the cursor is foreign: do a full pull (GET /api/sync/pull)"
        )
        self.since = since
        self.cursor = cursor


class StoreUnavailable(CloudError):
    """The database could not be reached or failed mid-operation; the request may be retried."""
