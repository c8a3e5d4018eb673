"""The dead-man's switch on an injected clock and a fake heartbeat reader (no sleeps): it fires only after the
beat was seen and then stayed unchanged past DEADMAN_S; the plan runner then calms on its own, journals why
and stops its plan. Plus the observer's heartbeat file and how the chaos service reads the knob."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from battle.chaos.deadman import DeadmanSwitch, file_beat
from battle.chaos.errors import ChaosError
from battle.chaos.ledger import Ledger, read_ledger
from battle.chaos.recording_driver import RecordingDriver, RecordingProxy
from battle.chaos.runner import DEADMAN_BY, CalmedError, PlanRunner
from battle.chaos.service import ChaosServiceConfig, deadman_for
from battle.common.control import heartbeat_path
from battle.config import load_catalogue
from battle.observer.heartbeat import Heartbeat

REPO = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self) -> None:
        self.t = 500.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class FakeBeat:
    """The heartbeat file as the switch reads it: None (missing) or its content."""

    def __init__(self) -> None:
        self.value: str | None = None
        self.count = 0

    def beat(self) -> None:
        self.count += 1
        self.value = f"beat {self.count}"

    def __call__(self) -> str | None:
        return self.value


def test_never_fires_before_the_first_beat():
    clock, beat = FakeClock(), FakeBeat()
    switch = DeadmanSwitch(beat, 60, clock)
    for _ in range(10):
        clock.t += 3600
        assert switch.check() is None
    assert not switch.seen and switch.age() is None


def test_fires_once_the_beat_stays_unchanged_past_the_limit():
    clock, beat = FakeClock(), FakeBeat()
    switch = DeadmanSwitch(beat, 60, clock)
    beat.beat()
    assert switch.check() is None and switch.seen
    clock.t += 60
    assert switch.check() is None  # exactly at the limit: not yet
    clock.t += 1
    reason = switch.check()
    assert reason is not None
    assert "unchanged for 61 s" in reason and "DEADMAN_S=60" in reason and "calms" in reason


def test_fresh_beats_keep_it_quiet_however_long_the_run():
    clock, beat = FakeClock(), FakeBeat()
    switch = DeadmanSwitch(beat, 5, clock)
    for _ in range(1000):
        beat.beat()
        clock.t += 4.9
        assert switch.check() is None
    assert switch.age() == 0.0


def test_a_heartbeat_file_that_vanishes_after_it_was_seen_fires_too():
    clock, beat = FakeClock(), FakeBeat()
    switch = DeadmanSwitch(beat, 10, clock)
    beat.beat()
    switch.check()
    beat.value = None
    clock.t += 11
    reason = switch.check()
    assert reason is not None and "gone for 11 s" in reason


def test_the_limit_must_be_positive():
    with pytest.raises(ValueError, match="DEADMAN_S"):
        DeadmanSwitch(FakeBeat(), 0)


def _fault(fid, kind, target, at, duration):
    return {"id": fid, "kind": kind, "target": target, "at": at, "duration": duration, "params": {}}


def _runner(tmp_path, faults, beat, clock, deadman_s=30.0):
    driver = RecordingDriver(["tool", "plc-sim", "cloud"], clock)
    ledger = Ledger(tmp_path / "injected.jsonl")
    plan = {"schema": 1, "faults": faults}
    runner = PlanRunner(plan, driver, RecordingProxy(), ledger, clock, clock.sleep,
                        deadman=DeadmanSwitch(beat, deadman_s, clock))
    return runner, driver


def test_the_runner_calms_on_its_own_when_the_observer_stops(tmp_path):
    clock, beat = FakeClock(), FakeBeat()
    faults = [_fault("f001", "pause", "tool", 10, 600), _fault("f002", "power", "plc-sim", 20, 600),
              _fault("f003", "download", "plc-sim", 900, 10)]
    runner, driver = _runner(tmp_path, faults, beat, clock)
    beat.beat()  # the observer runs ...
    runner.begin_plan()
    t0 = clock.t
    while clock.t < t0 + 25:  # both faults applied while the beat is fresh
        beat.beat()
        runner.step()
        clock.sleep(0.5)
        assert not runner.check_deadman()
    assert [m for m, _ in driver.methods()] == ["pause", "kill"]
    # ... and dies: its heartbeat stops. The loop itself notices, calms and returns.
    runner.run()
    assert clock.t - t0 < 25 + 30 + 2, "calmed within DEADMAN_S of the last beat (plus one loop turn)"
    assert driver.methods()[2:] == [("start", "plc-sim"), ("unpause", "tool")]  # last applied first
    status = runner.status()
    assert status["calmed"] and status["stopped"] and status["active"] == []
    assert "dead-man's switch" in status["calmReason"] and "DEADMAN_S=30" in status["calmReason"]
    lines = [e for e in read_ledger(tmp_path / "injected.jsonl").entries if e["step"] == "restored"]
    assert [e["fault"] for e in lines] == ["f002", "f001"]
    assert all(e["by"] == DEADMAN_BY and e["note"] == status["calmReason"] for e in lines)
    assert not any(e["fault"] == "f003" and e["step"] != "planned"
                   for e in read_ledger(tmp_path / "injected.jsonl").entries), "the plan stopped"
    later = runner.calm().to_json()  # the observer's own calm, if it comes back: nothing left, reason kept
    assert later["restored"] == [] and later["reason"] == status["calmReason"]
    with pytest.raises(CalmedError):
        runner.inject("pause", "tool", 5)


def test_no_heartbeat_ever_means_no_calm(tmp_path):
    clock, beat = FakeClock(), FakeBeat()
    runner, driver = _runner(tmp_path, [_fault("f001", "pause", "tool", 10, 5)], beat, clock, deadman_s=5)
    runner.run_to_end()
    assert driver.methods() == [("pause", "tool"), ("unpause", "tool")]
    assert runner.status()["calmed"] is False and runner.status()["calmReason"] is None


def test_an_ordinary_calm_carries_no_reason_and_no_by(tmp_path):
    clock, beat = FakeClock(), FakeBeat()
    runner, _ = _runner(tmp_path, [_fault("f001", "pause", "tool", 0, 600)], beat, clock)
    runner.begin_plan()
    runner.step()
    report = runner.calm().to_json()
    assert report["reason"] is None and [r["fault"] for r in report["restored"]] == ["f001"]
    restored = [e for e in read_ledger(tmp_path / "injected.jsonl").entries if e["step"] == "restored"]
    assert "by" not in restored[0] and "note" not in restored[0]
    assert not runner.check_deadman()  # calmed already: the switch has nothing left to do


def test_the_observer_heartbeat_changes_every_beat_and_the_switch_reads_it(tmp_path):
    path = heartbeat_path(tmp_path)
    heart = Heartbeat(path, clock=lambda: 1796220000.0)
    read = file_beat(path)
    assert read() is None
    heart.beat()
    first = read()
    heart.beat()
    second = read()
    assert first is not None and second is not None and first != second
    assert json.loads(second)["beat"] == 2 and path == tmp_path / "control" / "heartbeat"


def test_the_chaos_service_reads_deadman_s_and_the_heartbeat_file(tmp_path):
    config = ChaosServiceConfig.from_mapping({"CHAOS_TOKEN": "t"})
    assert config.deadman_s == 60.0 and config.heartbeat_path is None and deadman_for(config) is None
    config = ChaosServiceConfig.from_mapping({"CHAOS_TOKEN": "t", "DEADMAN_S": "12.5",
                                              "CHAOS_HEARTBEAT_FILE": str(tmp_path / "hb")})
    assert config.deadman_s == 12.5 and config.heartbeat_path == tmp_path / "hb"
    switch = deadman_for(config)
    assert switch is not None and switch.check() is None
    with pytest.raises(ChaosError, match="DEADMAN_S"):
        ChaosServiceConfig.from_mapping({"CHAOS_TOKEN": "t", "DEADMAN_S": "2"})  # below the knob's min 5


def test_the_knob_is_declared_and_the_stack_points_chaos_at_the_heartbeat():
    spec = load_catalogue().knobs["DEADMAN_S"]
    assert (spec.group, spec.type, spec.default) == ("chaos", "float", "60")
    assert spec.opt("min") == 5 and spec.opt("max") == 3600
    chaos = yaml.safe_load((REPO / "docker-compose.battle.yml").read_text())["services"]["chaos"]["environment"]
    assert chaos["CHAOS_HEARTBEAT_FILE"] == "/runs/${RUN_ID?set by ci/run_scenario.sh}/control/heartbeat"
    assert chaos["CHAOS_LEDGER_FILE"].rsplit("/", 1)[0] == chaos["CHAOS_HEARTBEAT_FILE"].rsplit("/", 2)[0]
