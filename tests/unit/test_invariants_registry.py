"""The registry and judge_all: the one supervisor place for judges."""

import json

import pytest

import battle.invariants as invariants
from battle.evidence import Evidence, Op
from battle.invariants import base
from battle.observer.journals import digest_ops

LIMITS = {
    "WARMUP_S": 120.0, "P95_MS": 500.0, "P99_MS": 2000.0, "MAX_GAP_S": 10.0, "RESTART_GRACE_S": 20.0,
    "LEAK_MB_PER_H": 5.0, "LEAK_MIN_WINDOW_S": 300.0, "RESTORE_MAX_S": 60.0, "FLAP_BUDGET": 2,
    "SETTLE_MAX_S": 120.0, "PROPAGATION_MAX_S": 60.0,
}
EMPTY = Evidence(run_id="r", started_at=0.0, soak_end=60.0, warmup_s=0.0)


def test_all_seven_are_registered_in_order_with_their_knobs():
    specs = invariants.all_specs()
    assert [s.id for s in specs] == ["I1", "I2", "I3", "I4", "I5", "I6", "I7"]
    assert specs[3].title == "I4 no data loss"
    assert set().union(*(s.knobs for s in specs)) == set(LIMITS)
    assert invariants.default_gates() == {"I1", "I2", "I4", "I5", "I6"}


def test_unknown_id_names_the_known_ones():
    with pytest.raises(base.JudgeError, match="known: I1, I2"):
        invariants.get("I9")


def test_registering_a_different_spec_under_a_taken_id_is_refused():
    clash = base.InvariantSpec("I4", "something else", "gate", (), lambda evidence, limits: None)
    with pytest.raises(base.JudgeError, match="already registered"):
        base.register(clash)


def test_result_and_spec_validate_their_fields():
    with pytest.raises(base.JudgeError):
        base.Result("I1", "x", "error", 0, "no such status")
    with pytest.raises(base.JudgeError):
        base.Result("I1", "x", "pass", 1, "two\nlines")
    with pytest.raises(base.JudgeError):
        base.InvariantSpec("X1", "x", "gate", (), lambda evidence, limits: None)


def test_missing_knob_is_a_judge_error_naming_it():
    with pytest.raises(base.JudgeError, match="P95_MS"):
        invariants.get("I1").judge(EMPTY, {"WARMUP_S": 1.0})


def test_every_gate_with_zero_evidence_is_inconclusive_never_pass():
    outcomes = invariants.judge_all(EMPTY, LIMITS, gates={s.id for s in invariants.all_specs()})
    assert [o.status for o in outcomes] == ["inconclusive"] * 7
    assert all(o.role == "gate" and o.error is None for o in outcomes)
    json.dumps([o.to_dict() for o in outcomes])


def test_roles_follow_the_gate_list():
    outcomes = invariants.judge_all(EMPTY, LIMITS, gates={"I4"})
    assert {o.id: o.role for o in outcomes}["I4"] == "gate"
    assert sum(o.role == "gate" for o in outcomes) == 1


def test_unknown_gate_is_refused_before_judging():
    with pytest.raises(base.JudgeError, match="I42"):
        invariants.judge_all(EMPTY, LIMITS, gates={"I42"})


def _spec(judge):
    return base.InvariantSpec("I99", "test judge", "report", (), judge)


def test_a_crashing_judge_is_caught_and_recorded(monkeypatch):
    def boom(evidence, limits):
        raise ZeroDivisionError("divided by nothing")

    monkeypatch.setitem(base._REGISTRY, "I99", _spec(boom))
    outcomes = invariants.judge_all(EMPTY, LIMITS, gates={"I4"})
    crashed = outcomes[-1]
    assert crashed.id == "I99"
    assert crashed.status == "error" and crashed.result.status == "inconclusive"
    assert "ZeroDivisionError: divided by nothing" in crashed.error
    assert outcomes[3].error is None  # the others still ran


def test_a_missing_knob_becomes_a_recorded_error_not_a_crash():
    outcomes = invariants.judge_all(EMPTY, {}, gates={"I4"})
    reading_knobs = [o for o in outcomes if invariants.get(o.id).knobs]
    assert reading_knobs and all(o.error and "needs knob" in o.error for o in reading_knobs)


def test_details_that_cannot_be_written_are_an_error(monkeypatch):
    spec = _spec(lambda evidence, limits: base.Result("I99", "test judge", "pass", 1, "ok", {"x": object()}))
    monkeypatch.setitem(base._REGISTRY, "I99", spec)
    assert invariants.judge_all(EMPTY, LIMITS, gates=set())[-1].error


def test_a_pass_on_zero_evidence_is_downgraded(monkeypatch):
    spec = _spec(lambda evidence, limits: base.Result("I99", "test judge", "pass", 0, "looked at nothing"))
    monkeypatch.setitem(base._REGISTRY, "I99", spec)
    result = invariants.judge_all(EMPTY, LIMITS, gates={"I99"})[-1]
    assert result.status == "inconclusive"
    assert "zero evidence" in result.result.reason


def test_judges_are_pure():
    value = {"result": "Passed", "comments": ""}
    ev = Evidence(run_id="r", started_at=0.0, soak_end=60.0, warmup_s=0.0,
                  journal=digest_ops([Op(0, 1, "invoke", 5, value, False, 1.0), Op(0, 1, "ok", 5, value, False, 1.0)]),
                  local={5: {"result": "Passed", "comments": ""}})
    first = [o.to_dict() for o in invariants.judge_all(ev, LIMITS)]
    assert first == [o.to_dict() for o in invariants.judge_all(ev, LIMITS)]
    assert ev.local == {5: {"result": "Passed", "comments": ""}}
