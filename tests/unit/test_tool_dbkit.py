"""Shared helper for the tool's unit tests: a small real SQLite database (no tests here)."""

from __future__ import annotations

from pathlib import Path

from sut.tool.db import ToolDb

IOS = [
    # id, name, description, isSpare, result, comments, version
    (1, "MCM02_DI_0001", "Motor 1 running", 0, "Passed", "ok", 3),
    (2, "MCM02_DI_0002", "Motor 2 running", 0, None, "", 1),
    (3, "MCM02_DI_0003", "SPARE", 1, None, "", 1),
    (4, "MCM02_DI_0004", "E-stop healthy", 0, "Failed", "loose wire", 2),
]


def small_db(folder: Path) -> ToolDb:
    db = ToolDb(folder / "tool.db")
    db.initialise()
    with db.write() as conn:
        for io_id, name, description, spare, result, comments, version in IOS:
            conn.execute(
                "INSERT INTO Ios (id, subsystemId, name, description, tagName, isSpare, result, comments, version,"
                " updatedAt) VALUES (?, 38, ?, ?, ?, ?, ?, ?, ?, '2026-11-20T06:00:00.000Z')",
                (io_id, name, description, f"{name}_Tag", spare, result, comments, version),
            )
        conn.execute("INSERT INTO Vfds VALUES (1, 'CV001_VFD', 'CV001_VFD_Map', 'CV001_VFD_HP', 'CV001_VFD_Dir',"
                     " 'CV001_VFD_Rev', 12, 75, 1, 0)")
    return db


def outbox_rows(db: ToolDb) -> dict[int, dict]:
    rows = db.connection().execute("SELECT * FROM PendingSyncs ORDER BY ioId").fetchall()
    return {row["ioId"]: dict(row) for row in rows}
