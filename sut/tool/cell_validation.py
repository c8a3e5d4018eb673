"""Parsing of a cell write: every refusal names what was wrong and what is accepted."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sut.tool.errors import BadRequest
from sut.tool.validation import MAX_USER

MAX_CELL_VALUE = 200
_FORM = '{"value": str|null, "currentUser": str}'


@dataclass(frozen=True)
class CellWrite:
    value: str | None  # "" and null both empty the cell: stored as NULL, like a Cleared IO result
    current_user: str


def parse_cell_write(body: bytes) -> CellWrite:
    try:
        data = json.loads(body) if body.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"malformed JSON: {exc}; send {_FORM}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"body must be a JSON object {_FORM}")
    missing = [name for name in ("value", "currentUser") if name not in data]
    if missing:
        raise BadRequest(f"missing field(s): {', '.join(missing)}; send {_FORM}")
    value, user = data["value"], data["currentUser"]
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"value must be a string or null, got {type(value).__name__}")
    if value is not None and len(value) > MAX_CELL_VALUE:
        raise BadRequest(f"value is {len(value)} characters; at most {MAX_CELL_VALUE} accepted")
    if not isinstance(user, str) or not user.strip() or len(user) > MAX_USER:
        raise BadRequest(f"currentUser must be a non-empty string of at most {MAX_USER} characters")
    return CellWrite(value or None, user)
