"""Reading the seed's cloud_seed.json (`{"schema": 1, "subsystemId": 38, "ios": [IO...]}`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .cell_schema import CELL_FIELDS, SHEET_COLUMN_FIELDS
from .errors import SeedError
from .store import IO_FIELDS

SUPPORTED_SCHEMA = 1
_HINT = "regenerate it with `python -m seed generate --out DIR`"


def read_seed_file(path: Path) -> list[dict[str, Any]]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SeedError(f"seed file {path} does not exist; set CLOUD_SEED_FILE to a cloud_seed.json or unset it") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SeedError(f"seed file {path} is unreadable: {exc}; {_HINT}") from None
    if not isinstance(doc, dict) or doc.get("schema") != SUPPORTED_SCHEMA or not isinstance(doc.get("ios"), list):
        raise SeedError(
            f"seed file {path} is not a cloud seed: expected "
            f'{{"schema": {SUPPORTED_SCHEMA}, "subsystemId": int, "ios": [...]}}; {_HINT}'
        )
    ios = doc["ios"]
    for index, io in enumerate(ios):
        _check_io(path, index, io)
    return ios


def read_sheet_seed(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The seed's functional-validation sheet: (columns, cells); both empty for a seed made before the sheet."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))  # read_seed_file has vetted the file already
    columns, cells = doc.get("sheetColumns", []), doc.get("sheetCells", [])
    if not isinstance(columns, list) or not isinstance(cells, list):
        raise SeedError(f"seed file {path}: sheetColumns and sheetCells must be lists; {_HINT}")
    for where, rows, fields in (("sheetColumns", columns, SHEET_COLUMN_FIELDS), ("sheetCells", cells, CELL_FIELDS)):
        for index, row in enumerate(rows):
            if not isinstance(row, dict) or any(f not in row for f in fields):
                raise SeedError(f"seed file {path}: {where}[{index}] needs {', '.join(fields)}; {_HINT}")
    return columns, cells


def _check_io(path: Path, index: int, io: Any) -> None:
    where = f"seed file {path}: ios[{index}]"
    if not isinstance(io, dict):
        raise SeedError(f"{where} is not an object; {_HINT}")
    missing = [f for f in IO_FIELDS if f not in io]
    if missing:
        raise SeedError(f"{where} lacks {', '.join(missing)}; every IO needs {', '.join(IO_FIELDS)}; {_HINT}")
    if io["result"] not in ("Passed", "Failed", None):
        raise SeedError(f"{where} has result {io['result']!r}; accepted: Passed, Failed, null; {_HINT}")
    if not isinstance(io["id"], int) or not isinstance(io["version"], int) or io["version"] < 1:
        raise SeedError(f"{where} needs an integer id and an integer version >= 1; {_HINT}")
