"""Plan generation stays bounded for the largest values the knobs accept (a one-week soak, the densest storms)."""

from __future__ import annotations

import time

import pytest

from battle import cli
from battle.chaos.plan import MAX_EVENTS_PER_FAMILY, MIN_STEP_S, SAME_TARGET_GAP_S, PlanError, generate_plan
from battle.config import load_catalogue, resolve

WEEK = load_catalogue().knobs["SOAK_MINUTES"].opt("max")
STORMS = ("DOWNLOAD_STORM", "TOOLKILL_STORM", "PAUSE_STORM", "POWER_STORM", "CLOUD_ERRORS", "LINKSHAPE",
          "ATTRITION_PERIOD")
# Every family just under MAX_EVENTS_PER_FAMILY over a week, with fault lengths that saturate the targets.
NEAR_THE_CAP = {**{k: "1.75,1.9" for k in STORMS}, "CLOUD_FLAP": "0.5,1.85", "MAX_DEAD": "1", "PAUSE_S": "300",
                "POWER_DOWN_S": "300", "DOWNLOAD_DOWN_S": "300", "CLOUD_ERRORS_S": "300", "LINKSHAPE_S": "300",
                "ATTRITION_RECOVERY_S": "1,300"}


def check_rules_quickly(plan, max_dead):
    """The plan's rules, in one sweep each (the plan holds tens of thousands of faults)."""
    by_target: dict[str, list] = {}
    for f in plan.faults:
        by_target.setdefault(f.target, []).append(f)
    for target, fs in by_target.items():
        for a, b in zip(fs, fs[1:], strict=False):
            assert a.end + SAME_TARGET_GAP_S <= b.at + 1e-9, f"overlap on {target}: {a} / {b}"
    edges = sorted([(f.at, 1) for f in plan.faults if f.family == "ATTRITION"]
                   + [(f.end + SAME_TARGET_GAP_S - 1e-6, -1) for f in plan.faults if f.family == "ATTRITION"])
    down = 0
    for _t, step in edges:
        down += step
        assert down <= max_dead


def test_the_nightly_for_a_week_is_quick():
    started = time.perf_counter()
    plan = generate_plan(resolve({}, "all", WEEK))
    assert time.perf_counter() - started < 10  # about 0.1 s; a quadratic placement took minutes
    assert len(plan.faults) > 1000
    check_rules_quickly(plan, 1)


def test_the_densest_week_the_knobs_allow_is_bounded_and_keeps_the_rules():
    config = resolve(NEAR_THE_CAP, "all", WEEK)
    started = time.perf_counter()
    plan = generate_plan(config)
    took = time.perf_counter() - started
    assert took < 20, f"{took:.1f} s"  # about 1 s on an idle machine
    assert len(plan.faults) <= (len(STORMS) + 1) * MAX_EVENTS_PER_FAMILY
    assert plan.families() == {*STORMS[:-1], "CLOUD_FLAP", "ATTRITION"}
    check_rules_quickly(plan, 1)


@pytest.mark.parametrize("knob, value", [("DOWNLOAD_STORM", "0,0.5"), ("ATTRITION_PERIOD", "0,1"),
                                         ("CLOUD_FLAP", "0.1,1")])
def test_a_family_drawing_more_than_the_cap_is_a_configuration_error(knob, value):
    scenario = "attrition" if knob == "ATTRITION_PERIOD" else "s1"
    with pytest.raises(PlanError) as err:
        generate_plan(resolve({knob: value}, scenario, WEEK))
    (problem,) = err.value.problems
    assert problem == (f"{knob}={value!r} would draw more than {MAX_EVENTS_PER_FAMILY} events in a "
                       f"{WEEK:g}-minute soak: expected at most {MAX_EVENTS_PER_FAMILY} per fault family (a plan "
                       f"stays quick to make and to run); raise the interval of {knob} or lower SOAK_MINUTES")


def test_a_flap_with_a_tiny_period_still_advances():
    plan = generate_plan(resolve({"CLOUD_FLAP": "0.0001,0.0002"}, "s1", 60))
    assert 0 < len(plan.faults) <= 60 * 60 / MIN_STEP_S


def test_validate_refuses_a_plan_over_the_cap_with_exit_2(capsys, monkeypatch):
    for name in load_catalogue().knobs:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOWNLOAD_STORM", "0,0.5")
    assert cli.main(["validate", "--minutes", str(WEEK)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "DOWNLOAD_STORM='0,0.5' would draw more than" in err and "nothing started" in err
