"""HTTP client for the cloud's sync API, and the pure rules that classify its answers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from sut.tool.backoff import parse_retry_after
from sut.tool.errors import CloudCallFailed, CloudResync

MAX_PUSH_ITEMS = 200  # the cloud's documented batch limit


def is_transient_status(status: int) -> bool:
    """429 and every 5xx mean "not now": the same request may succeed later."""
    return status == 429 or 500 <= status <= 599


def failure_from_response(status: int, retry_after: str | None, body_text: str, what: str) -> CloudCallFailed:
    detail = body_text.strip().replace("\n", " ")[:200]
    return CloudCallFailed(
        f"{what}: HTTP {status} {detail}".rstrip(),
        transient=is_transient_status(status),
        status=status,
        retry_after_s=parse_retry_after(retry_after, time.time()) if status in (429, 503) else None,
    )


@dataclass(frozen=True)
class ItemOutcome:
    """What the cloud said about one pushed item."""

    status: str  # applied | conflict | rejected | malformed
    record_id: int | None
    version: int | None = None
    reason: str | None = None


def classify_item(item: Any, id_field: str = "ioId") -> ItemOutcome:
    """One push result; `id_field` names the record's id in it (ioId for IOs, cellId for sheet cells)."""
    if not isinstance(item, dict):
        return ItemOutcome("malformed", None, reason=f"result is not an object: {item!r:.80}")
    record_id = item.get(id_field) if isinstance(item.get(id_field), int) else None
    status = item.get("status")
    version = item.get("version")
    if status in ("applied", "conflict"):
        if not isinstance(version, int):
            return ItemOutcome("malformed", record_id, reason=f"{status} without an integer version: {item!r:.120}")
        return ItemOutcome(status, record_id, version=version)
    if status == "rejected":
        reason = item.get("reason")
        return ItemOutcome("rejected", record_id, reason=str(reason) if reason else "rejected without a reason")
    return ItemOutcome("malformed", record_id, reason=f"unknown status {status!r}")


class CloudClient:
    """One per worker thread (a requests.Session is not meant to be shared)."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout_s
        self._session = requests.Session()
        self._session.headers.update({"X-API-Key": api_key, "Accept": "application/json"})

    def close(self) -> None:
        self._session.close()

    def push(self, items: list[dict[str, Any]], path: str = "/api/sync/push", what: str = "push") -> list[Any]:
        body = self._call("POST", path, what=what, json={"items": items})
        results = body.get("results")
        if not isinstance(results, list) or len(results) != len(items):
            raise CloudCallFailed(f"{what}: expected {len(items)} results, got {results!r:.120}; the cloud broke"
                                  " the one-result-per-item contract", transient=False)
        return results

    def push_cells(self, items: list[dict[str, Any]]) -> list[Any]:
        return self.push(items, path="/api/cells/push", what="cell push")

    def pull_cells_full(self, subsystem_id: int) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
        """Every cell of the subsystem, the cursor, and the sheet's columns."""
        body = self._call("GET", "/api/cells/pull", what="full cell pull", params={"subsystemId": subsystem_id})
        return (*_ios_and_cursor(body, "cells", "full cell pull"), _objects(body.get("columns")))

    def cell_changes(self, subsystem_id: int, since: int) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
        body = self._call("GET", "/api/cells/changes", what="delta cell pull",
                          params={"subsystemId": subsystem_id, "since": since}, resync_on_409=True)
        return (*_ios_and_cursor(body, "changes", "delta cell pull"), _objects(body.get("columns")))

    def pull_full(self, subsystem_id: int) -> tuple[list[dict[str, Any]], int]:
        body = self._call("GET", "/api/sync/pull", what="full pull", params={"subsystemId": subsystem_id})
        return _ios_and_cursor(body, "ios", "full pull")

    def changes(self, subsystem_id: int, since: int) -> tuple[list[dict[str, Any]], int]:
        body = self._call("GET", "/api/sync/changes", what="delta pull",
                          params={"subsystemId": subsystem_id, "since": since}, resync_on_409=True)
        return _ios_and_cursor(body, "changes", "delta pull")

    def _call(self, method: str, path: str, *, what: str, resync_on_409: bool = False,
              **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._session.request(method, self._base + path, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise CloudCallFailed(f"{what}: network error {type(exc).__name__}: {exc}", transient=True) from exc
        if resync_on_409 and response.status_code == 409:
            raise CloudResync(f"{what}: cloud asked for a full resync (HTTP 409): {response.text[:200]}")
        if response.status_code != 200:
            raise failure_from_response(response.status_code, response.headers.get("Retry-After"),
                                        response.text, what)
        try:
            body = response.json()
        except ValueError as exc:
            # A proxy answering HTML with 200 is a broken link, not a verdict on our data.
            raise CloudCallFailed(f"{what}: answer is not JSON: {response.text[:120]!r}", transient=True) from exc
        if not isinstance(body, dict):
            raise CloudCallFailed(f"{what}: answer is not an object: {body!r:.120}", transient=True)
        return body


def _ios_and_cursor(body: dict[str, Any], key: str, what: str) -> tuple[list[dict[str, Any]], int]:
    ios, cursor = body.get(key), body.get("cursor")
    if not isinstance(ios, list) or not isinstance(cursor, int):
        raise CloudCallFailed(f"{what}: expected {{{key!r}: [...], 'cursor': int}}, got keys {sorted(body)}",
                              transient=False)
    return [io for io in ios if isinstance(io, dict)], cursor


def _objects(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
