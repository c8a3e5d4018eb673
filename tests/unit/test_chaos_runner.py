"""PlanRunner on a fake clock: ordering, restore, failures journaled, calm idempotence."""

from __future__ import annotations

import json

import pytest

from battle.chaos.errors import FaultSpecError, TargetRefused
from battle.chaos.ledger import Ledger, read_ledger
from battle.chaos.recording_driver import RecordingDriver, RecordingProxy
from battle.chaos.runner import CalmedError, PlanRunner, TargetBusy

SERVICES = ["tool", "plc-sim", "cloud", "cloud-proxy"]


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def fault(fid, kind, target, at, duration, params=None):
    return {"id": fid, "kind": kind, "target": target, "at": at, "duration": duration, "params": params or {}}


def make(tmp_path, faults, **kwargs):
    clock = FakeClock()
    driver = RecordingDriver(SERVICES, clock)
    proxy = RecordingProxy()
    ledger = Ledger(tmp_path / "injected.jsonl")
    plan = {"schema": 1, "scenario": "s2", "seed": 1, "soakSeconds": 300.0, "faults": faults}
    runner = PlanRunner(plan, driver, proxy, ledger, clock, clock.sleep, **kwargs)
    return runner, driver, proxy, clock


def steps(tmp_path):
    read = read_ledger(tmp_path / "injected.jsonl")
    assert read.problems == ()
    return [(e["fault"], e["step"]) for e in read.entries]


def test_every_fault_is_planned_before_any_is_applied(tmp_path):
    runner, _, _, _ = make(
        tmp_path, [fault("f001", "power", "tool", 5, 2), fault("f002", "download", "plc-sim", 1, 3)]
    )
    runner.run_to_end()
    got = steps(tmp_path)
    assert got[:2] == [("f001", "planned"), ("f002", "planned")]
    assert got[2:] == [
        ("f002", "intent"),
        ("f002", "applied"),
        ("f002", "restored"),
        ("f001", "intent"),
        ("f001", "applied"),
        ("f001", "restored"),
    ]


def test_apply_at_at_and_restore_after_duration(tmp_path):
    runner, driver, _, clock = make(
        tmp_path, [fault("f001", "power", "tool", 10.0, 8.0), fault("f002", "pause", "tool", 30.0, 5.0)]
    )
    t0 = clock.t
    runner.run_to_end()
    timeline = [(round(c.t - t0, 6), c.method, c.service) for c in driver.calls]
    assert timeline == [
        (10.0, "kill", "tool"),
        (18.0, "start", "tool"),
        (30.0, "pause", "tool"),
        (35.0, "unpause", "tool"),
    ]
    assert all(s <= 0.5 + 1e-9 for s in clock.sleeps)  # never sleeps past max_sleep_s


def test_overlapping_faults_interleave_and_restore_goes_first_at_a_tie(tmp_path):
    runner, driver, proxy, clock = make(
        tmp_path,
        [
            fault("f001", "download", "plc-sim", 0.0, 10.0),
            fault("f002", "cloud-errors", "cloud-proxy", 4.0, 2.0, {"status": 429, "fraction": 1.0}),
            fault("f003", "power", "plc-sim", 10.0, 1.0),
        ],
    )
    t0 = clock.t
    runner.run_to_end()
    assert [(round(c.t - t0, 6), c.method) for c in driver.calls] == [
        (0.0, "stop"),
        (10.0, "start"),
        (10.0, "kill"),
        (11.0, "start"),
    ]
    assert proxy.calls == [{"errors": {"status": 429, "fraction": 1.0}}, {"errors": None}]


def test_failed_apply_is_journaled_undone_and_the_plan_goes_on(tmp_path):
    runner, driver, _, _ = make(
        tmp_path, [fault("f001", "wipe", "tool", 1, 5), fault("f002", "pause", "tool", 2, 1)]
    )
    driver.fail_on[("wipe", "tool")] = "volume busy"
    runner.run_to_end()
    read = read_ledger(tmp_path / "injected.jsonl")
    failed = [e for e in read.entries if e["step"] == "failed"]
    assert len(failed) == 1 and failed[0]["fault"] == "f001"
    assert "volume busy" in failed[0]["error"] and "undone at once" in failed[0]["error"]
    assert ("f001", "applied") not in steps(tmp_path)
    assert driver.methods() == [("wipe", "tool"), ("start", "tool"), ("pause", "tool"), ("unpause", "tool")]
    assert runner.counts == {"applied": 1, "restored": 1, "failed": 1}


def test_invalid_plan_fault_is_planned_then_failed_not_applied(tmp_path):
    runner, driver, _, _ = make(
        tmp_path, [fault("f001", "meteor", "tool", 1, 1), fault("f002", "power", "cloud-db", 1, 1)]
    )
    runner.run_to_end()
    assert steps(tmp_path) == [
        ("f001", "planned"),
        ("f001", "failed"),
        ("f002", "planned"),
        ("f002", "failed"),
    ]
    errors = [e["error"] for e in read_ledger(tmp_path / "injected.jsonl").entries if e["step"] == "failed"]
    assert "meteor" in errors[0] and "known kinds" in errors[0]
    assert "cannot target 'cloud-db'" in errors[1]
    assert driver.calls == []


def test_failed_restore_is_retried_then_left_for_calm(tmp_path):
    runner, driver, _, _ = make(tmp_path, [fault("f001", "pause", "tool", 0, 1)])
    driver.fail_on[("unpause", "tool")] = "engine timeout"
    runner.run_to_end()
    assert driver.methods().count(("unpause", "tool")) == 3
    assert runner.status()["active"] == [{"fault": "f001", "kind": "pause", "target": "tool"}]
    report = runner.calm()
    assert (
        not report.ok
        and report.failed[0]["fault"] == "f001"
        and "engine timeout" in report.failed[0]["error"]
    )
    del driver.fail_on[("unpause", "tool")]
    again = runner.calm()
    assert again.ok and [r["fault"] for r in again.restored] == ["f001"]


def test_calm_restores_active_faults_once_and_confirms_targets(tmp_path):
    runner, driver, proxy, clock = make(
        tmp_path,
        [
            fault("f001", "power", "tool", 1, 100),
            fault("f002", "linkshape", "cloud-proxy", 2, 100, {"latencyMs": 200}),
            fault("f003", "download", "plc-sim", 50, 5),
        ],
    )
    runner.begin_plan()
    clock.t += 3
    assert runner.step() == pytest.approx(47.0)  # f001 and f002 applied; f003 due in 47 s
    assert [a["fault"] for a in runner.status()["active"]] == ["f001", "f002"]
    report = runner.calm()
    assert [r["fault"] for r in report.restored] == ["f002", "f001"]  # last applied, first restored
    assert report.running == {"cloud-proxy": True, "plc-sim": True, "tool": True}
    assert report.ok and driver.running["tool"]
    assert proxy.mode["shape"] is None
    second = runner.calm()
    assert second.restored == () and second.ok
    assert ("f003", "applied") not in steps(tmp_path)
    assert steps(tmp_path).count(("f001", "restored")) == 1


def test_calm_reports_a_target_that_is_not_running(tmp_path):
    runner, driver, _, _ = make(tmp_path, [fault("f001", "power", "plc-sim", 0, 1)])
    runner.run_to_end()
    driver.running["plc-sim"] = False  # died on its own after the restore
    report = runner.calm()
    assert report.running == {"plc-sim": False} and not report.ok
    assert json.loads(json.dumps(report.to_json()))["ok"] is False


def test_inject_applies_now_and_restores_later(tmp_path):
    runner, driver, _, clock = make(tmp_path, [])
    outcome = runner.inject("power", "tool", 4.0)
    assert outcome["applied"] and outcome["fault"]["id"] == "api001"
    assert driver.methods() == [("kill", "tool")]
    t = clock.t
    runner.run(stop_when_idle=True)
    assert driver.methods() == [("kill", "tool"), ("start", "tool")]
    assert driver.calls[-1].t - t == pytest.approx(4.0)
    assert steps(tmp_path) == [
        ("api001", "planned"),
        ("api001", "intent"),
        ("api001", "applied"),
        ("api001", "restored"),
    ]


def test_inject_refusals_do_nothing(tmp_path):
    runner, driver, _, _ = make(tmp_path, [])
    with pytest.raises(FaultSpecError):
        runner.inject("delay", "plc-sim", 5, {"delayMs": -3})
    narrow = RecordingDriver(["plc-sim"])
    runner2 = PlanRunner({"schema": 1, "faults": []}, narrow, None, Ledger(tmp_path / "other.jsonl"))
    with pytest.raises(TargetRefused) as refused:
        runner2.inject("power", "tool", 5)
    assert "tool" in str(refused.value) and "plc-sim" in str(refused.value)
    runner.calm()
    with pytest.raises(CalmedError):
        runner.inject("power", "tool", 1)
    assert driver.calls == [] and narrow.calls == []
    assert not (tmp_path / "other.jsonl").exists()


def test_calm_drops_pending_plan_faults(tmp_path):
    runner, driver, _, _ = make(tmp_path, [fault("f001", "power", "tool", 60, 1)])
    runner.begin_plan()
    runner.calm()
    runner.run(stop_when_idle=True)
    assert driver.calls == []
    assert runner.status()["pending"] == 0


def test_rejects_a_plan_that_is_not_schema_1(tmp_path):
    with pytest.raises(Exception, match="schema 1"):
        PlanRunner({"faults": []}, RecordingDriver([]), None, Ledger(tmp_path / "x.jsonl"))


# -- restore intent before apply ---------------------------------------------------------------


class LedgerWatchingDriver(RecordingDriver):
    """Records, at each runtime call, the ledger steps already on disk: the ordering that matters."""

    def __init__(self, services, clock, ledger_path):
        super().__init__(services, clock)
        self.ledger_path = ledger_path
        self.seen: list[tuple[str, str | None, list[tuple[str, str]]]] = []

    def _enter(self, method, service, arg=None):
        on_disk = [(e["fault"], e["step"]) for e in read_ledger(self.ledger_path).entries]
        self.seen.append((method, service, on_disk))
        super()._enter(method, service, arg)


def watching(tmp_path, faults):
    clock = FakeClock()
    path = tmp_path / "injected.jsonl"
    driver = LedgerWatchingDriver(SERVICES, clock, path)
    plan = {"schema": 1, "faults": faults}
    return PlanRunner(plan, driver, RecordingProxy(), Ledger(path), clock, clock.sleep), driver, path


def test_restore_intent_is_on_disk_before_the_runtime_is_touched(tmp_path):
    runner, driver, path = watching(tmp_path, [fault("f001", "delay", "plc-sim", 1, 5, {"delayMs": 40})])
    runner.run_to_end()
    method, _, on_disk = driver.seen[0]
    assert method == "set_plc_delay" and on_disk == [("f001", "planned"), ("f001", "intent")]
    intent = next(e for e in read_ledger(path).entries if e["step"] == "intent")
    # enough to undo it without the plan: kind, target, params, duration
    assert (intent["kind"], intent["target"], intent["params"], intent["duration"]) == (
        "delay",
        "plc-sim",
        {"delayMs": 40},
        5,
    )
    assert steps(tmp_path) == [("f001", "planned"), ("f001", "intent"), ("f001", "applied"), ("f001", "restored")]


def test_injected_fault_journals_its_intent_before_apply_too(tmp_path):
    runner, driver, _ = watching(tmp_path, [])
    runner.inject("power", "tool", 3.0)
    assert driver.seen[0] == ("kill", "tool", [("api001", "planned"), ("api001", "intent")])


def test_a_harness_killed_mid_apply_leaves_the_intent_behind(tmp_path):
    runner, driver, path = watching(tmp_path, [fault("f001", "wipe", "tool", 0, 30)])

    def die(*_):  # the harness process dies inside the runtime call: nothing after it runs
        raise SystemExit(137)

    driver.wipe = die
    with pytest.raises(SystemExit):
        runner.run_to_end()
    left = read_ledger(path).entries
    assert [(e["fault"], e["step"]) for e in left] == [("f001", "planned"), ("f001", "intent")]
    assert left[-1]["kind"] == "wipe" and left[-1]["target"] == "tool" and left[-1]["duration"] == 30


# -- one fault per target ----------------------------------------------------------------------


def test_inject_on_a_target_with_an_active_fault_is_409_material_and_does_nothing(tmp_path):
    runner, driver, _, clock = make(tmp_path, [])
    runner.inject("pause", "tool", 10.0)
    with pytest.raises(TargetBusy) as busy:
        runner.inject("power", "tool", 5.0)
    assert "api001" in str(busy.value) and "pause" in str(busy.value) and "'tool'" in str(busy.value)
    assert busy.value.active == {"fault": "api001", "kind": "pause", "target": "tool"}
    assert driver.methods() == [("pause", "tool")]
    assert [fid for fid, _ in steps(tmp_path)] == ["api001", "api001", "api001"]  # nothing for the refused one
    # another target is free; the same target is free again once the first is restored
    assert runner.inject("delay", "plc-sim", 1.0, {"delayMs": 5})["applied"]
    clock.t += 10.0
    runner.step()
    assert runner.inject("power", "tool", 1.0)["applied"]
    assert driver.methods()[-1] == ("kill", "tool")


def test_overlapping_plan_fault_is_journaled_failed_and_not_applied(tmp_path):
    runner, driver, _, _ = make(
        tmp_path, [fault("f001", "pause", "tool", 0, 10), fault("f002", "power", "tool", 5, 2)]
    )
    runner.run_to_end()
    assert driver.methods() == [("pause", "tool"), ("unpause", "tool")]
    assert steps(tmp_path) == [
        ("f001", "planned"),
        ("f002", "planned"),
        ("f001", "intent"),
        ("f001", "applied"),
        ("f002", "failed"),
        ("f001", "restored"),
    ]
    error = next(e["error"] for e in read_ledger(tmp_path / "injected.jsonl").entries if e["step"] == "failed")
    assert error.startswith("not applied:") and "f001 (pause)" in error
    assert runner.counts == {"applied": 1, "restored": 1, "failed": 1}


def test_plan_fault_meeting_an_injected_fault_is_failed_not_applied(tmp_path):
    runner, driver, _, clock = make(tmp_path, [fault("f001", "power", "tool", 2, 1)])
    runner.begin_plan()
    runner.inject("pause", "tool", 10.0)
    clock.t += 2.0
    runner.step()
    assert driver.methods() == [("pause", "tool")]
    failed = [e for e in read_ledger(tmp_path / "injected.jsonl").entries if e["step"] == "failed"]
    assert [e["fault"] for e in failed] == ["f001"] and "api001 (pause)" in failed[0]["error"]


def test_a_target_restarted_during_a_freeze_is_frozen_again_and_the_ledger_says_so(tmp_path):
    runner, driver, _, _ = make(tmp_path, [])
    outcome = runner.inject("pause", "tool", 30.0)
    assert runner.on_target_started("tool") == [{"fault": outcome["fault"]["id"], "action": "re-applied"}]
    assert driver.methods() == [("pause", "tool"), ("pause", "tool")]
    lines = [e for e in read_ledger(tmp_path / "injected.jsonl").entries if e["step"] == "applied"]
    assert [line.get("by") for line in lines] == [None, "target restart"]
    assert "re-applied" in lines[1]["note"]
    assert runner.status()["active"] == [{"fault": outcome["fault"]["id"], "kind": "pause", "target": "tool"}]


def test_a_fault_whose_re_apply_fails_after_a_restart_is_ended_not_left_active(tmp_path):
    runner, driver, _, _ = make(tmp_path, [])
    outcome = runner.inject("pause", "tool", 30.0)
    driver.fail_on[("pause", "tool")] = "no such container"
    [done] = runner.on_target_started("tool")
    assert done["action"] == "ended" and "no such container" in done["error"]
    assert runner.status()["active"] == []
    failed = [e for e in read_ledger(tmp_path / "injected.jsonl").entries if e["step"] == "failed"]
    assert failed[0]["fault"] == outcome["fault"]["id"] and failed[0]["error"].startswith("ended:")


def test_faults_whose_effect_outlives_a_restart_are_left_alone(tmp_path):
    runner, driver, _, _ = make(tmp_path, [])
    runner.inject("cloudcut", "cloud", 30.0)
    runner.inject("delay", "plc-sim", 30.0, {"delayMs": 100})
    before = driver.methods()
    assert runner.on_target_started("cloud") == [] and runner.on_target_started("plc-sim") == []
    assert runner.on_target_started("tool") == []  # nothing active on it
    assert driver.methods() == before
