"""Load and validate a seed tag file (`plc_tags.json`, docs/contracts.md section 1).

Validation is strict because a malformed tag would otherwise surface much later as a confusing
CIP error in the tool or the judge; every message names the file, the tag (index and name) and
the field, and says what is accepted.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sut.plcsim.errors import TagFileError

SCHEMA_VERSION = 1
TAG_TYPES = ("BOOL", "DINT", "REAL")
DINT_MIN, DINT_MAX = -(2**31), 2**31 - 1
# Logix base tag names: a letter or underscore first, then letters, digits, underscores, at most 40.
# pylogix would read a '.' as member access and '[' as an index, so both are refused here.
_TAG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")

TagValue = bool | int | float


@dataclass(frozen=True)
class TagSpec:
    name: str
    type: str  # BOOL | DINT | REAL
    kind: str  # io | fault | vfd_flag (not used by the simulator; kept for callers)
    initial: TagValue
    expected: TagValue | None


def load_tag_file(path: Path) -> list[TagSpec]:
    """Read and validate a tag file; raise TagFileError naming what is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TagFileError(
            f"tag file {path} not found; set PLC_TAGS_FILE or --tags to the seed's plc_tags.json"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TagFileError(f"tag file {path} cannot be read: {exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TagFileError(
            f"tag file {path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    return parse_tag_document(document, source=str(path))


def parse_tag_document(document: Any, source: str = "<tags>") -> list[TagSpec]:
    """Validate an already-decoded tag document and return its tags in file order."""
    if not isinstance(document, Mapping):
        raise TagFileError(
            f"{source}: top level is {type(document).__name__}; expected an object "
            '{"schema": 1, "tags": [...]}'
        )
    if document.get("schema") != SCHEMA_VERSION:
        raise TagFileError(
            f"{source}: field 'schema' is {document.get('schema')!r}; this simulator reads schema {SCHEMA_VERSION}"
        )
    raw_tags = document.get("tags")
    if not isinstance(raw_tags, list) or not raw_tags:
        raise TagFileError(f"{source}: field 'tags' must be a non-empty list of tag objects")

    specs: list[TagSpec] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_tags):
        spec = _parse_tag(raw, index, source)
        # Logix (and cpppo) look tags up case-insensitively, so 'A' and 'a' are the same tag.
        folded = spec.name.lower()
        if folded in seen:
            raise TagFileError(
                f"{source}: tag #{index} {spec.name!r}: field 'name' duplicates tag #{seen[folded]} "
                "(tag names are case-insensitive on a Logix PLC)"
            )
        seen[folded] = index
        specs.append(spec)
    return specs


def _parse_tag(raw: Any, index: int, source: str) -> TagSpec:
    where = f"{source}: tag #{index}"
    if not isinstance(raw, Mapping):
        raise TagFileError(f"{where}: is {type(raw).__name__}; expected an object with name, type, kind, initial")
    name = raw.get("name")
    if not isinstance(name, str) or not _TAG_NAME.match(name):
        raise TagFileError(
            f"{where}: field 'name' is {name!r}; expected a Logix tag name "
            "(letter or _ first, then letters, digits, _; at most 40 characters)"
        )
    where = f"{where} {name!r}"
    tag_type = raw.get("type")
    if tag_type not in TAG_TYPES:
        raise TagFileError(f"{where}: field 'type' is {tag_type!r}; accepted: {', '.join(TAG_TYPES)}")
    kind = raw.get("kind", "")
    if not isinstance(kind, str):
        raise TagFileError(f"{where}: field 'kind' is {kind!r}; expected a string such as 'io'")
    if "initial" not in raw:
        raise TagFileError(f"{where}: field 'initial' is missing; expected a {tag_type} value (usually 0)")
    initial = coerce_value(raw["initial"], tag_type, f"{where}: field 'initial'")
    expected_raw = raw.get("expected")
    expected = None if expected_raw is None else coerce_value(expected_raw, tag_type, f"{where}: field 'expected'")
    return TagSpec(name=name, type=tag_type, kind=kind, initial=initial, expected=expected)


def coerce_value(value: Any, tag_type: str, where: str) -> TagValue:
    """Check a JSON value fits a CIP type and return it in the Python type cpppo stores for it."""
    if tag_type == "BOOL":
        # JSON seeds write BOOLs as 0/1 as often as false/true; both are accepted, nothing else.
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return int(value)
        raise TagFileError(f"{where} is {value!r}; a BOOL accepts 0, 1, false or true")
    if tag_type == "DINT":
        if isinstance(value, int) and not isinstance(value, bool) and DINT_MIN <= value <= DINT_MAX:
            return value
        raise TagFileError(f"{where} is {value!r}; a DINT accepts an integer in [{DINT_MIN}, {DINT_MAX}]")
    if tag_type == "REAL":
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise TagFileError(f"{where} is {value!r}; a REAL accepts a finite number")
    raise TagFileError(f"{where}: unknown type {tag_type!r}; accepted: {', '.join(TAG_TYPES)}")
