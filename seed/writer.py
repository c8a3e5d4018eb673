"""Write a site to disk, byte-for-byte reproducibly.

SQLite files are deterministic only if they are built the same way every time:
a fresh file, fixed page size and journal mode, rows inserted in a fixed order,
then VACUUM to lay the pages out canonically. Each file is written under a
temporary name and renamed into place, so a reader never sees half a seed and
an earlier tool.db is replaced, never appended to.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from seed.errors import SeedUsageError
from seed.model import Site
from seed.schema import (
    CELL_COLUMNS,
    CLOUD_SEED_FILE,
    IO_COLUMNS,
    PLC_TAGS_FILE,
    SCHEMA_VERSION,
    SHEET_COLUMN_COLUMNS,
    SUMMARY_FILE,
    TOOL_DB_FILE,
    TOOL_SCHEMA_SQL,
    VFD_COLUMNS,
)

PAGE_SIZE = 4096

# Files SQLite keeps next to a database. A stale -wal left from an earlier tool.db would be
# replayed onto the new file when it is first opened, so they go before the new file lands.
_SIDE_FILES = ("-wal", "-shm", "-journal")


def encode_json(document: Any) -> bytes:
    """The one JSON encoding of every seed file: sorted keys, fixed separators, ASCII, final newline."""
    text = json.dumps(document, sort_keys=True, indent=2, separators=(",", ": "), ensure_ascii=True)
    return (text + "\n").encode("ascii")


def _prepare(out_dir: str | os.PathLike[str]) -> Path:
    out = Path(out_dir)
    hint = "expected a writable directory path (it is created if missing)"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SeedUsageError(f"cannot create output directory {str(out)!r}: {exc.strerror or exc}; {hint}",
                             argument="--out") from exc
    probe = out / f".seed-write-probe-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SeedUsageError(f"cannot write into {str(out)!r}: {exc.strerror or exc}; {hint}",
                             argument="--out") from exc
    return out


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _replace(tmp: Path, final: Path) -> None:
    for suffix in _SIDE_FILES:
        _remove(final.with_name(final.name + suffix))
    os.replace(tmp, final)


def _write_bytes(final: Path, data: bytes) -> None:
    tmp = final.with_name(f".{final.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, final)


def _insert(connection: sqlite3.Connection, table: str, columns: tuple[str, ...],
            rows: list[tuple[Any, ...]]) -> None:
    connection.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)


def write_tool_db(site: Site, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    for stale in (tmp, *(tmp.with_name(tmp.name + s) for s in _SIDE_FILES)):
        _remove(stale)
    connection = sqlite3.connect(tmp, isolation_level=None)
    try:
        # Both must be set before the first table exists to take effect.
        connection.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        connection.execute("PRAGMA journal_mode = DELETE")
        connection.executescript(TOOL_SCHEMA_SQL)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("BEGIN")
        connection.executemany(
            f"INSERT INTO Ios ({', '.join(IO_COLUMNS)}) VALUES ({', '.join('?' * len(IO_COLUMNS))})",
            [io.as_row() for io in site.ios],
        )
        connection.executemany(
            f"INSERT INTO Vfds ({', '.join(VFD_COLUMNS)}) VALUES ({', '.join('?' * len(VFD_COLUMNS))})",
            [vfd.as_row() for vfd in site.vfds],
        )
        _insert(connection, "SheetColumns", SHEET_COLUMN_COLUMNS, [c.as_row() for c in site.sheet_columns])
        _insert(connection, "SheetCells", CELL_COLUMNS, [c.as_row() for c in site.sheet_cells])
        connection.execute("COMMIT")
        connection.execute("VACUUM")
    finally:
        connection.close()
    _replace(tmp, path)


def write_site(site: Site, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write the four seed files into `out_dir` (created if missing); returns their paths by file name.

    summary.json is written last, so its presence means the set is complete.
    """
    out = _prepare(out_dir)
    paths = {name: out / name for name in (TOOL_DB_FILE, CLOUD_SEED_FILE, PLC_TAGS_FILE, SUMMARY_FILE)}
    write_tool_db(site, paths[TOOL_DB_FILE])
    _write_bytes(paths[CLOUD_SEED_FILE], encode_json(site.cloud_seed()))
    _write_bytes(paths[PLC_TAGS_FILE], encode_json(site.plc_tags()))
    _write_bytes(paths[SUMMARY_FILE], encode_json(site.summary()))
    return paths
