"""The functional-validation sheet: one row per field device, one cell per (device, column).

Technicians fill the editable columns on the tablet; the read-only ones are
written elsewhere (a computed tally, an engineer's sign-off) and the tool must
refuse to write them. The sheet covers a subset of the wired field devices (the
panel's own signals are checked on the panel sheet, not here), drawn from its
own random stream so the IO list and the sheet never reshuffle each other.
"""

from __future__ import annotations

import random

from seed.layout import SITE
from seed.model import Io, SheetCell, SheetColumn

# Editable columns first; read-only columns say why they are locked.
SHEET_COLUMNS: tuple[SheetColumn, ...] = (
    SheetColumn(1, "Installed", 1, None),
    SheetColumn(2, "Labelled", 1, None),
    SheetColumn(3, "Functional test", 1, None),
    SheetColumn(4, "Witnessed by", 1, None),
    SheetColumn(5, "Checks complete", 0, "computed"),
    SheetColumn(6, "Signed off", 0, "signed-off"),
)
TALLY_COLUMN, SIGN_OFF_COLUMN = 5, 6
EDITABLE_VALUES = ("Yes", "No", "N/A")
WITNESSES = ("A. Novak", "R. Singh", "M. Okafor", "L. Brandt")
SIGN_OFFS = ("Signed off: site engineer", "Signed off: client rep")
DEVICE_SHARE = 0.5  # about 540 devices x 6 columns: a few thousand cells
FILLED_SHARE = 0.4
SHEET_IMPORTED_AT = "2026-09-01T05:00:00.000Z"  # before any IO import: the sheet is created from the design


def sheet_devices(rng: random.Random, ios: list[Io]) -> list[str]:
    """The field devices on the sheet: a share of the wired, non-spare points that are not the panel's own."""
    field_tags = [io.tagName for io in ios if not io.isSpare and not io.tagName.startswith(f"{SITE}_")]
    return [tag for tag in field_tags if rng.random() < DEVICE_SHARE]


def _editable_value(rng: random.Random, column: SheetColumn) -> str | None:
    if rng.random() >= FILLED_SHARE:
        return None
    return rng.choice(WITNESSES) if column.name == "Witnessed by" else rng.choice(EDITABLE_VALUES)


def sheet_cells(rng: random.Random, devices: list[str], subsystem_id: int) -> list[SheetCell]:
    """Every cell of the sheet, ids in (device, column) order. A filled cell was written once (version 2)."""
    cells: list[SheetCell] = []
    editable = [c for c in SHEET_COLUMNS if c.editable]
    for device in devices:
        values = {c.id: _editable_value(rng, c) for c in editable}
        filled = sum(v is not None for v in values.values())
        values[TALLY_COLUMN] = f"{filled}/{len(editable)}"  # the tally the sheet computes from the editable columns
        values[SIGN_OFF_COLUMN] = rng.choice(SIGN_OFFS) if filled == len(editable) and rng.random() < 0.5 else None
        for column in SHEET_COLUMNS:
            value = values[column.id]
            cells.append(SheetCell(id=len(cells) + 1, subsystemId=subsystem_id, device=device,
                                   columnId=column.id, value=value, version=1 if value is None else 2,
                                   updatedAt=SHEET_IMPORTED_AT))
    return cells
