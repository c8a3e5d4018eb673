"""The files on disk: byte-identical per seed, tool.db and cloud_seed.json identical in content,
PLC expectations matching the Vfds table, and old output replaced rather than appended to.
Real SQLite in a temporary directory."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from seed.errors import SeedUsageError
from seed.generate import generate_site, write_site
from seed.schema import IO_COLUMNS, SCHEMA_VERSION, TOOL_SCHEMA_SQL

FILES = ("tool.db", "cloud_seed.json", "plc_tags.json", "summary.json")

# Column lists exactly as docs/contracts.md section 1 pins them.
CONTRACT_COLUMNS = {
    "Ios": ["id", "subsystemId", "name", "description", "tagName", "isSpare", "result", "comments",
            "version", "updatedAt"],
    "Vfds": ["id", "name", "mapTag", "hpTag", "dirTag", "revTag", "map", "hp", "direction", "reverse"],
    "PendingSyncs": ["ioId", "result", "comments", "baseVersion", "attempts", "conflicts", "lastError",
                     "DeadLettered", "parkedReason", "parkedKind", "createdAt", "updatedAt"],
    "SyncState": ["key", "value"],
}


def _write(seed: int, out: Path) -> Path:
    write_site(generate_site(seed), out)
    return out


def _rows(db: Path, sql: str) -> list[dict]:
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(sql)]
    finally:
        connection.close()


@pytest.fixture(scope="module")
def seed1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(1, tmp_path_factory.mktemp("seed1"))


def test_same_seed_gives_byte_identical_files(seed1: Path, tmp_path: Path) -> None:
    again = _write(1, tmp_path / "again")
    for name in FILES:
        assert (seed1 / name).read_bytes() == (again / name).read_bytes(), name


def test_another_seed_changes_every_file(seed1: Path, tmp_path: Path) -> None:
    other = _write(2, tmp_path / "other")
    for name in FILES:
        assert (seed1 / name).read_bytes() != (other / name).read_bytes(), name


def test_tool_db_and_cloud_seed_hold_the_same_ios(seed1: Path) -> None:
    cloud = json.loads((seed1 / "cloud_seed.json").read_text())
    assert cloud["schema"] == 1 and cloud["subsystemId"] == 38
    local = _rows(seed1 / "tool.db", f"SELECT {', '.join(IO_COLUMNS)} FROM Ios ORDER BY id")
    assert len(local) == len(cloud["ios"]) == 1184
    for db_io, cloud_io in zip(local, cloud["ios"], strict=True):
        assert db_io == cloud_io  # every field, types included (int stays int, NULL stays null)
    assert sum(io["result"] is not None for io in local) == sum(io["result"] is not None for io in cloud["ios"])


def test_every_vfd_flag_expects_the_vfds_table_value(seed1: Path) -> None:
    tags = {tag["name"]: tag for tag in json.loads((seed1 / "plc_tags.json").read_text())["tags"]}
    vfds = _rows(seed1 / "tool.db", "SELECT * FROM Vfds ORDER BY id")
    assert len(vfds) == 72
    checked = 0
    for vfd in vfds:
        for tag_column, value_column in (("mapTag", "map"), ("hpTag", "hp"), ("dirTag", "direction"),
                                         ("revTag", "reverse")):
            tag = tags[vfd[tag_column]]
            assert tag["kind"] == "vfd_flag" and tag["expected"] == vfd[value_column] and tag["initial"] == 0
            checked += 1
    assert checked == sum(tag["kind"] == "vfd_flag" for tag in tags.values()) == 288


def test_plc_tags_cover_every_io_point(seed1: Path) -> None:
    tags = json.loads((seed1 / "plc_tags.json").read_text())["tags"]
    io_tags = {tag["name"] for tag in tags if tag["kind"] == "io"}
    assert {row["tagName"] for row in _rows(seed1 / "tool.db", "SELECT tagName FROM Ios")} == io_tags
    assert all(tag["type"] == "BOOL" for tag in tags if tag["kind"] in ("io", "fault"))


def test_summary_counts_what_the_files_hold(seed1: Path) -> None:
    summary = json.loads((seed1 / "summary.json").read_text())
    ios = json.loads((seed1 / "cloud_seed.json").read_text())["ios"]
    tags = json.loads((seed1 / "plc_tags.json").read_text())["tags"]
    cloud = json.loads((seed1 / "cloud_seed.json").read_text())
    assert summary == {
        "ios": len(ios),
        "spares": sum(io["isSpare"] for io in ios),
        "ios_with_result": sum(io["result"] is not None for io in ios),
        "vfds": 72,
        "plc_tags": len(tags),
        "by_kind": {kind: sum(tag["kind"] == kind for tag in tags) for kind in ("io", "fault", "vfd_flag")},
        "subsystemId": 38,
        "seed": 1,
        "sheet_columns": len(cloud["sheetColumns"]),
        "sheet_cells": len(cloud["sheetCells"]),
    }


def test_tool_db_schema_is_the_contract_and_idempotent(seed1: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.db"
    db.write_bytes((seed1 / "tool.db").read_bytes())
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        for table, columns in CONTRACT_COLUMNS.items():
            assert [row[1] for row in connection.execute(f"PRAGMA table_info({table})")] == columns
        connection.executescript(TOOL_SCHEMA_SQL)  # the tool runs it on every start
        connection.executescript(TOOL_SCHEMA_SQL)
        assert connection.execute("SELECT COUNT(*) FROM Ios").fetchone()[0] == 1184
        assert connection.execute("SELECT COUNT(*) FROM PendingSyncs").fetchone()[0] == 0
    finally:
        connection.close()


def test_schema_refuses_a_stored_cleared(seed1: Path, tmp_path: Path) -> None:
    connection = sqlite3.connect(":memory:")
    connection.executescript(TOOL_SCHEMA_SQL)
    with pytest.raises(sqlite3.IntegrityError):
        connection.execute("INSERT INTO Ios (id, subsystemId, name, result) VALUES (1, 38, 'x', 'Cleared')")


def test_rewriting_replaces_old_output_and_drops_a_stale_wal(seed1: Path, tmp_path: Path) -> None:
    out = _write(2, tmp_path / "reused")
    (out / "tool.db-wal").write_bytes(b"stale write-ahead log from an earlier tool.db")
    (out / "tool.db-shm").write_bytes(b"stale")
    _write(1, out)
    for name in FILES:
        assert (out / name).read_bytes() == (seed1 / name).read_bytes(), name
    assert not (out / "tool.db-wal").exists() and not (out / "tool.db-shm").exists()
    assert _rows(out / "tool.db", "SELECT COUNT(*) AS n FROM Ios") == [{"n": 1184}]
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)  # no temporary files left behind


def test_a_non_database_tool_db_is_replaced(seed1: Path, tmp_path: Path) -> None:
    out = tmp_path / "junk"
    out.mkdir()
    (out / "tool.db").write_text("not a database")
    _write(1, out)
    assert (out / "tool.db").read_bytes() == (seed1 / "tool.db").read_bytes()


def test_an_output_path_that_cannot_be_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SeedUsageError, match="writable directory") as caught:
        write_site(generate_site(1), blocker / "out")
    assert caught.value.argument == "--out"
