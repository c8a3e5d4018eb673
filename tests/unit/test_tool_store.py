"""The tool's store on real SQLite: WAL, the field write coalesced into the outbox, settling rows."""

import threading

from test_tool_dbkit import outbox_rows, small_db

from sut.tool.outbox import Outbox


def test_database_runs_in_wal_mode(tmp_path):
    db = small_db(tmp_path)
    assert db.connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_mark_writes_the_io_and_its_outbox_row_together(tmp_path):
    db = small_db(tmp_path)
    io = db.mark_io(2, "Failed", "no signal", "2026-11-22T04:00:00.000Z")
    assert io["result"] == "Failed" and io["comments"] == "no signal" and io["pending"] == "active"
    assert io["version"] == 1  # the local version follows the cloud, not local edits
    row = outbox_rows(db)[2]
    assert (row["result"], row["comments"], row["baseVersion"], row["DeadLettered"]) == ("Failed", "no signal", 1, 0)


def test_marks_coalesce_per_io_latest_value_wins(tmp_path):
    db = small_db(tmp_path)
    db.mark_io(2, "Failed", "a", "2026-11-22T04:00:00.000Z")
    db.mark_io(2, "Passed", "b", "2026-11-22T04:00:01.000Z")
    db.mark_io(2, None, "c", "2026-11-22T04:00:02.000Z")
    rows = outbox_rows(db)
    assert list(rows) == [2]
    assert (rows[2]["result"], rows[2]["comments"], rows[2]["createdAt"]) == (None, "c", "2026-11-22T04:00:00.000Z")
    assert db.queue_counts() == (1, 0)


def test_a_new_mark_reactivates_a_parked_row(tmp_path):
    db = small_db(tmp_path)
    db.mark_io(3, "Passed", "", "2026-11-22T04:00:00.000Z")
    outbox = Outbox(db)
    assert outbox.park(outbox.active_batch(50)[0], "business", "SPARE cannot be Passed")
    assert db.queue_counts() == (0, 1)
    assert db.parked_rows() == [{"ioId": 3, "reason": "SPARE cannot be Passed", "kind": "business"}]
    db.mark_io(3, None, "", "2026-11-22T04:00:01.000Z")
    assert db.queue_counts() == (1, 0)
    assert outbox_rows(db)[3]["parkedReason"] is None


def test_unknown_io_writes_nothing(tmp_path):
    db = small_db(tmp_path)
    assert db.mark_io(999, "Passed", "", "2026-11-22T04:00:00.000Z") is None
    assert outbox_rows(db) == {}


def test_applied_deletes_the_row_and_takes_the_cloud_version(tmp_path):
    db = small_db(tmp_path)
    db.mark_io(2, "Passed", "", "2026-11-22T04:00:00.000Z")
    outbox = Outbox(db)
    assert outbox.settle_applied(outbox.active_batch(50)[0], cloud_version=2) is True
    assert outbox_rows(db) == {} and db.get_io(2)["version"] == 2


def test_applied_keeps_a_row_rewritten_in_flight_and_rebases_it(tmp_path):
    db = small_db(tmp_path)
    db.mark_io(2, "Passed", "first", "2026-11-22T04:00:00.000Z")
    outbox = Outbox(db)
    in_flight = outbox.active_batch(50)[0]
    db.mark_io(2, "Failed", "second", "2026-11-22T04:00:00.500Z")  # the technician changes their mind
    assert outbox.settle_applied(in_flight, cloud_version=2) is False
    row = outbox_rows(db)[2]
    assert (row["result"], row["comments"], row["baseVersion"]) == ("Failed", "second", 2)


def test_same_millisecond_rewrite_is_still_noticed(tmp_path):
    db = small_db(tmp_path)
    db.mark_io(2, "Passed", "first", "2026-11-22T04:00:00.000Z")
    outbox = Outbox(db)
    in_flight = outbox.active_batch(50)[0]
    db.mark_io(2, "Passed", "second", "2026-11-22T04:00:00.000Z")  # same stamp, new value
    assert outbox.settle_applied(in_flight, cloud_version=2) is False
    assert outbox_rows(db)[2]["comments"] == "second"


def test_park_does_not_park_a_newer_edit(tmp_path):
    db = small_db(tmp_path)
    db.mark_io(3, "Passed", "", "2026-11-22T04:00:00.000Z")
    outbox = Outbox(db)
    in_flight = outbox.active_batch(50)[0]
    db.mark_io(3, None, "cleared it", "2026-11-22T04:00:01.000Z")
    assert outbox.park(in_flight, "business", "SPARE cannot be Passed") is False
    assert db.queue_counts() == (1, 0)


def test_rebase_counts_conflicts_and_moves_the_base(tmp_path):
    db = small_db(tmp_path)
    db.mark_io(1, "Failed", "", "2026-11-22T04:00:00.000Z")
    outbox = Outbox(db)
    row = outbox.active_batch(50)[0]
    assert row.base_version == 3
    assert outbox.rebase(row, 5, "conflict") == 1
    assert outbox.active_batch(50)[0].base_version == 5


def test_concurrent_marks_from_many_threads_all_land(tmp_path):
    db = small_db(tmp_path)
    errors = []

    def writer(n):
        try:
            for k in range(25):
                db.mark_io(1 + (n + k) % 4, "Passed" if k % 2 else "Failed", f"t{n}-{k}",
                           f"2026-11-22T04:00:{k:02d}.{n:03d}Z")
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(outbox_rows(db)) == [1, 2, 3, 4]
    for io_id, row in outbox_rows(db).items():
        io = db.get_io(io_id)
        assert (io["result"], io["comments"]) == (row["result"], row["comments"])  # IO and outbox agree
