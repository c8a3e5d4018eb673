import json

from battle.adapters.base import QueueState
from battle.adapters.reference_events import REFERENCE_VOCABULARY
from battle.adapters.reference_io import IoKind
from battle.common.control import ControlError, ensure_fresh, request_stop, wait_for_acks
from battle.common.jsonl import JsonlWriter, iter_new_lines, read_jsonl
from battle.observer.follow import EventSink
from battle.observer.phases import PhaseTracker
from battle.observer.settle import settle


class Clock:
    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.now += s


def test_malformed_journal_line_is_reported_not_fatal(tmp_path):
    path = tmp_path / "journal-bot0.jsonl"
    path.write_text('{"a": 1}\n{not json\n[1,2]\n{"b": 2}\n{"cut": ', encoding="utf-8")
    records, problems = read_jsonl(path)
    assert records == [{"a": 1}, {"b": 2}]
    assert [p.line_no for p in problems] == [2, 3, 5]
    assert "not JSON" in str(problems[0])


def test_iter_new_lines_skips_a_partial_last_line(tmp_path):
    path = tmp_path / "x.log"
    path.write_text("one\ntwo\nthr", encoding="utf-8")
    lines = list(iter_new_lines(path, 0))
    assert [line for _, line in lines] == ["one\n", "two\n"]
    assert list(iter_new_lines(path, lines[-1][0])) == []


def test_stale_stop_file_is_refused(tmp_path):
    ensure_fresh(tmp_path)
    request_stop(tmp_path)
    try:
        ensure_fresh(tmp_path)
    except ControlError as exc:
        assert "stale STOP" in str(exc)
    else:
        raise AssertionError("a stale STOP must be refused")


def test_wait_for_acks_is_bounded_and_names_the_missing(tmp_path):
    ensure_fresh(tmp_path)
    (tmp_path / "control" / "ack-bot0").write_text("x")
    clock = Clock()
    missing = wait_for_acks(tmp_path, ["bot0", "bot1", "mutator"], 5.0, clock=clock, sleep=clock.sleep)
    assert missing == ["bot1", "mutator"]
    assert clock.now >= 5.0


def test_event_lines_are_kept_and_other_output_ignored(tmp_path):
    writer = JsonlWriter(tmp_path / "events.jsonl")
    sink = EventSink(writer, "tool", REFERENCE_VOCABULARY)
    for line in ['{"ts": "2026-01-01T00:00:00.000Z", "event": "server.start", "pid": 3}\n', "Serving on x\n",
                 '{"no": "event"}\n', "{broken\n"]:
        sink(line)
    writer.close()
    records, _ = read_jsonl(tmp_path / "events.jsonl")
    assert records == [{"source": "tool", "ts": "2026-01-01T00:00:00.000Z", "event": "tool_started",
                        "raw": "server.start", "pid": 3}]
    assert (sink.count, sink.unmatched, sink.malformed) == (1, 2, 1)
    assert "{broken" in str(sink.note())


def test_phases_follow_the_ledger():
    clock = Clock(0.0)
    phase = PhaseTracker(warmup_until=100.0, clock=clock)
    assert phase() == "warmup"
    clock.now = 150.0
    assert phase() == "calm"
    phase.on_ledger({"fault": "f1", "step": "applied"})
    assert phase() == "fault"
    clock.now = 160.0
    phase.on_ledger({"fault": "f1", "step": "restored"})
    assert phase() == "recovery"
    clock.now = 400.0
    assert phase() == "calm"
    phase.enter_judging()
    assert phase() == "judging"


class Queue:
    def __init__(self, actives, healthy=True):
        self.actives = list(actives)
        self.healthy = healthy

    def queue_state(self):
        value = self.actives.pop(0) if len(self.actives) > 1 else self.actives[0]
        if isinstance(value, Exception):
            raise value
        return QueueState(active=value, parked=0)

    def cloud_healthy(self):
        return self.healthy


def test_settle_waits_for_the_active_queue_then_reports_seconds():
    clock = Clock()
    result = settle(Queue([RuntimeError("tool restarting"), 5, 2, 0]), max_s=60, clock=clock, sleep=clock.sleep)
    assert result.drained and result.seconds == 3.0 and result.polls == 4


def test_settle_is_bounded_and_says_why():
    clock = Clock()
    result = settle(Queue([3], healthy=False), max_s=10, clock=clock, sleep=clock.sleep)
    assert not result.drained and result.seconds is None
    assert result.last_queue == {"active": 3, "parked": 0, "parkedRows": []}
    assert json.dumps(result.last_error)


class Converging(IoKind):
    """The tool's pull brings cloud values back on the third look (the reference's `io` kind, its reads scripted)."""

    def __init__(self):
        super().__init__("http://tool", "http://cloud", reader=None, subsystem_id=38)
        self.looks = 0

    def primary_kind(self):
        return self

    def queue_state(self):
        return QueueState(active=0, parked=1, parked_ids=(9,),
                          parked_rows=({"ioId": 9, "reason": "SPARE cannot be Passed"},))

    def local_snapshot(self):
        self.looks += 1
        value = "Passed" if self.looks >= 3 else None
        return [{"id": 1, "result": value, "comments": ""}, {"id": 9, "result": "Passed", "comments": ""},
                {"id": 2, "result": "Cleared", "comments": None}]

    def cloud_snapshot(self):
        return [{"id": 1, "result": "Passed", "comments": ""}, {"id": 9, "result": None, "comments": ""},
                {"id": 2, "result": None, "comments": ""}]


def test_wait_converged_waits_for_the_pull_and_ignores_parked_rows():
    from battle.observer.settle import wait_converged

    clock = Clock()
    target = Converging()
    converged, waited, differing = wait_converged(target, max_s=60, clock=clock, sleep=clock.sleep)
    assert converged and differing == 0 and waited == 4.0 and target.looks == 3


def test_wait_converged_is_bounded():
    from battle.observer.settle import wait_converged

    class Never(Converging):
        def local_snapshot(self):
            return [{"id": 1, "result": "Failed", "comments": ""}]

    clock = Clock()
    converged, waited, differing = wait_converged(Never(), max_s=10, clock=clock, sleep=clock.sleep)
    assert not converged and differing == 1 and waited >= 10
