"""The in-memory site: IOs, VFDs and PLC tags, as immutable records.

Field names mirror the DB columns and JSON keys of docs/contracts.md exactly
(camelCase included) so that no layer needs a name mapping that could drift.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from seed.schema import CELL_COLUMNS, IO_COLUMNS, SCHEMA_VERSION, SHEET_COLUMN_COLUMNS, TAG_KINDS, VFD_COLUMNS


@dataclass(frozen=True)
class Io:
    id: int
    subsystemId: int
    name: str
    description: str
    tagName: str
    isSpare: int
    result: str | None
    comments: str
    version: int
    updatedAt: str

    def as_dict(self) -> dict[str, Any]:
        return {column: getattr(self, column) for column in IO_COLUMNS}

    def as_row(self) -> tuple[Any, ...]:
        return tuple(getattr(self, column) for column in IO_COLUMNS)


@dataclass(frozen=True)
class PlcTag:
    name: str
    type: str
    kind: str
    initial: int
    expected: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "type": self.type, "kind": self.kind,
            "initial": self.initial, "expected": self.expected,
        }


@dataclass(frozen=True)
class Vfd:
    id: int
    name: str
    mapTag: str
    hpTag: str
    dirTag: str
    revTag: str
    map: int
    hp: int
    direction: int
    reverse: int

    def as_row(self) -> tuple[Any, ...]:
        return tuple(getattr(self, column) for column in VFD_COLUMNS)

    def flag_tags(self) -> tuple[PlcTag, ...]:
        """The four command flags the tool must write back after a program download."""
        return (
            PlcTag(self.mapTag, "DINT", "vfd_flag", 0, self.map),
            PlcTag(self.hpTag, "DINT", "vfd_flag", 0, self.hp),
            PlcTag(self.dirTag, "BOOL", "vfd_flag", 0, self.direction),
            PlcTag(self.revTag, "BOOL", "vfd_flag", 0, self.reverse),
        )


@dataclass(frozen=True)
class SheetColumn:
    """A column of the functional-validation sheet; `lockedReason` says why a read-only one is locked."""

    id: int
    name: str
    editable: int
    lockedReason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {column: getattr(self, column) for column in SHEET_COLUMN_COLUMNS}

    def as_row(self) -> tuple[Any, ...]:
        return tuple(getattr(self, column) for column in SHEET_COLUMN_COLUMNS)


@dataclass(frozen=True)
class SheetCell:
    """One device x column value of the sheet; an empty cell is NULL (like a Cleared IO result)."""

    id: int
    subsystemId: int
    device: str
    columnId: int
    value: str | None
    version: int
    updatedAt: str

    def as_dict(self) -> dict[str, Any]:
        return {column: getattr(self, column) for column in CELL_COLUMNS}

    def as_row(self) -> tuple[Any, ...]:
        return tuple(getattr(self, column) for column in CELL_COLUMNS)


@dataclass(frozen=True)
class Site:
    seed: int
    subsystemId: int
    ios: tuple[Io, ...]
    vfds: tuple[Vfd, ...]
    tags: tuple[PlcTag, ...]
    sheet_columns: tuple[SheetColumn, ...] = ()
    sheet_cells: tuple[SheetCell, ...] = ()

    def summary(self) -> dict[str, Any]:
        kinds = Counter(tag.kind for tag in self.tags)
        return {
            "ios": len(self.ios),
            "spares": sum(io.isSpare for io in self.ios),
            "ios_with_result": sum(io.result is not None for io in self.ios),
            "vfds": len(self.vfds),
            "plc_tags": len(self.tags),
            "by_kind": {kind: kinds.get(kind, 0) for kind in TAG_KINDS},
            "subsystemId": self.subsystemId,
            "seed": self.seed,
            "sheet_columns": len(self.sheet_columns),
            "sheet_cells": len(self.sheet_cells),
        }

    def cloud_seed(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, "subsystemId": self.subsystemId, "ios": [io.as_dict() for io in self.ios],
                "sheetColumns": [c.as_dict() for c in self.sheet_columns],
                "sheetCells": [c.as_dict() for c in self.sheet_cells]}

    def plc_tags(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, "tags": [tag.as_dict() for tag in self.tags]}
