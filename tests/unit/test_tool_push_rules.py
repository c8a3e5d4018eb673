"""The push worker's decision table, driven by scripted cloud answers over a real outbox.

The integration tests push to the real cloud; these pin the rules that take many
rounds to reach there (dozens of transient failures, caps, planted-bug branches).
"""

import io
import json

import pytest
from test_tool_dbkit import outbox_rows, small_db

from sut.tool.config import ToolConfig
from sut.tool.errors import CloudCallFailed
from sut.tool.events import EventLog
from sut.tool.push import PushWorker


class ScriptedCloud:
    """Answers each push with the next scripted reply: a list of item results, or an exception."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.pushed = []

    def push(self, items):
        self.pushed.append(items)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        return [reply(item) if callable(reply) else reply for item in items]

    def close(self):
        pass


def setup(tmp_path, cloud, bugs=()):
    db = small_db(tmp_path)
    stream = io.StringIO()
    config = ToolConfig(data_dir=tmp_path, cloud_url="http://cloud.invalid", bugs=frozenset(bugs),
                        backoff_base_s=0.5, backoff_max_s=8.0)
    worker = PushWorker(config, db, EventLog(stream=stream), client_factory=lambda: cloud, rand=lambda: 1.0)
    return db, worker, lambda: [json.loads(line) for line in stream.getvalue().splitlines()]


def events_named(events, name):
    return [e for e in events if e["event"] == name]


def test_transient_failures_retry_forever_with_capped_backoff(tmp_path):
    cloud = ScriptedCloud(CloudCallFailed("push: HTTP 503", transient=True, status=503))
    db, worker, _ = setup(tmp_path, cloud)
    db.mark_io(2, "Passed", "", "2026-11-22T04:00:00.000Z")
    delays = [worker.run_once() for _ in range(40)]
    assert delays[:5] == [0.5, 1.0, 2.0, 4.0, 8.0] and max(delays) == 8.0
    row = outbox_rows(db)[2]
    assert (row["DeadLettered"], row["attempts"]) == (0, 0)  # never parked, never counted against the cap


def test_retry_after_is_honoured(tmp_path):
    cloud = ScriptedCloud(CloudCallFailed("push: HTTP 429", transient=True, status=429, retry_after_s=6.0))
    db, worker, _ = setup(tmp_path, cloud)
    db.mark_io(2, "Passed", "", "2026-11-22T04:00:00.000Z")
    assert worker.run_once() == 6.0
    assert db.queue_counts() == (1, 0)


def test_drop_429_bug_deletes_and_reports_the_row(tmp_path):
    cloud = ScriptedCloud(CloudCallFailed("push: HTTP 429", transient=True, status=429, retry_after_s=6.0))
    db, worker, events = setup(tmp_path, cloud, bugs=["drop_429"])
    db.mark_io(2, "Passed", "", "2026-11-22T04:00:00.000Z")
    worker.run_once()
    assert outbox_rows(db) == {}
    assert events_named(events(), "sync.dropped") == [
        {"ts": events_named(events(), "sync.dropped")[0]["ts"], "event": "sync.dropped", "ioId": 2,
         "reason": "HTTP 429", "kind": "transient"}]


def conflict_at(version):
    return lambda item: {"ioId": item["ioId"], "status": "conflict", "version": version, "result": None,
                         "comments": ""}


def test_conflicts_rebase_then_park_at_the_cap(tmp_path):
    cloud = ScriptedCloud(conflict_at(7))
    db, worker, events = setup(tmp_path, cloud)
    db.mark_io(2, "Passed", "", "2026-11-22T04:00:00.000Z")
    for _ in range(3):
        worker.run_once()
    assert [batch[0]["baseVersion"] for batch in cloud.pushed] == [1, 7, 7]  # rebased after the first
    row = outbox_rows(db)[2]
    assert (row["DeadLettered"], row["parkedKind"]) == (1, "conflict")
    assert events_named(events(), "sync.parked")[0]["kind"] == "conflict"


def test_conflict_drop_bug_never_rebases_and_deletes_at_the_cap(tmp_path):
    cloud = ScriptedCloud(conflict_at(7))
    db, worker, events = setup(tmp_path, cloud, bugs=["conflict_drop"])
    db.mark_io(2, "Passed", "", "2026-11-22T04:00:00.000Z")
    for _ in range(3):
        worker.run_once()
    assert [batch[0]["baseVersion"] for batch in cloud.pushed] == [1, 1, 1]
    assert outbox_rows(db) == {}
    assert events_named(events(), "sync.dropped")[0]["kind"] == "conflict"


def test_business_rejection_parks_with_the_reason(tmp_path):
    cloud = ScriptedCloud(lambda item: {"ioId": item["ioId"], "status": "rejected", "reason": "SPARE cannot be Passed"})
    db, worker, events = setup(tmp_path, cloud)
    db.mark_io(3, "Passed", "", "2026-11-22T04:00:00.000Z")
    worker.run_once()
    assert db.parked_rows() == [{"ioId": 3, "reason": "SPARE cannot be Passed", "kind": "business"}]
    assert worker.run_once() == 1.0 and len(cloud.pushed) == 1  # parked rows are not pushed again
    assert events_named(events(), "sync.parked")[0]["reason"] == "SPARE cannot be Passed"


def test_permanent_batch_failures_park_as_other_at_the_retry_cap(tmp_path):
    cloud = ScriptedCloud(CloudCallFailed("push: HTTP 401 wrong key", transient=False, status=401))
    db, worker, _ = setup(tmp_path, cloud)
    db.mark_io(2, "Passed", "", "2026-11-22T04:00:00.000Z")
    for _ in range(9):
        worker.run_once()
    assert db.queue_counts() == (1, 0)
    worker.run_once()
    assert db.parked_rows()[0]["kind"] == "other" and "HTTP 401" in db.parked_rows()[0]["reason"]


def by_io(answers):
    """A reply that answers each pushed item by its IO id."""
    return lambda item: answers[item["ioId"]](item)


def applied_at(version):
    return lambda item: {"ioId": item["ioId"], "status": "applied", "version": version}


def rejected(reason):
    return lambda item: {"ioId": item["ioId"], "status": "rejected", "reason": reason}


def test_pushed_event_names_exactly_the_applied_items_with_the_stored_values(tmp_path):
    cloud = ScriptedCloud(by_io({1: applied_at(4), 2: conflict_at(7), 3: rejected("SPARE cannot be Passed"),
                                 4: applied_at(3)}))
    db, worker, events = setup(tmp_path, cloud)
    db.mark_io(1, "Failed", "no 24V", "2026-11-22T04:00:00.001Z")
    db.mark_io(2, "Passed", "conflicting", "2026-11-22T04:00:00.002Z")
    db.mark_io(3, "Passed", "spare", "2026-11-22T04:00:00.003Z")
    db.mark_io(4, None, "", "2026-11-22T04:00:00.004Z")  # Cleared is pushed, and stored, as null
    worker.run_once()
    (pushed,) = events_named(events(), "sync.pushed")
    assert (pushed["count"], pushed["applied"], pushed["conflicts"], pushed["rejected"]) == (4, 2, 1, 1)
    assert pushed["appliedItems"] == [
        {"ioId": 1, "version": 4, "result": "Failed", "comments": "no 24V"},
        {"ioId": 4, "version": 3, "result": None, "comments": ""},
    ]


def test_pushed_event_lists_no_items_when_nothing_was_applied(tmp_path):
    cloud = ScriptedCloud(conflict_at(7))
    db, worker, events = setup(tmp_path, cloud)
    db.mark_io(2, "Passed", "", "2026-11-22T04:00:00.000Z")
    worker.run_once()
    assert events_named(events(), "sync.pushed")[0]["appliedItems"] == []


@pytest.mark.parametrize("bug", [True, False])
def test_lose_comment_bug_blanks_the_local_comment_of_an_applied_row(tmp_path, bug):
    cloud = ScriptedCloud(applied_at(2))
    db, worker, events = setup(tmp_path, cloud, bugs=["lose_comment"] if bug else [])
    db.mark_io(2, "Failed", "no 24V", "2026-11-22T04:00:00.000Z")
    worker.run_once()
    io = db.get_io(2)
    assert (io["result"], io["version"], io["comments"]) == ("Failed", 2, None if bug else "no 24V")
    assert outbox_rows(db) == {}
    # The event still says what the cloud stored: the comment is in the cloud, only the field lost it.
    assert events_named(events(), "sync.pushed")[0]["appliedItems"][0]["comments"] == "no 24V"


def test_lose_comment_bug_spares_a_row_re_written_during_the_push(tmp_path):
    def applied_after_a_new_edit(item):
        db.mark_io(2, "Failed", "relay replaced", "2026-11-22T04:00:01.000Z")  # the technician, mid-flight
        return {"ioId": item["ioId"], "status": "applied", "version": 2}

    cloud = ScriptedCloud(applied_after_a_new_edit)
    db, worker, _ = setup(tmp_path, cloud, bugs=["lose_comment"])
    db.mark_io(2, "Failed", "no 24V", "2026-11-22T04:00:00.000Z")
    worker.run_once()
    io = db.get_io(2)
    assert (io["result"], io["comments"], io["pending"]) == ("Failed", "relay replaced", "active")
    assert outbox_rows(db)[2]["baseVersion"] == 2


@pytest.mark.parametrize("batch_full", [True, False])
def test_a_full_batch_is_followed_at_once(tmp_path, batch_full):
    cloud = ScriptedCloud(lambda item: {"ioId": item["ioId"], "status": "applied", "version": 9})
    db, worker, _ = setup(tmp_path, cloud)
    count = 60 if batch_full else 3
    with db.write() as conn:
        for n in range(100, 100 + count):
            conn.execute("INSERT INTO Ios (id, subsystemId, name, version) VALUES (?, 38, ?, 1)", (n, f"X{n}"))
    for n in range(100, 100 + count):
        db.mark_io(n, "Passed", "", f"2026-11-22T04:00:00.{n:03d}Z")
    assert worker.run_once() == (0.0 if batch_full else 1.0)
    assert len(cloud.pushed[0]) == min(count, 50)
