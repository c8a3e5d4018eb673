"""The cloud's tables of the functional-validation sheet (shared SQL: SQLite and Postgres alike).

Cells carry their own `changeSeq`, so the sheet has its own change cursor, apart
from the IOs': a tool pulling cells never waits on, or skips, an IO change.
"""

from __future__ import annotations

SHEET_COLUMN_FIELDS = ("id", "name", "editable", "lockedReason")
CELL_FIELDS = ("id", "subsystemId", "device", "columnId", "value", "version", "updatedAt")
MAX_CELL_VALUE = 200

CELL_SCHEMA_SQL = (
    """CREATE TABLE IF NOT EXISTS "SheetColumns" (
        "id" INTEGER PRIMARY KEY,
        "name" TEXT NOT NULL,
        "editable" INTEGER NOT NULL,
        "lockedReason" TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS "SheetCells" (
        "id" INTEGER PRIMARY KEY,
        "subsystemId" INTEGER NOT NULL,
        "device" TEXT NOT NULL,
        "columnId" INTEGER NOT NULL,
        "value" TEXT,
        "version" INTEGER NOT NULL DEFAULT 1,
        "updatedAt" TEXT NOT NULL,
        "changeSeq" BIGINT NOT NULL DEFAULT 0
    )""",
    'CREATE INDEX IF NOT EXISTS "SheetCells_changeSeq" ON "SheetCells" ("changeSeq")',
)
