"""The tool's SQLite schema and the seed file formats (docs/contracts.md section 1).

The tool, the cloud and the harness import these names; keep them stable. Every
statement is idempotent so the tool may run the script on every start-up.
"""

from __future__ import annotations

# Stored in PRAGMA user_version of tool.db and as "schema" in the JSON files.
SCHEMA_VERSION = 1

SUBSYSTEM_ID = 38

# Cleared is stored as NULL, so only two results are ever stored; the CHECK makes a
# tool that writes the literal "Cleared" fail loudly instead of diverging from the cloud.
TOOL_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS Ios (
    id INTEGER PRIMARY KEY,
    subsystemId INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    tagName TEXT,
    isSpare INTEGER NOT NULL DEFAULT 0 CHECK (isSpare IN (0, 1)),
    result TEXT CHECK (result IS NULL OR result IN ('Passed', 'Failed')),
    comments TEXT DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    updatedAt TEXT
);
CREATE INDEX IF NOT EXISTS IosBySubsystem ON Ios (subsystemId);
CREATE TABLE IF NOT EXISTS Vfds (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    mapTag TEXT NOT NULL,
    hpTag TEXT NOT NULL,
    dirTag TEXT NOT NULL,
    revTag TEXT NOT NULL,
    map INTEGER NOT NULL,
    hp INTEGER NOT NULL,
    direction INTEGER NOT NULL,
    reverse INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS PendingSyncs (
    ioId INTEGER PRIMARY KEY,
    result TEXT,
    comments TEXT,
    baseVersion INTEGER,
    attempts INTEGER DEFAULT 0,
    conflicts INTEGER DEFAULT 0,
    lastError TEXT,
    DeadLettered INTEGER DEFAULT 0,
    parkedReason TEXT,
    parkedKind TEXT,
    createdAt TEXT,
    updatedAt TEXT
);
CREATE TABLE IF NOT EXISTS SheetColumns (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    editable INTEGER NOT NULL CHECK (editable IN (0, 1)),
    lockedReason TEXT
);
CREATE TABLE IF NOT EXISTS SheetCells (
    id INTEGER PRIMARY KEY,
    subsystemId INTEGER NOT NULL,
    device TEXT NOT NULL,
    columnId INTEGER NOT NULL,
    value TEXT CHECK (value IS NULL OR value <> ''),
    version INTEGER NOT NULL DEFAULT 1,
    updatedAt TEXT
);
CREATE INDEX IF NOT EXISTS SheetCellsBySubsystem ON SheetCells (subsystemId);
CREATE TABLE IF NOT EXISTS PendingCellSyncs (
    cellId INTEGER PRIMARY KEY,
    value TEXT,
    baseVersion INTEGER,
    attempts INTEGER DEFAULT 0,
    conflicts INTEGER DEFAULT 0,
    lastError TEXT,
    DeadLettered INTEGER DEFAULT 0,
    parkedReason TEXT,
    parkedKind TEXT,
    createdAt TEXT,
    updatedAt TEXT
);
CREATE TABLE IF NOT EXISTS SyncState (
    key TEXT PRIMARY KEY,
    value TEXT
);
"""

# Column order of the IO record: DB columns and JSON keys are the same names.
IO_COLUMNS: tuple[str, ...] = (
    "id", "subsystemId", "name", "description", "tagName",
    "isSpare", "result", "comments", "version", "updatedAt",
)

# The functional-validation sheet: an empty cell is NULL (the CHECK refuses ''), like a Cleared result.
SHEET_COLUMN_COLUMNS: tuple[str, ...] = ("id", "name", "editable", "lockedReason")
CELL_COLUMNS: tuple[str, ...] = ("id", "subsystemId", "device", "columnId", "value", "version", "updatedAt")

VFD_COLUMNS: tuple[str, ...] = (
    "id", "name", "mapTag", "hpTag", "dirTag", "revTag", "map", "hp", "direction", "reverse",
)

# Results as they travel on the wire; only the first two are ever stored.
STORED_RESULTS: tuple[str, ...] = ("Passed", "Failed")
WIRE_RESULTS: tuple[str, ...] = ("Passed", "Failed", "Cleared")

TAG_KINDS: tuple[str, ...] = ("io", "fault", "vfd_flag")
TAG_TYPES: tuple[str, ...] = ("BOOL", "DINT", "REAL")

# File names inside the --out directory.
TOOL_DB_FILE = "tool.db"
CLOUD_SEED_FILE = "cloud_seed.json"
PLC_TAGS_FILE = "plc_tags.json"
SUMMARY_FILE = "summary.json"
