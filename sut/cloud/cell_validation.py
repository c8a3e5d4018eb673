"""Request parsing for the sheet's routes: the shape of a request, or a 400 naming the field.

As for IOs, business rules (unknown cell, read-only column, a value too long) are
per-item outcomes decided by the store, so one bad cell never sinks a batch.
"""

from __future__ import annotations

import json
from typing import Any

from .cell_schema import MAX_CELL_VALUE
from .cells import CellPushItem
from .errors import RequestError

_PUSH_FORM = '{"items": [{"cellId": int, "value": str|null, "baseVersion": int}]}'


def parse_cell_push(body: dict[str, Any], max_items: int) -> list[CellPushItem]:
    items = body.get("items")
    if not isinstance(items, list):
        raise RequestError(f"items is missing or not a list; accepted: {_PUSH_FORM}")
    if len(items) > max_items:
        raise RequestError(f"items has {len(items)} entries; accepted: at most {max_items} per push")
    return [_item(i, item) for i, item in enumerate(items)]


def _item(index: int, item: Any) -> CellPushItem:
    where = f"items[{index}]"
    if not isinstance(item, dict):
        raise RequestError(f"{where} must be an object; accepted: {_PUSH_FORM}")
    for key in ("cellId", "baseVersion"):
        if not _is_int(item.get(key)):
            raise RequestError(f"{where}.{key} is missing or not an integer, got {json.dumps(item.get(key))}")
    if "value" not in item:
        # An absent key must never mean "empty the cell": that would wipe a technician's entry silently.
        raise RequestError(f"{where}.value is missing; accepted: a string, or \"\"/null to empty the cell")
    return CellPushItem(cell_id=item["cellId"], value=item["value"], base_version=item["baseVersion"])


def parse_cell_edit(body: dict[str, Any]) -> str | None:
    """The office's edit of one cell: {"value": str|null}; "" and null both empty it."""
    unknown = sorted(set(body) - {"value"})
    if unknown or "value" not in body:
        raise RequestError(f"accepted: {{\"value\": str|null}}; got fields {sorted(body)}")
    value = body["value"]
    if value is not None and not isinstance(value, str):
        raise RequestError(f"value must be a string or null, got {json.dumps(value)[:40]}")
    if value is not None and len(value) > MAX_CELL_VALUE:
        raise RequestError(f"value is {len(value)} characters; at most {MAX_CELL_VALUE} accepted")
    return value or None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
