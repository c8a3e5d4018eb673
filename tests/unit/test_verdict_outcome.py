"""Overall verdict, exit codes and coverage."""

import pytest

from battle.evidence import Fault
from battle.invariants import Outcome, Result
from battle.verdict import EXIT_CODES, coverage, exit_code, make_verdict, overall


def out(i, status, role="gate", evidence=1, error=None):
    return Outcome(Result(i, f"inv {i}", status, evidence, f"{status} reason"), role, error)


@pytest.mark.parametrize(("statuses", "errors", "expected"), [
    (["pass", "pass"], [], "pass"),
    (["pass", "inconclusive"], [], "inconclusive"),
    (["inconclusive", "fail"], [], "fail"),
    (["fail", "pass"], ["fault f003 was applied but never restored"], "error"),
    (["pass", "pass"], ["harness failure"], "error"),
])
def test_error_beats_fail_beats_inconclusive_beats_pass(statuses, errors, expected):
    results = [out(f"I{n}", s) for n, s in enumerate(statuses, start=1)]
    assert overall(results, {"I1", "I2"}, errors) == expected


def test_report_only_results_never_change_the_verdict():
    results = [out("I1", "pass"), out("I2", "fail", role="report"), out("I3", "inconclusive", role="report")]
    assert overall(results, {"I1"}) == "pass"
    assert overall(results, {"I1", "I2"}) == "fail"


def test_a_gate_with_zero_evidence_is_never_a_pass():
    assert overall([out("I1", "pass", evidence=0)], {"I1"}) == "inconclusive"


def test_a_crashed_judge_makes_the_run_an_error():
    results = [out("I1", "pass"), out("I7", "inconclusive", role="report", error="I7 judge crashed: boom")]
    assert overall(results, {"I1"}) == "error"


def test_a_gate_without_a_result_is_an_error_and_no_gates_is_inconclusive():
    assert overall([out("I1", "pass")], {"I1", "I4"}) == "error"
    assert overall([out("I1", "pass")], set()) == "inconclusive"


def test_exit_codes():
    assert EXIT_CODES == {"pass": 0, "fail": 1, "error": 2, "inconclusive": 3}
    assert [exit_code(v) for v in ("pass", "fail", "error", "inconclusive")] == [0, 1, 2, 3]
    assert exit_code("nonsense") == 2  # a harness that cannot say is an error, never a pass


def _fault(fid, kind, applied=True, restored=True, failed=None):
    return Fault(fid, kind, "plc-sim", {}, 1.0, 2.0 if applied else None, 3.0 if restored else None, failed)


def test_coverage_counts_every_step_per_kind():
    faults = [_fault("f1", "download"), _fault("f2", "download", restored=False, failed="start timed out"),
              _fault("f3", "power", applied=False, restored=False, failed="no such container")]
    assert coverage(faults) == {
        "download": {"planned": 2, "applied": 2, "restored": 1, "failed": 1},
        "power": {"planned": 1, "applied": 0, "restored": 0, "failed": 1},
    }


def test_make_verdict_turns_an_unrestored_fault_into_an_error():
    v = make_verdict(run_id="r1", scenario="s2", seed=1, started=0.0, ended=60.0, soak_minutes=1.0,
                     gates={"I4", "I3"}, outcomes=[out("I3", "pass"), out("I4", "pass")],
                     faults=[_fault("f2", "download", restored=False, failed="start timed out")])
    assert v.verdict == "error" and v.exit_code == 2
    assert "f2" in v.errors[0] and "start timed out" in v.errors[0]
    assert v.gates == ("I3", "I4")
    assert v.started == "1970-01-01T00:00:00.000Z"


def test_make_verdict_collects_judge_crashes():
    v = make_verdict(run_id="r1", scenario="s1", seed=1, started="a", ended="b", soak_minutes=1.0,
                     gates={"I1"}, outcomes=[out("I1", "pass"), out("I2", "inconclusive", "report", 0, "boom")])
    assert v.verdict == "error"
    assert v.errors == ("boom",)
