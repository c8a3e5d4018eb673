"""Which invariants gate a run: feasibility from the knobs and the plan, and the gate policy."""

from __future__ import annotations

import json
import re
from types import MappingProxyType

import pytest

from battle.backends.manifest import build_manifest
from battle.chaos.plan import Plan, PlannedFault, generate_plan
from battle.config import INVARIANT_IDS, ConfigError, _catalogue_text, parse_catalogue, resolve
from battle.gating import (
    RULES,
    GateDecision,
    decide,
    demotion_line,
    feasibility,
    plan_and_gates,
    tool_lifetimes,
)
from battle.invariants import all_specs
from battle.judging import judge_run_dir

ALL_IDS = [f"I{i}" for i in range(1, 8)]


def check(rid, env=None, scenario="s1", minutes=30, plan=None):
    config = resolve(env or {}, scenario, minutes)
    return feasibility(config, plan if plan is not None else generate_plan(config))[rid]


def fault(n, kind, target, at_min, duration_s=10.0):
    return PlannedFault(f"f{n:03d}", kind, target, at_min * 60.0, duration_s, MappingProxyType({}), "TEST")


def a_plan(minutes, *faults):
    return Plan("s1", 1, minutes * 60.0, tuple(faults))


# ---------------------------------------------------------------- the rules


def test_every_registered_invariant_has_a_rule():
    assert set(RULES) == {s.id for s in all_specs()} == set(INVARIANT_IDS)


def test_i1_needs_a_soak_longer_than_the_warm_up():
    assert check("I1", minutes=4).feasible
    infeasible = check("I1", {"WARMUP_S": "300"}, minutes=4)
    assert not infeasible.feasible
    assert infeasible.reason.startswith("soak 4 min ≤ WARMUP_S 5 min")


def test_i2_needs_one_long_enough_tool_lifetime_after_its_warm_up():
    ok = check("I2", minutes=30)
    assert ok.feasible and ok.reason == "longest planned tool lifetime 28 min after warm-up ≥ LEAK_MIN_WINDOW_S 20 min"
    short = check("I2", minutes=10)
    assert not short.feasible
    assert short.reason == ("longest planned tool lifetime 8 min after warm-up < LEAK_MIN_WINDOW_S 20 min "
                            "(no planned tool restart in a 10 min soak)")


def test_i2_splits_the_soak_at_every_fault_that_restarts_the_tool_or_loses_its_data():
    # 60 min; the tool is killed at 30 min: 2 lifetimes of ~30 min, 28 after the warm-up each
    one_kill = a_plan(60, fault(1, "toolkill", "tool", 30, 1.0))
    assert tool_lifetimes(one_kill, 3600.0) == [(0.0, 1800.0), (1801.0, 3600.0)]
    assert check("I2", minutes=60, plan=one_kill).feasible
    # three restarts (a power cut, a wipe, a graceful restart): no lifetime of 20 min is left
    three = a_plan(60, fault(1, "power", "tool", 15), fault(2, "wipe", "tool", 30), fault(3, "restart", "tool", 45))
    infeasible = check("I2", minutes=60, plan=three)
    assert not infeasible.feasible and "(3 planned tool restarts in a 60 min soak)" in infeasible.reason
    # a freeze of the tool, or a power cut of the PLC, starts no new tool process: the soak stays whole
    harmless = a_plan(60, fault(1, "pause", "tool", 15), fault(2, "power", "plc-sim", 30),
                      fault(3, "restart", "cloud", 45))
    assert tool_lifetimes(harmless, 3600.0) == [(0.0, 3600.0)]
    assert check("I2", minutes=60, plan=harmless).feasible


def test_i3_needs_a_planned_fault_that_resets_the_plcs_tags():
    ok = check("I3", scenario="s2")
    assert ok.feasible and "1 planned fault reset the PLC's tags" in ok.reason
    power = a_plan(30, fault(1, "power", "plc-sim", 5))
    assert check("I3", plan=power).feasible
    assert not check("I3", plan=a_plan(30, fault(1, "power", "tool", 5))).feasible  # the tool has no tags
    none = check("I3", scenario="s1")
    assert not none.feasible
    assert none.reason == ("no planned fault resets the PLC's tags: nothing to restore "
                           "(ATTRITION, DOWNLOAD_STORM or POWER_STORM can plan one)")


@pytest.mark.parametrize("rid", ["I4", "I6"])
def test_i4_and_i6_need_single_writer_targets(rid):
    ok = check(rid, {"HOT_FRACTION": "0.25"})
    assert ok.feasible and "HOT_FRACTION=0.25 < 1: 75% of writes go to single-writer targets of 8 bots" == ok.reason
    hot = check(rid, {"HOT_FRACTION": "1"})
    assert not hot.feasible and hot.reason.startswith("HOT_FRACTION=1: every write goes to the shared hot set")


def test_i5_is_always_feasible():
    assert check("I5", minutes=0.1, plan=a_plan(0.1)).feasible
    assert check("I5", scenario="all", minutes=15).feasible


def test_i7_needs_the_mutator_for_at_least_one_period():
    assert check("I7", scenario="mutate").feasible
    off = check("I7", scenario="s1")
    assert not off.feasible and off.reason.startswith("COMPOSE_PROFILES='' has no 'mutate'")
    short = check("I7", scenario="mutate", minutes=0.05)  # 3 s < MUTATE_PERIOD_SEC 6 s
    assert not short.feasible and short.reason.startswith("soak 3 s < MUTATE_PERIOD_SEC 6 s")


# ---------------------------------------------------------------- the policy


def test_all_for_15_minutes_demotes_only_i2_with_its_figures():
    config = resolve({"SCENARIO": "all", "SOAK_MINUTES": "15"})
    _plan, decision = plan_and_gates(config)
    assert decision.gates == ("I1", "I3", "I4", "I5", "I6", "I7")
    assert list(decision.demoted) == ["I2"] and decision.demoted["I2"].cause == "infeasible"
    (line,) = decision.lines()
    assert re.fullmatch(r"gate I2 demoted to report: longest planned tool lifetime \d+(\.\d)? min after warm-up "
                        r"< LEAK_MIN_WINDOW_S 20 min \(2 planned tool restarts in a 15 min soak\)", line), line


def test_the_nightly_gates_everything():
    _plan, decision = plan_and_gates(resolve({"SCENARIO": "all", "SOAK_MINUTES": "480"}))
    assert decision.gates == tuple(ALL_IDS) and not decision.demoted and not decision.lines()


def test_mutate_now_gates_loss_and_divergence():
    _plan, decision = plan_and_gates(resolve({}, "mutate"))
    assert {"I4", "I6", "I7"} <= set(decision.gates)
    assert decision.role("I4") == decision.role("I6") == "gate"


def test_s1_short_demotes_what_it_cannot_judge():
    _plan, decision = plan_and_gates(resolve({}, "s1", 4))
    assert decision.gates == ("I1", "I4", "I5", "I6")
    assert {rid: d.cause for rid, d in decision.demoted.items()} == {
        "I2": "infeasible", "I3": "infeasible", "I7": "infeasible"}
    assert [line.split(":")[0] for line in decision.lines()] == [
        "gate I2 demoted to report", "gate I3 demoted to report", "gate I7 demoted to report"]


def _catalogue_with(scenario_line_after: str, extra: str):
    text = _catalogue_text()
    anchor = f"  {scenario_line_after}:\n"
    assert anchor in text
    return parse_catalogue(text.replace(anchor, anchor + extra, 1))


def test_a_scenario_may_demote_an_invariant_with_its_reason():
    cat = _catalogue_with("s2", '    report: {I1: "the download storm is about the PLC, not the API"}\n')
    config = resolve({"SCENARIO": "s2"}, catalogue=cat)
    decision = decide(config, generate_plan(config))
    assert "I1" not in decision.gates and decision.role("I1") == "report"
    assert decision.demoted["I1"].cause == "scenario"
    assert decision.feasibility["I1"].feasible  # it could have gated: the scenario chose otherwise
    assert decision.lines()[0] == ("gate I1 demoted to report by the scenario: the download storm is about the PLC, "
                                   "not the API")


def test_a_scenario_cannot_demote_loss_or_divergence():
    with pytest.raises(ConfigError) as err:
        _catalogue_with("mutate", '    report: {I4: "edits race the crew"}\n')
    (problem,) = err.value.problems
    assert re.match(r"battle/scenarios\.yml:\d+: scenario mutate: cannot demote I4 to report", problem)


def test_strict_gates_turns_an_infeasible_gate_into_a_configuration_error():
    config = resolve({"STRICT_GATES": "1"}, "s1", 4)
    with pytest.raises(ConfigError) as err:
        decide(config, generate_plan(config))
    assert [p.split(":")[0] for p in err.value.problems] == [
        f"STRICT_GATES is on and gate {rid} cannot be judged by this soak" for rid in ("I2", "I3", "I7")]
    assert "LEAK_MIN_WINDOW_S 20 min" in str(err.value) and "STRICT_GATES=0" in str(err.value)
    config = resolve({"STRICT_GATES": "true", "SOAK_MINUTES": "480"}, "all")
    assert decide(config, generate_plan(config)).gates == tuple(ALL_IDS)  # nothing infeasible: fine


def test_strict_gates_accepts_what_the_scenario_demoted_itself():
    cat = _catalogue_with("s1", '    report: {I3: "no PLC faults here", I7: "no mutator here"}\n')
    config = resolve({"SCENARIO": "s1", "STRICT_GATES": "1"}, catalogue=cat)
    decision = decide(config, generate_plan(config))
    assert {rid: d.cause for rid, d in decision.demoted.items()} == {"I3": "scenario", "I7": "scenario"}


def test_the_decision_is_frozen_and_goes_to_the_manifest_as_json():
    config = resolve({}, "s1", 4)
    _plan, decision = plan_and_gates(config)
    assert isinstance(decision, GateDecision)
    with pytest.raises(TypeError):
        decision.demoted["I4"] = decision.demoted["I2"]  # type: ignore[index]
    manifest = json.loads(json.dumps(build_manifest(config, "s1-x", "local", 1_767_225_600.0, decision)))
    assert manifest["gates"] == ["I1", "I4", "I5", "I6"]
    assert manifest["demoted"]["I3"] == {"reason": decision.demoted["I3"].reason, "cause": "infeasible"}
    assert manifest["feasibility"]["I5"]["feasible"] is True
    assert set(manifest["feasibility"]) == set(ALL_IDS)


def test_demotion_lines_have_one_wording():
    assert demotion_line("I2", "why") == "gate I2 demoted to report: why"
    assert demotion_line("I3", "why", "scenario") == "gate I3 demoted to report by the scenario: why"


# ---------------------------------------------------------------- a mutate run with lost data fails


def test_a_mutate_run_that_loses_a_write_exits_1(tmp_path):
    config = resolve({}, "mutate", 4)
    _plan, decision = plan_and_gates(config)
    run = tmp_path / "mutate-x"
    run.mkdir()
    manifest = build_manifest(config, "mutate-x", "local", 1_795_000_000.0, decision)
    (run / "manifest.json").write_text(json.dumps(manifest))
    op = {"schema": 1, "ts": "2026-11-18T11:06:41.000Z", "mono": 1.0, "bot": 1, "op": 1, "action": "mark",
          "target": 9, "value": {"result": "Failed", "comments": ""}, "hot": False, "status": None,
          "latencyMs": None, "error": None}
    (run / "journal-bot1.jsonl").write_text(json.dumps({**op, "type": "invoke"}) + "\n"
                                            + json.dumps({**op, "type": "ok", "status": 200, "latencyMs": 3.0}) + "\n")
    (run / "snapshot-local.json").write_text(json.dumps([{"id": 9, "result": "Passed", "comments": ""}]))
    (run / "snapshot-cloud.json").write_text(json.dumps([{"id": 9, "result": "Passed", "comments": ""}]))
    (run / "events.jsonl").write_text("")  # the tool logged nothing: still evidence, unlike a missing file
    (run / "mutations.jsonl").write_text("")
    for bot in (0, 2, 3, 4, 5, 6, 7):  # the other bots wrote nothing: an empty journal, not a missing one
        (run / f"journal-bot{bot}.jsonl").write_text("")
    (run / "plan.json").write_text(json.dumps({"schema": 1, "faults": []}))
    (run / "health.csv").write_text("utc,epoch,latency_ms,status,ok,phase\n")
    (run / "memory.csv").write_text("utc,epoch,service,lifetime,rss_mb\n")
    (run / "snapshot-queue.json").write_text(json.dumps({"active": 0, "parked": 0, "parkedRows": []}))
    (run / "settle.json").write_text(json.dumps({"drained": True, "seconds": 1.0}))
    verdict = judge_run_dir(run)
    i4 = next(o for o in verdict.results if o.id == "I4")
    assert i4.role == "gate" and i4.status == "fail", i4.error
    assert verdict.verdict == "fail" and verdict.exit_code == 1
    assert dict(verdict.demoted) == decision.to_manifest()["demoted"] and list(verdict.demoted) == ["I2", "I3"]
