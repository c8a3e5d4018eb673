"""The functional-validation sheet: deterministic, moderate, symmetric between the tool's seed and the cloud's."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from seed.generate import generate_site, write_site
from seed.schema import CELL_COLUMNS


def test_the_sheet_is_deterministic_and_a_few_thousand_cells() -> None:
    first, again = generate_site(3), generate_site(3)
    assert first.sheet_cells == again.sheet_cells
    assert 1000 <= len(first.sheet_cells) <= 5000
    assert generate_site(4).sheet_cells != first.sheet_cells


def test_every_device_has_one_cell_per_column_and_both_kinds_of_column() -> None:
    site = generate_site(1)
    columns = {c.id for c in site.sheet_columns}
    by_device: dict[str, set[int]] = {}
    for cell in site.sheet_cells:
        by_device.setdefault(cell.device, set()).add(cell.columnId)
    assert all(found == columns for found in by_device.values())
    assert {c.editable for c in site.sheet_columns} == {0, 1}
    assert all(c.lockedReason for c in site.sheet_columns if not c.editable)
    assert all(cell.value != "" for cell in site.sheet_cells)  # empty is NULL


def test_tool_db_and_cloud_seed_hold_the_same_cells(tmp_path: Path) -> None:
    write_site(generate_site(1), tmp_path)
    cloud = json.loads((tmp_path / "cloud_seed.json").read_text())["sheetCells"]
    connection = sqlite3.connect(tmp_path / "tool.db")
    try:
        rows = connection.execute(f"SELECT {', '.join(CELL_COLUMNS)} FROM SheetCells ORDER BY id").fetchall()
    finally:
        connection.close()
    assert [dict(zip(CELL_COLUMNS, row, strict=True)) for row in rows] == cloud
