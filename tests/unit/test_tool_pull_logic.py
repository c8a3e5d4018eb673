"""The pull gate and the merge rules: a pull never overwrites a value the field has not synced."""

import pytest
from test_tool_dbkit import outbox_rows, small_db

from sut.tool.config import ToolConfig
from sut.tool.events import EventLog
from sut.tool.pull import PullWorker, cursor_key, fields_to_apply, normalise_cloud_io, pull_gate_open


@pytest.mark.parametrize(("active", "parked", "count_parked", "open_"), [
    (0, 0, False, True),
    (1, 0, False, False),
    (0, 5, False, True),   # parked rows wait for a human; they must not block pulls
    (0, 5, True, False),   # the planted parked_gate bug
    (2, 5, True, False),
])
def test_gate_counts_only_active_rows(active, parked, count_parked, open_):
    assert pull_gate_open(active, parked, count_parked=count_parked) is open_


def cloud_io(**overrides):
    base = {"id": 2, "subsystemId": 38, "name": "MCM02_DI_0002", "description": "Motor 2 running",
            "tagName": "MCM02_DI_0002_Tag", "isSpare": False, "result": "Passed", "comments": "from cloud",
            "version": 2, "updatedAt": "2026-11-22T05:00:00.000Z"}
    return normalise_cloud_io({**base, **overrides})


LOCAL = {"id": 2, "name": "MCM02_DI_0002", "description": "Motor 2 running", "tagName": "MCM02_DI_0002_Tag",
         "isSpare": 0, "result": "Failed", "comments": "field", "version": 1, "updatedAt": "2026-11-22T04:00:00.000Z"}


def test_values_follow_the_cloud_when_nothing_is_pending():
    changes = fields_to_apply(LOCAL, False, cloud_io())
    assert changes == {"result": "Passed", "comments": "from cloud", "version": 2,
                       "updatedAt": "2026-11-22T05:00:00.000Z"}


def test_an_outbox_row_protects_the_field_value_but_not_metadata():
    changes = fields_to_apply(LOCAL, True, cloud_io(description="Motor 2 running (renamed)"))
    assert changes == {"description": "Motor 2 running (renamed)"}


def test_an_older_cloud_copy_never_rolls_the_io_back():
    assert fields_to_apply({**LOCAL, "version": 3}, False, cloud_io(version=2)) == {}


def test_a_copy_at_the_version_we_hold_is_taken_unless_echoes_are_skipped():
    held = {**LOCAL, "result": "Failed", "comments": None, "version": 2}
    assert fields_to_apply(held, False, cloud_io())["comments"] == "from cloud"
    # The second half of the planted lose_comment bug: the feed's echo of our own push is ignored.
    assert fields_to_apply(held, False, cloud_io(), skip_echo=True) == {}
    assert fields_to_apply(held, False, cloud_io(version=3), skip_echo=True)["comments"] == "from cloud"


def test_clobber_bug_overwrites_pending_values():
    assert fields_to_apply(LOCAL, True, cloud_io(), clobber=True)["result"] == "Passed"


def test_cleared_and_booleans_are_normalised():
    io = cloud_io(result="Cleared", isSpare=True, comments=None)
    assert (io["result"], io["isSpare"], io["comments"]) == (None, 1, "")


def make_worker(db, bugs=frozenset()):
    config = ToolConfig(data_dir=db.path.parent, cloud_url="http://unused.invalid", bugs=bugs)
    return PullWorker(config, db, EventLog(stream=open("/dev/null", "w")))  # noqa: SIM115


def test_apply_adds_new_ios_retires_tombstones_and_stores_the_cursor(tmp_path):
    db = small_db(tmp_path)
    worker = make_worker(db)
    changed = worker.apply([
        {"id": 50, "subsystemId": 38, "name": "MCM02_DI_0050", "description": "new point", "tagName": "T50",
         "isSpare": 0, "result": None, "comments": "", "version": 1, "updatedAt": "2026-11-22T05:00:00.000Z"},
        {"id": 4, "deleted": True, "name": "MCM02_DI_0004", "version": 3},
    ], cursor=17)
    assert changed == 2
    assert db.get_io(50)["description"] == "new point" and db.get_io(4) is None
    assert db.sync_state(cursor_key(38)) == "17"


def test_apply_leaves_unsynced_local_values_alone(tmp_path):
    db = small_db(tmp_path)
    db.mark_io(2, "Failed", "field", "2026-11-22T04:00:00.000Z")
    make_worker(db).apply([{**cloud_io(), "isSpare": 0}], cursor=1)
    io = db.get_io(2)
    assert (io["result"], io["comments"], io["version"]) == ("Failed", "field", 1)
    assert 2 in outbox_rows(db)


def test_apply_with_clobber_bug_discards_the_unsynced_edit(tmp_path):
    db = small_db(tmp_path)
    db.mark_io(2, "Failed", "field", "2026-11-22T04:00:00.000Z")
    make_worker(db, frozenset({"clobber"})).apply([cloud_io()], cursor=1, clobber=True)
    assert db.get_io(2)["result"] == "Passed" and outbox_rows(db) == {}
