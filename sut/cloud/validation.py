"""Request parsing: turn bodies and query strings into typed values, or a 400 naming the field.

Only the shape of a request is checked here. Business rules (unknown IO, invalid
result value, SPARE) are per-item outcomes decided by the store, so one bad item
never sinks a batch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import RequestError
from .store import PushItem

NEW_IO_FIELDS = {"subsystemId": int, "name": str, "description": str, "tagName": str, "isSpare": int}
NEW_IO_REQUIRED = ("subsystemId", "name", "description")
PATCH_FIELDS = {"name": str, "description": str, "comments": str, "isSpare": int}


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(f"body is not valid UTF-8 JSON ({exc}); accepted: a JSON object") from None
    if not isinstance(body, dict):
        raise RequestError(f"body must be a JSON object, got {_json_type(body)}")
    return body


def parse_push(body: dict[str, Any], max_items: int) -> list[PushItem]:
    items = body.get("items")
    if not isinstance(items, list):
        raise RequestError(
            "items is missing or not a list; accepted: "
            '{"items": [{"ioId": int, "result": "Passed"|"Failed"|"Cleared"|null, "comments": str, "baseVersion": int}]}'
        )
    if len(items) > max_items:
        raise RequestError(f"items has {len(items)} entries; accepted: at most {max_items} per push")
    return [_push_item(i, item) for i, item in enumerate(items)]


def _push_item(index: int, item: Any) -> PushItem:
    where = f"items[{index}]"
    if not isinstance(item, dict):
        raise RequestError(f"{where} must be an object, got {_json_type(item)}")
    io_id = _require_int(item, "ioId", where, "the IO id")
    base_version = _require_int(item, "baseVersion", where, "the IO version the change was based on")
    if "result" not in item:
        # An absent key must never mean "clear the result": that would wipe a field result silently.
        raise RequestError(f"{where}.result is missing; accepted: \"Passed\", \"Failed\", \"Cleared\" or null")
    comments = item.get("comments")
    if comments is None:
        comments = ""
    elif not isinstance(comments, str):
        raise RequestError(f"{where}.comments must be a string or null, got {_json_type(comments)}")
    return PushItem(io_id=io_id, result=item["result"], comments=comments, base_version=base_version)


def _require_int(item: Mapping[str, Any], key: str, where: str, meaning: str) -> int:
    if key not in item:
        raise RequestError(f"{where}.{key} is missing; accepted: an integer ({meaning})")
    value = item[key]
    if not _is_int(value):
        raise RequestError(f"{where}.{key} must be an integer ({meaning}), got {json.dumps(value)}")
    return int(value)


def parse_new_io(body: dict[str, Any]) -> dict[str, Any]:
    if "result" in body:
        raise RequestError("result cannot be set by the admin API; results come from the field (sync push)")
    fields = _typed_fields(body, NEW_IO_FIELDS)
    missing = [k for k in NEW_IO_REQUIRED if k not in fields]
    if missing:
        raise RequestError(
            f"missing {', '.join(missing)}; accepted: "
            '{"subsystemId": int, "name": str, "description": str, "tagName"?: str, "isSpare"?: 0|1}'
        )
    if not fields["name"].strip():
        raise RequestError("name must not be empty")
    return fields


def parse_patch(body: dict[str, Any]) -> dict[str, Any]:
    if "result" in body:
        raise RequestError(
            "result cannot be changed by the admin API; accepted fields: " + ", ".join(PATCH_FIELDS)
        )
    fields = _typed_fields(body, PATCH_FIELDS)
    if not fields:
        raise RequestError("nothing to change; accepted fields: " + ", ".join(PATCH_FIELDS))
    if "name" in fields and not fields["name"].strip():
        raise RequestError("name must not be empty")
    return fields


def _typed_fields(body: dict[str, Any], allowed: dict[str, type]) -> dict[str, Any]:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise RequestError(f"unknown field(s) {', '.join(unknown)}; accepted: {', '.join(allowed)}")
    fields: dict[str, Any] = {}
    for key, value in body.items():
        if key == "isSpare":
            if value not in (0, 1) or not (_is_int(value) or isinstance(value, bool)):
                raise RequestError(f"isSpare must be 0, 1, true or false, got {json.dumps(value)}")
            fields[key] = int(value)
        elif allowed[key] is int:
            if not _is_int(value):
                raise RequestError(f"{key} must be an integer, got {json.dumps(value)}")
            fields[key] = value
        else:
            if not isinstance(value, str):
                raise RequestError(f"{key} must be a string, got {_json_type(value)}")
            fields[key] = value
    return fields


def parse_int_arg(args: Mapping[str, str], name: str, minimum: int = 0) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        raise RequestError(f"query parameter {name} is missing; accepted: an integer >= {minimum}")
    try:
        value = int(raw)
    except ValueError:
        raise RequestError(f"query parameter {name}={raw!r} is not an integer; accepted: an integer >= {minimum}") from None
    if value < minimum:
        raise RequestError(f"query parameter {name}={value} is too small; accepted: an integer >= {minimum}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
