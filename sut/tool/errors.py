"""The tool's root exception and the few specific failures callers act on."""

from __future__ import annotations


class ToolError(Exception):
    """Root of every error the tool raises on purpose; messages carry evidence and a hint."""


class ConfigError(ToolError):
    """A setting is missing or malformed; the message names the variable and the accepted form."""


class BadRequest(ToolError):
    """A client request the tool refuses before writing anything (mapped to HTTP 4xx)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class CloudCallFailed(ToolError):
    """A call to the cloud did not produce a usable answer.

    `transient` tells the workers whether to retry forever with backoff (429, 5xx,
    network) or to count the failure against the retry cap.
    """

    def __init__(self, message: str, *, transient: bool, status: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status
        self.retry_after_s = retry_after_s


class CloudResync(ToolError):
    """The cloud refused our delta cursor (HTTP 409): the next pull must be a full pull."""
