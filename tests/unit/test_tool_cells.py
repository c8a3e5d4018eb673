"""The tool's sheet cells over a real small database: writes, the read-only refusal, the push rules
(scripted cloud answers) with and without `cell_conflict_drop`, and the pull's merge rule."""

import io
import json

import pytest
from test_tool_dbkit import small_db

from sut.tool.cell_pull import CellPullWorker, cell_changes
from sut.tool.cell_push import CellPushWorker
from sut.tool.cell_validation import parse_cell_write
from sut.tool.cells import CellSheet
from sut.tool.config import ToolConfig
from sut.tool.errors import BadRequest
from sut.tool.events import EventLog

NOW = "2026-11-22T04:00:00.000Z"


def sheet_db(tmp_path):
    db = small_db(tmp_path)
    with db.write() as conn:
        conn.execute("INSERT INTO SheetColumns VALUES (1, 'Installed', 1, NULL), (6, 'Signed off', 0, 'signed-off')")
        conn.execute("INSERT INTO SheetCells VALUES (1, 38, 'CV001_RunFb', 1, NULL, 1, 'x'),"
                     " (2, 38, 'CV001_RunFb', 6, NULL, 1, 'x')")
    return db


class ScriptedCells:
    def __init__(self, reply):
        self.reply = reply

    def push_cells(self, items):
        return [self.reply(item) for item in items]

    def close(self):
        pass


def worker(tmp_path, reply, bugs=()):
    db = sheet_db(tmp_path)
    stream = io.StringIO()
    config = ToolConfig(data_dir=tmp_path, cloud_url="http://cloud.invalid", bugs=frozenset(bugs))
    push = CellPushWorker(config, db, EventLog(stream=stream), client_factory=lambda: ScriptedCells(reply))
    return db, push, lambda: [json.loads(line) for line in stream.getvalue().splitlines()]


def test_an_editable_cell_is_written_with_its_outbox_row_and_a_read_only_one_refused(tmp_path):
    sheet = CellSheet(sheet_db(tmp_path))
    assert sheet.write_cell(1, "Yes", NOW)["pending"] == "active"
    assert sheet.write_cell(1, "No", NOW)["value"] == "No"  # coalesced: one row, latest value
    assert sheet.queue_state()["active"] == 1
    with pytest.raises(BadRequest, match="read-only \\(signed-off\\)") as refused:
        sheet.write_cell(2, "forged", NOW)
    assert refused.value.status == 403 and sheet.get_cell(2)["value"] is None
    with pytest.raises(BadRequest):
        sheet.write_cell(99, "Yes", NOW)


def test_an_empty_value_is_null():
    assert parse_cell_write(b'{"value": "", "currentUser": "t"}').value is None
    with pytest.raises(BadRequest, match="value"):
        parse_cell_write(b'{"value": 3, "currentUser": "t"}')


def test_applied_cells_leave_the_outbox_and_are_reported_as_cells(tmp_path):
    db, push, events = worker(tmp_path, lambda item: {"cellId": item["cellId"], "status": "applied", "version": 2})
    CellSheet(db).write_cell(1, "Yes", NOW)
    push.run_once()
    assert CellSheet(db).queue_state()["active"] == 0 and CellSheet(db).get_cell(1)["version"] == 2
    (pushed,) = events()
    assert pushed["recordKind"] == "cell" and pushed["appliedItems"] == [{"cellId": 1, "version": 2, "value": "Yes"}]


def test_a_conflict_rebases_and_parks_at_the_cap_without_the_bug(tmp_path):
    db, push, events = worker(tmp_path, lambda item: {"cellId": item["cellId"], "status": "conflict", "version": 5})
    CellSheet(db).write_cell(1, "Yes", NOW)
    for _ in range(3):
        push.run_once()
    assert CellSheet(db).queue_state()["parked"] == 1
    parked = [e for e in events() if e["event"] == "sync.parked"]
    assert parked[0]["cellId"] == 1 and parked[0]["kind"] == "conflict" and parked[0]["recordKind"] == "cell"


def test_cell_conflict_drop_drops_the_row_at_the_first_conflict(tmp_path):
    db, push, events = worker(tmp_path, lambda item: {"cellId": item["cellId"], "status": "conflict", "version": 5},
                              bugs=["cell_conflict_drop"])
    CellSheet(db).write_cell(1, "Yes", NOW)
    push.run_once()
    assert CellSheet(db).queue_state() == {"active": 0, "parked": 0, "parkedRows": []}
    dropped = [e for e in events() if e["event"] == "sync.dropped"]
    assert dropped[0]["cellId"] == 1 and dropped[0]["kind"] == "conflict"


def test_the_pull_takes_a_cloud_value_only_for_a_cell_without_an_outbox_row():
    local = {"id": 1, "subsystemId": 38, "device": "d", "columnId": 1, "value": None, "version": 1, "updatedAt": "a"}
    cloud = {**local, "value": "N/A", "version": 2, "updatedAt": "b"}
    assert cell_changes(local, False, cloud) == {"value": "N/A", "version": 2, "updatedAt": "b"}
    assert cell_changes(local, True, cloud) == {}
    assert cell_changes({**local, "version": 3}, False, cloud) == {}  # never roll back to an older copy
    assert cell_changes(None, False, cloud) == cloud


def test_the_pull_applies_new_columns_and_cells(tmp_path):
    db = sheet_db(tmp_path)
    pull = CellPullWorker(ToolConfig(data_dir=tmp_path), db, EventLog(stream=io.StringIO()))
    cell = {"id": 3, "subsystemId": 38, "device": "CV002_RunFb", "columnId": 2, "value": "Yes", "version": 2,
            "updatedAt": "b"}
    assert pull.apply([cell], [{"id": 2, "name": "Labelled", "editable": 1, "lockedReason": None}], 7) == 1
    assert CellSheet(db).get_cell(3)["columnName"] == "Labelled" and db.sync_state("pull.cells.cursor.38") == "7"
