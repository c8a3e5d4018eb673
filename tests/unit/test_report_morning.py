"""The morning report merges several runs' verdicts, worst first."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from battle.report.errors import ReportError
from battle.report.html import write_run_report
from battle.report.morning import write_morning_report

CLOCK = 1_780_000_000.0


def _result(rid: str, status: str, role: str = "gate", evidence: int = 5, reason: str = "ok") -> dict:
    return {"id": rid, "name": f"name of {rid}", "status": status, "evidence": evidence, "reason": reason,
            "details": {}, "role": role, "error": None}


def make_run(root: Path, name: str, scenario: str, seed: int, verdict: object) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"runId": name, "scenario": scenario, "seed": seed}))
    if isinstance(verdict, dict):
        verdict = json.dumps({"schema": 1, "runId": name, "scenario": scenario, "seed": seed, **verdict})
    if verdict is not None:
        (run / "verdict.json").write_text(str(verdict))
    return run


def three_runs(root: Path) -> list[Path]:
    passing = make_run(root, "r-pass", "s1", 1, {
        "verdict": "pass", "exitCode": 0, "gates": ["I1", "I4"],
        "results": [_result("I1", "pass"), _result("I3", "pass", "report"), _result("I4", "pass")]})
    failing = make_run(root, "r-fail", "s2", 1, {
        "verdict": "fail", "exitCode": 1, "gates": ["I3", "I4"],
        "results": [_result("I1", "pass", "report"), _result("I3", "fail", reason="flags not restored after f002"),
                    _result("I4", "pass")]})
    damaged = make_run(root, "r-bad", "s3", 2, '{"verdict": "pa')
    return [passing, failing, damaged]


def test_three_runs_merge_worst_first(tmp_path):
    runs = three_runs(tmp_path / "runs")
    out = write_morning_report(runs, tmp_path / "out", clock=lambda: CLOCK)
    assert out == tmp_path / "out" / "morning.html"
    summary = json.loads((tmp_path / "out" / "morning.json").read_text())
    assert summary["schema"] == 1 and summary["generatedAt"] == "2026-05-28T20:26:40.000Z"
    assert [r["run"] for r in summary["runs"]] == ["r-bad", "r-fail", "r-pass"]
    bad, failed, passed = summary["runs"]
    assert (bad["verdict"], bad["exitCode"], bad["scenario"], bad["seed"]) == ("unreadable", 2, "s3", 2)
    assert "verdict.json is damaged" in bad["reason"]
    assert failed["failedGates"] == ["I3"] and failed["reason"] == "I3: flags not restored after f002"
    assert passed["failedGates"] == [] and passed["exitCode"] == 0
    assert summary["overall"] == "unreadable" and summary["exitCode"] == 2
    assert summary["totals"] == {"unreadable": 1, "fail": 1, "pass": 1}
    by_id = {e["id"]: e for e in summary["invariants"]}
    assert [e["id"] for e in summary["invariants"]] == ["I3", "I1", "I4"]
    assert (by_id["I3"]["pass"], by_id["I3"]["fail"], by_id["I3"]["gateNotPassed"]) == (1, 1, 1)
    assert by_id["I3"]["failedRuns"] == ["r-fail"]
    assert (by_id["I4"]["pass"], by_id["I4"]["gateRuns"]) == (2, 2)
    assert {(c["scenario"], c["seed"]): c["verdict"] for c in summary["matrix"]} == {
        ("s1", 1): "pass", ("s2", 1): "fail", ("s3", 2): "unreadable"}


def test_html_lists_runs_in_the_same_order_and_links_reports(tmp_path):
    runs = three_runs(tmp_path / "runs")
    write_run_report(runs[1])
    text = write_morning_report(runs, tmp_path / "out" / "morning.html").read_text()
    rows = re.findall(r'<tr class="run-([\w-]+) row-([\w-]+)">', text)
    assert rows == [("r-bad", "unreadable"), ("r-fail", "fail"), ("r-pass", "pass")]
    assert '<a href="../runs/r-fail/report.html">r-fail</a>' in text
    assert "r-pass/report.html" not in text, "no link to a report that was never written"
    assert 'class="banner v-unreadable"' in text and "exit code 2" in text
    assert re.search(r'<tr class="inv-i3 row-fail"><td>I3</td>', text)
    assert (tmp_path / "out" / "morning.json").exists(), "the JSON goes beside an .html out path"


def test_ties_break_on_verdict_then_failed_gate_count(tmp_path):
    root = tmp_path / "runs"
    inconclusive = make_run(root, "a-inc", "s1", 1, {
        "verdict": "inconclusive", "exitCode": 3, "gates": ["I4"], "results": [_result("I4", "inconclusive", evidence=0)]})
    one = make_run(root, "b-one", "s1", 2, {
        "verdict": "fail", "exitCode": 1, "gates": ["I4", "I5"], "results": [_result("I4", "fail"), _result("I5", "pass")]})
    two = make_run(root, "c-two", "s1", 3, {
        "verdict": "fail", "exitCode": 1, "gates": ["I4", "I5"], "results": [_result("I4", "fail"), _result("I5", "fail")]})
    missing = make_run(root, "d-none", "s4", 1, None)
    write_morning_report([inconclusive, one, two, missing], tmp_path / "out", clock=lambda: CLOCK)
    summary = json.loads((tmp_path / "out" / "morning.json").read_text())
    assert [r["run"] for r in summary["runs"]] == ["d-none", "c-two", "b-one", "a-inc"]
    assert summary["runs"][0]["verdict"] == "missing" and summary["runs"][0]["scenario"] == "s4"
    assert [e["id"] for e in summary["invariants"]] == ["I4", "I5"]


def test_malicious_names_are_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    run = make_run(tmp_path, "r1", evil, 1, {"verdict": "fail", "exitCode": 1, "gates": ["I4"],
                                             "results": [_result("I4", "fail", reason=evil)]})
    text = write_morning_report([run], tmp_path / "out").read_text()
    assert "<script" not in text and "&lt;script&gt;" in text


def test_nothing_to_merge_is_refused(tmp_path):
    with pytest.raises(ReportError, match="no run directories"):
        write_morning_report([], tmp_path / "out")
    with pytest.raises(ReportError, match="not run directories"):
        write_morning_report([tmp_path / "absent"], tmp_path / "out")
