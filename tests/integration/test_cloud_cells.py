"""The cloud's sheet cells, run identically against SQLite and a throwaway Postgres cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_cloud_support import SUBSYSTEM, PostgresCluster, postgres_cluster

from sut.cloud.cells import CellPushItem, CellStore
from sut.cloud.config import CloudConfig
from sut.cloud.errors import CursorAhead, RequestError
from sut.cloud.store import open_store

COLUMNS = [{"id": 1, "name": "Installed", "editable": 1, "lockedReason": None},
           {"id": 2, "name": "Signed off", "editable": 0, "lockedReason": "signed-off"}]
CELLS = [{"id": n, "subsystemId": SUBSYSTEM, "device": f"CV{(n + 1) // 2:03d}_RunFb", "columnId": 2 - n % 2,
          "value": None, "version": 1, "updatedAt": "2026-09-01T05:00:00.000Z"} for n in range(1, 9)]


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgres"])
def cells(request: pytest.FixtureRequest, tmp_path) -> Iterator[CellStore]:
    if request.param == "postgres":
        config = CloudConfig(database_url=request.getfixturevalue("pg").new_database())
    else:
        config = CloudConfig(sqlite_path=tmp_path / "cloud.db")
    store = open_store(config)
    sheet = CellStore(store.backend)
    assert sheet.load_seed_if_empty(COLUMNS, CELLS) == len(CELLS)
    assert sheet.load_seed_if_empty(COLUMNS, CELLS) == 0
    yield sheet
    store.close()


def test_push_applies_conflicts_and_rejects_per_item(cells: CellStore) -> None:
    outcomes = cells.push([CellPushItem(1, "Yes", 1), CellPushItem(1, "No", 1), CellPushItem(2, "x", 1),
                           CellPushItem(999, "Yes", 1), CellPushItem(3, "y" * 500, 1), CellPushItem(5, "", 1)])
    assert outcomes[0] == {"cellId": 1, "status": "applied", "version": 2}
    assert outcomes[1] == {"cellId": 1, "status": "conflict", "version": 2, "value": "Yes"}
    assert outcomes[2]["status"] == "rejected" and "read-only (signed-off)" in outcomes[2]["reason"]
    assert [o["status"] for o in outcomes[3:]] == ["rejected", "rejected", "applied"]
    assert cells.get_cell(5)["value"] is None  # "" is an empty cell: NULL


def test_pull_and_changes_follow_pushes_and_office_edits(cells: CellStore) -> None:
    full = cells.pull(SUBSYSTEM)
    assert len(full["cells"]) == len(CELLS) and full["cursor"] == 0 and len(full["columns"]) == 2
    cells.push([CellPushItem(1, "Yes", 1)])
    edited = cells.edit_cell(3, "No")
    assert edited["version"] == 2
    delta = cells.changes(SUBSYSTEM, 0)
    assert [c["id"] for c in delta["changes"]] == [1, 3] and delta["cursor"] == 2
    assert cells.changes(SUBSYSTEM, 2)["changes"] == []
    with pytest.raises(CursorAhead):
        cells.changes(SUBSYSTEM, 3)
    with pytest.raises(RequestError):
        cells.edit_cell(2, "forged sign-off")
