"""verdict.json (atomic, schema 1, round trip) and junit.xml."""

import json
import os
import xml.etree.ElementTree as ET

import pytest

from battle.evidence import Evidence, Op
from battle.invariants import Outcome, Result, judge_all
from battle.observer.journals import digest_ops
from battle.verdict import (
    VerdictError,
    junit_xml,
    load_verdict,
    make_verdict,
    write_junit,
    write_verdict_json,
)

LIMITS = {
    "WARMUP_S": 120.0, "P95_MS": 500.0, "P99_MS": 2000.0, "MAX_GAP_S": 10.0, "RESTART_GRACE_S": 20.0,
    "LEAK_MB_PER_H": 5.0, "LEAK_MIN_WINDOW_S": 300.0, "RESTORE_MAX_S": 60.0, "FLAP_BUDGET": 2,
    "SETTLE_MAX_S": 120.0, "PROPAGATION_MAX_S": 60.0,
}


def a_verdict(extra_errors=()):
    value = {"result": "Failed", "comments": ""}
    ev = Evidence(run_id="r1", started_at=0.0, soak_end=60.0, warmup_s=0.0,
                  journal=digest_ops([Op(0, 1, "invoke", 5, value, False, 1.0), Op(0, 1, "ok", 5, value, False, 1.0)]),
                  local={5: {"result": "Passed", "comments": ""}})  # a silent flip: I4 fails
    outcomes = judge_all(ev, LIMITS, gates={"I1", "I4"})
    return make_verdict(run_id="r1", scenario="s1", seed=7, started=0.0, ended=60.0, soak_minutes=1.0,
                        gates={"I1", "I4"}, outcomes=outcomes, errors=extra_errors)


def test_verdict_json_round_trips(tmp_path):
    v = a_verdict()
    path = tmp_path / "verdict.json"
    write_verdict_json(path, v)
    data = json.loads(path.read_text())
    assert data["schema"] == 1 and data["verdict"] == "fail" and data["exitCode"] == 1
    assert [r["id"] for r in data["results"]] == ["I1", "I2", "I3", "I4", "I5", "I6", "I7"]
    assert data["results"][3]["role"] == "gate" and data["results"][3]["status"] == "fail"
    assert load_verdict(path) == v
    assert os.listdir(tmp_path) == ["verdict.json"]


def test_a_crash_during_write_leaves_the_old_file_and_no_partial_one(tmp_path, monkeypatch):
    path = tmp_path / "verdict.json"
    write_verdict_json(path, a_verdict())
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk vanished")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk vanished"):
        write_verdict_json(path, a_verdict(extra_errors=("changed",)))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["verdict.json"]


def test_a_crash_before_the_rename_leaves_no_file_at_all(tmp_path, monkeypatch):
    path = tmp_path / "verdict.json"

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_verdict_json(path, a_verdict())
    assert os.listdir(tmp_path) == []


def test_load_refuses_other_schemas_and_garbage(tmp_path):
    path = tmp_path / "verdict.json"
    path.write_text(json.dumps({"schema": 2}))
    with pytest.raises(VerdictError, match="schema 2"):
        load_verdict(path)
    path.write_text("{half")
    with pytest.raises(VerdictError, match="cannot read"):
        load_verdict(path)


def test_junit_has_one_case_per_invariant_and_parses(tmp_path):
    path = tmp_path / "junit.xml"
    write_junit(path, a_verdict())
    root = ET.parse(path).getroot()
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases][3] == "I4 no data loss"
    assert len(cases) == 7 and {c.get("classname") for c in cases} == {"battle.invariants"}
    by_name = {c.get("name"): c for c in cases}
    assert by_name["I4 no data loss"].find("failure") is not None
    skipped = by_name["I1 responsiveness"].find("skipped")
    assert skipped is not None and "no health probe" in skipped.get("message")
    suite = root.find("testsuite")
    assert suite.get("tests") == "7" and suite.get("failures") == "1" and suite.get("skipped") == "6"


def test_junit_reports_crashes_and_harness_errors_as_errors():
    v = a_verdict(extra_errors=("fault f003 (download on plc-sim) was applied but never restored",))
    crashed = Outcome(Result("I2", "no memory leak", "inconclusive", 0, "judge crashed"), "report", "I2 judge crashed: x")
    v = make_verdict(run_id=v.run_id, scenario=v.scenario, seed=v.seed, started=v.started, ended=v.ended,
                     soak_minutes=v.soak_minutes, gates=v.gates,
                     outcomes=[crashed if o.id == "I2" else o for o in v.results], errors=v.errors)
    root = ET.fromstring(junit_xml(v))
    errors = root.findall(".//testcase/error")
    assert len(errors) == 2
    assert root.find("testsuite").get("errors") == "2"
    assert {e.get("type") for e in errors} == {"JudgeCrash", "HarnessError"}


DEMOTED = {"I2": {"reason": "longest planned tool lifetime 9.7 min after warm-up < LEAK_MIN_WINDOW_S 20 min",
                  "cause": "infeasible"},
           "I3": {"reason": "no PLC here", "cause": "scenario"}}


def a_demoting_verdict(gates=("I1", "I4")):
    v = a_verdict()
    return make_verdict(run_id=v.run_id, scenario=v.scenario, seed=v.seed, started=v.started, ended=v.ended,
                        soak_minutes=v.soak_minutes, gates=gates, outcomes=v.results, demoted=DEMOTED)


def test_verdict_json_carries_the_demoted_gates_and_reads_them_back(tmp_path):
    v = a_demoting_verdict()
    path = tmp_path / "verdict.json"
    write_verdict_json(path, v)
    data = json.loads(path.read_text())
    assert data["demoted"] == DEMOTED and data["gates"] == ["I1", "I4"]
    assert {r["id"]: r["role"] for r in data["results"]}["I2"] == "report"
    assert data["verdict"] == "fail"  # the demotion changes nothing else: I4 still decides
    assert load_verdict(path) == v


def test_a_gate_that_is_also_demoted_is_a_harness_error():
    v = a_demoting_verdict(gates=("I1", "I2", "I4"))
    assert v.verdict == "error" and any("I2 is both a gate and demoted" in e for e in v.errors)


def test_junit_says_why_a_gate_was_demoted_on_its_test_case():
    root = ET.fromstring(junit_xml(a_demoting_verdict()))
    suite_props = {p.get("name"): p.get("value") for p in root.findall("./testsuite/properties/property")}
    assert suite_props["demoted"] == "I2,I3" and suite_props["gates"] == "I1,I4"
    cases = {c.get("name"): c for c in root.findall("./testsuite/testcase")}
    i2 = cases["I2 no memory leak"]
    props = {p.get("name"): p.get("value") for p in i2.findall("./properties/property")}
    assert props == {"role": "report", "demoted": DEMOTED["I2"]["reason"], "demotedCause": "infeasible"}
    assert i2.find("system-out").text.startswith(
        "gate I2 demoted to report (infeasible): longest planned tool lifetime 9.7 min")
    i4 = cases["I4 no data loss"]
    assert "demoted" not in {p.get("name") for p in i4.findall("./properties/property")}
