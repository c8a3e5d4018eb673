from pathlib import Path

import msgspec
import pytest

from battle.adapters.base import RecordTarget
from battle.adapters.reference_io import IoKind, choose_result
from battle.common.jsonl import read_jsonl
from battle.crew.bot import Bot, BotSettings
from battle.crew.journal import OpJournal
from battle.crew.outcome import classify_exception, classify_status
from battle.crew.targets import assign, choose_hot_set
from battle.crew.wire import Answer, MaybeSent, NotSent


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def mono(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class ScriptedConnection:
    """Answers from a script: an int is a status, an exception instance is raised."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = []
        self.closed = False

    def request(self, method, path, body=None):
        self.calls.append((method, path, msgspec.json.decode(body)))
        item = self.script.pop(0) if self.script else 200
        if isinstance(item, BaseException):
            raise item
        return Answer(item, b"{}")

    def close(self):
        self.closed = True


TARGETS = [RecordTarget("io", i, {"isSpare": i % 10 == 0}) for i in range(1, 201)]
# The reference adapter's record kind makes the writes; its reads (HTTP) are never called by a bot.
IO = IoKind("http://tool", "http://cloud", reader=None, subsystem_id=38)


def make_bot(tmp_path: Path, script, stop_after=None, hot_fraction=0.1, bot=1, bots=4):
    clock = FakeClock()
    session = ScriptedConnection(script)
    hot = choose_hot_set(TARGETS, hot_fraction, seed=7)
    journal = OpJournal(tmp_path / f"journal-bot{bot}.jsonl", bot, "io", wall=lambda: 1.7e9 + clock.now, mono=clock.mono)
    counter = {"n": 0}

    def should_stop():
        counter["n"] += 1
        return stop_after is not None and session.calls and len(session.calls) >= stop_after

    settings = BotSettings(bot=bot, seed=7, tool_url="http://tool", think_min_ms=100, think_max_ms=200,
                           hot_fraction=hot_fraction)
    return Bot(settings, IO, assign(TARGETS, bot, bots, hot), journal, session, should_stop,
               sleep=clock.sleep, mono=clock.mono), session, clock


def test_partitioned_writers_own_disjoint_targets_and_share_the_hot_set():
    hot = choose_hot_set(TARGETS, 0.1, seed=7)
    assignments = [assign(TARGETS, b, 4, hot) for b in range(4)]
    owned = [t.id for a in assignments for t in a.own]
    assert len(owned) == len(set(owned)) == len(TARGETS) - len(hot)
    assert all(t.id % 4 == b for b, a in enumerate(assignments) for t in a.own)
    assert all(a.hot == assignments[0].hot for a in assignments) and len(hot) > 0
    assert choose_hot_set(TARGETS, 0.0, seed=7) == frozenset()


def test_result_mix_is_about_75_20_5_and_never_passes_a_spare():
    import random

    rng = random.Random(1)
    results = [choose_result(rng, is_spare=False) for _ in range(20000)]
    assert abs(results.count("Passed") / 20000 - 0.75) < 0.02
    assert abs(results.count("Failed") / 20000 - 0.20) < 0.02
    assert abs(results.count("Cleared") / 20000 - 0.05) < 0.01
    assert "Passed" not in {choose_result(rng, is_spare=True) for _ in range(2000)}


def test_outcome_classification():
    assert classify_status(200).kind == "ok"
    assert classify_status(404).kind == "fail"
    assert classify_status(503).kind == "info"
    assert classify_exception(NotSent("cannot connect: Connection refused")).kind == "fail"
    assert classify_exception(NotSent("cannot connect: timed out")).kind == "fail"
    assert classify_exception(MaybeSent("TimeoutError after the request was sent")).kind == "info"
    # A message is never read: a reset after sending is indeterminate whatever its text says.
    assert classify_exception(MaybeSent("Connection refused")).kind == "info"


def test_bot_journals_invoke_then_exactly_one_outcome_and_acks_on_stop(tmp_path):
    script = [200, 400, 503, MaybeSent("timed out"), NotSent("Connection refused"), 200]
    bot, session, _ = make_bot(tmp_path, script, stop_after=6)
    ack = tmp_path / "control" / "ack-bot1"
    stats = bot.run(ack)
    records, problems = read_jsonl(tmp_path / "journal-bot1.jsonl")
    assert not problems
    assert [r["type"] for r in records] == ["invoke", "ok", "invoke", "fail", "invoke", "info",
                                            "invoke", "info", "invoke", "fail", "invoke", "ok"]
    assert [r["op"] for r in records] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    assert stats.ops == 6 and stats.ok == 2 and stats.fail == 2 and stats.info == 2
    assert ack.exists() and session.closed
    assert all(method == "PUT" and path.startswith("/api/ios/") for method, path, _ in session.calls)
    for record in records:
        assert record["schema"] == 2 and record["kind"] == "io" and record["bot"] == 1 and record["ts"].endswith("Z")
        if not record["hot"]:
            assert record["target"] % 4 == 1
        if record["value"]["result"] == "Passed":
            assert record["target"] % 10 != 0  # the spares of TARGETS


def test_bot_keeps_going_through_an_outage_and_backs_off(tmp_path):
    refused = [NotSent("Connection refused")] * 5
    bot, session, clock = make_bot(tmp_path, refused + [200], stop_after=6)
    started = clock.now
    bot.run()
    assert len(session.calls) == 6
    assert clock.now - started >= 5 * 1.0  # at least the outage back-off between refused attempts


def test_same_seed_same_choices_and_another_bot_differs(tmp_path):
    a, sa, _ = make_bot(tmp_path / "a", [200] * 20, stop_after=20)
    b, sb, _ = make_bot(tmp_path / "b", [200] * 20, stop_after=20)
    c, sc, _ = make_bot(tmp_path / "c", [200] * 20, stop_after=20, bot=2)
    for bot in (a, b, c):
        bot.run()
    assert len(sa.calls) == 20
    assert [call[1:] for call in sa.calls] == [call[1:] for call in sb.calls]
    assert [call[1:] for call in sa.calls] != [call[1:] for call in sc.calls]


def test_bot_without_targets_is_refused(tmp_path):
    from battle.crew.targets import Assignment

    with pytest.raises(ValueError, match="no targets"):
        Bot(BotSettings(0, 1, "http://t", 1, 2, 0.0), IO, Assignment((), ()), None, None, lambda: True)


def test_a_bot_that_dies_mid_run_writes_no_ack(tmp_path):
    # Something below the per-op supervisor (here: the think sleep) blows up: the bot thread dies.
    bot, _, clock = make_bot(tmp_path, [200, 200, 200])

    def broken_sleep(seconds):
        raise RuntimeError("the sleep itself failed")

    bot.sleep = broken_sleep
    ack = tmp_path / "control" / "ack-bot1"
    with pytest.raises(RuntimeError):
        bot.run(ack)
    assert not ack.exists()  # the observer will report "no ack from bot1": a harness error naming the bot
    records, _ = read_jsonl(tmp_path / "journal-bot1.jsonl")
    assert [r["type"] for r in records] == ["invoke", "ok"]  # what it did is still journaled and flushed


def test_acks_carry_the_harness_error_count_and_a_nonzero_count_is_a_harness_problem(tmp_path):
    from battle.common.control import ack_problems, write_ack

    write_ack(tmp_path, "bot0", ops=10, harness_errors=0)
    write_ack(tmp_path, "bot1", ops=10, harness_errors=3)
    (tmp_path / "control" / "ack-bot2").write_text("bot2 ops=4\n")  # an ack of an unknown format
    problems = ack_problems(tmp_path, ["bot0", "bot1", "bot2", "bot3"])
    assert len(problems) == 2
    assert "bot1 caught 3 error(s) inside the harness" in problems[0]
    assert "bot2" in problems[1]
