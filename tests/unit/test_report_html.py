"""The run report built from a small hand-written run directory."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from battle.common.timefmt import iso_utc
from battle.report.errors import ReportError
from battle.report.html import write_run_report

T0 = 1_780_000_000.0  # soak start
EVIL = "<script>alert('x')</script>"


def _jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _ledger(fault: str, kind: str, target: str, step: str, at: float, error: str | None = None) -> dict:
    return {"schema": 1, "ts": iso_utc(T0 + at), "fault": fault, "kind": kind, "target": target, "step": step,
            "params": {}, "error": error}


def _op(bot: int, op: int, kind: str, target: int, at: float, latency: float | None = None) -> dict:
    return {"schema": 1, "ts": iso_utc(T0 + at), "mono": at, "bot": bot, "op": op, "type": kind, "action": "mark",
            "target": target, "value": {"result": "Passed", "comments": ""}, "hot": False,
            "status": 200 if kind == "ok" else None, "latencyMs": latency, "error": None}


RESULTS = [
    {"id": "I1", "name": "responsiveness", "status": "pass", "evidence": 300, "reason": "p95 21 ms", "details": {},
     "role": "gate"},
    {"id": "I3", "name": "restore after download", "status": "fail", "evidence": 1,
     "reason": "flags not restored after f001", "details": {"offending": list(range(1000, 1030))}, "role": "gate"},
    {"id": "I4", "name": "no data loss", "status": "inconclusive", "evidence": 0, "reason": "nothing judged",
     "details": {}, "role": "gate"},
    {"id": "I7", "name": "cloud to field propagation", "status": "pass", "evidence": 3, "reason": "all seen",
     "details": {}, "role": "report"},
]


def make_run(root: Path, *, verdict: object = "default") -> Path:
    run = root / "run-1"
    run.mkdir()
    manifest = {"runId": "run-1", "scenario": "s2", "seed": 7, "minutes": 5.0, "backend": "local",
                "knobs": {"SOAK_MINUTES": 5.0, "P95_MS": 500, "P99_MS": 2000, "DOWNLOAD_STORM": [1.0, 2.0],
                          "CLOUD_FLAP": None},
                "knobSources": {"SOAK_MINUTES": "env", "P95_MS": "default", "P99_MS": "default",
                                "DOWNLOAD_STORM": "scenario"},
                "gates": ["I1", "I3", "I4", "I5"], "limits": {}, "startedAt": iso_utc(T0 - 5),
                "times": {"soakStart": iso_utc(T0), "soakEnd": iso_utc(T0 + 300), "judged": iso_utc(T0 + 320)},
                "gitCommit": "abc123", "images": {"tool": "sha256:1"}, "notes": ["no ack from bot3 within 30 s"],
                "errors": ["chaos calm timed out"]}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (run / "plan.json").write_text(json.dumps({"schema": 1, "scenario": "s2", "seed": 7, "soakSeconds": 300.0,
                                               "faults": [{"id": "f001"}, {"id": "f002"}, {"id": "f003"}]}))
    rows = ["utc,epoch,latency_ms,status,ok,phase"]
    for second in range(300):
        t = T0 + second
        phase = "warmup" if second < 30 else ("fault" if 95 <= second < 110 else "calm")
        if 100 <= second < 105:  # tool down during the power cut
            rows.append(f"{iso_utc(t)},{t:.3f},,,0,{phase}")
        else:
            latency = 900.0 if second == 150 else 20.0
            rows.append(f"{iso_utc(t)},{t:.3f},{latency},200,1,{phase}")
    (run / "health.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    mem = ["utc,epoch,service,lifetime,rss_mb"]
    for second in range(0, 300, 5):
        t = T0 + second
        if second < 95:
            mem.append(f"{iso_utc(t)},{t:.3f},tool,pid-1,{50 + second / 10:.2f}")
        elif second >= 110:
            mem.append(f"{iso_utc(t)},{t:.3f},tool,pid-2,{45 + second / 100:.2f}")
        mem.append(f"{iso_utc(t)},{t:.3f},cloud,pid-9,80.0")
    (run / "memory.csv").write_text("\n".join(mem) + "\n", encoding="utf-8")
    _jsonl(run / "injected.jsonl", [
        _ledger("f001", "download", "plc-sim", "planned", 0), _ledger("f002", "power", "tool", "planned", 0),
        _ledger("f003", "cloudcut", "cloud", "planned", 0),
        _ledger("f001", "download", "plc-sim", "applied", 40), _ledger("f001", "download", "plc-sim", "restored", 50),
        _ledger("f002", "power", "tool", "applied", 95), _ledger("f002", "power", "tool", "restored", 110),
        _ledger("f003", "cloudcut", "cloud", "applied", 200),
        _ledger("f003", "cloudcut", "cloud", "failed", 230, "reconnect refused"),
    ])
    _jsonl(run / "journal-bot0.jsonl", [
        _op(0, 1, "invoke", 10, 1), _op(0, 1, "ok", 10, 1.1, 12.0), _op(0, 2, "invoke", 12, 2),
        _op(0, 2, "fail", 12, 2.1, 30.0), _op(0, 3, "invoke", 14, 3), _op(0, 3, "info", 14, 8, 5000.0),
        _op(0, 4, "invoke", 16, 9),  # cut off: no outcome
    ])
    _jsonl(run / "journal-bot1.jsonl", [_op(1, 1, "invoke", 11, 1), _op(1, 1, "ok", 11, 1.2, 40.0)])
    _jsonl(run / "events.jsonl", [
        {"source": "tool", "ts": iso_utc(T0 + 1), "event": "server.start", "pid": 1},
        {"source": "tool", "ts": iso_utc(T0 + 111), "event": "server.start", "pid": 2},
        {"source": "tool", "ts": iso_utc(T0 + 52), "event": "plc.restore", "written": 0},
        {"source": "docker", "ts": iso_utc(T0 + 95), "service": "tool", "action": "die"},
        {"source": "docker", "ts": iso_utc(T0 + 110), "service": "tool", "action": "start"},
    ])
    (run / "settle.json").write_text(json.dumps({"drained": True, "seconds": 4.5}))
    (run / "snapshot-queue.json").write_text(json.dumps({"active": 0, "parked": 2, "parkedRows": []}))
    if verdict == "default":
        verdict = {"schema": 1, "runId": "run-1", "scenario": "s2", "seed": 7, "verdict": "fail", "exitCode": 1,
                   "gates": ["I1", "I3", "I4", "I5"], "results": RESULTS,
                   "coverage": {"download": {"planned": 1, "applied": 1, "restored": 1, "failed": 0},
                                "cloudcut": {"planned": 1, "applied": 1, "restored": 0, "failed": 1},
                                "power": {"planned": 1, "applied": 1, "restored": 1, "failed": 0}},
                   "errors": [], "times": {}}
    if isinstance(verdict, str):
        (run / "verdict.json").write_text(verdict, encoding="utf-8")
    elif verdict is not None:
        (run / "verdict.json").write_text(json.dumps(verdict), encoding="utf-8")
    return run


def report_of(run: Path) -> str:
    path = write_run_report(run)
    assert path == run / "report.html"
    return path.read_text(encoding="utf-8")


def section_of(text: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', text, re.S)
    assert match, f"no section {anchor}"
    return match.group(1)


def row_of(text: str, cls: str) -> str:
    match = re.search(rf'<tr class="[^"]*\b{re.escape(cls)}\b[^"]*">(.*?)</tr>', text, re.S)
    assert match, f"no row {cls}"
    return match.group(1)


def cells(row: str) -> list[str]:
    return re.findall(r"<td>(.*?)</td>", row, re.S)


class _Balance(HTMLParser):
    VOID = {"meta", "br", "line", "rect", "polyline", "i", "hr", "img", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, name, attrs):
        if name not in self.VOID or name == "i":
            self.stack.append(name)

    def handle_endtag(self, name):
        if name in ("line", "rect", "polyline") and (not self.stack or self.stack[-1] != name):
            return  # svg shapes without children close themselves in their own end tag
        if not self.stack or self.stack[-1] != name:
            self.errors.append(f"</{name}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


def test_banner_shows_verdict_and_exit_code(tmp_path):
    text = report_of(make_run(tmp_path))
    banner = re.search(r'<div class="banner v-fail" id="verdict">(.*?)</div></div>', text, re.S)
    assert banner, "the verdict banner is missing or not coloured as a failure"
    assert "FAIL" in banner.group(1)
    assert "exit code 1" in banner.group(1)
    assert "gates: 1 fail, 1 inconclusive, 1 pass" in banner.group(1)


def test_every_result_and_unjudged_gate_has_a_row(tmp_path):
    text = section_of(report_of(make_run(tmp_path)), "gates")
    i3 = cells(row_of(text, "gate-i3"))
    assert i3[:5] == ["I3", "restore after download", "gate", '<span class="status status-fail">fail</span>', "1"]
    assert i3[5] == "flags not restored after f001"
    assert "1000, 1001" in i3[6] and "(+20 more)" in i3[6], "offending ids must be shown, long lists cut"
    assert "row-inconclusive" in re.search(r'<tr class="([^"]*gate-i4[^"]*)"', text).group(1)
    assert cells(row_of(text, "gate-i7"))[2] == "report"
    i5 = cells(row_of(text, "gate-i5"))  # I5 gates but the verdict has no result for it
    assert "missing" in i5[3] and "no result recorded" in i5[5]
    # gates first, then reported invariants
    assert text.index("gate-i5") < text.index("gate-i7")


def test_coverage_rows_flag_unrestored_faults(tmp_path):
    text = section_of(report_of(make_run(tmp_path)), "coverage")
    assert cells(row_of(text, "coverage-download")) == ["download", "1", "1", "1", "0"]
    assert cells(row_of(text, "coverage-cloudcut")) == ["cloudcut", "1", "1", "0", "1"]
    assert "row-warn" in re.search(r'<tr class="([^"]*coverage-cloudcut[^"]*)"', text).group(1)
    assert "row-warn" not in re.search(r'<tr class="([^"]*coverage-download[^"]*)"', text).group(1)
    assert "reconnect refused" in text, "the ledger's error must be listed with its fault"


def _rects(svg: str) -> dict[str, dict[str, str]]:
    found = {}
    for match in re.finditer(r"<rect ([^>]*data-fault[^>]*)>", svg):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', match.group(1)))
        found[attrs["data-fault"]] = attrs
    return found


def test_timeline_shades_fault_windows_where_they_happened(tmp_path):
    text = section_of(report_of(make_run(tmp_path)), "health")
    svg = re.search(r'<svg class="chart timeline".*?</svg>', text, re.S).group(0)
    rects = _rects(svg)
    assert set(rects) == {"f001", "f002", "f003"}
    assert "kind-download" in rects["f001"]["class"] and "kind-power" in rects["f002"]["class"]
    assert "unrestored" in rects["f003"]["class"] and "unrestored" not in rects["f002"]["class"]
    x1, w1 = float(rects["f001"]["x"]), float(rects["f001"]["width"])
    x2, w2 = float(rects["f002"]["x"]), float(rects["f002"]["width"])
    # the chart spans soak start .. judged (320 s): 10 s and 15 s windows at 40 s and 95 s
    plot = w1 / 10 * 320
    assert x2 - x1 == pytest.approx(55 / 320 * plot, rel=0.02)
    assert w2 == pytest.approx(15 / 320 * plot, rel=0.02)
    failed = re.findall(r'<rect class="failed-probe" x="([\d.]+)"[^>]*><title>(\d+) failed', svg)
    assert sum(int(n) for _, n in failed) == 5
    assert all(x2 <= float(x) <= x2 + w2 for x, _ in failed), "failed probes fall inside the power cut"
    assert 'class="threshold"' in svg and "P95_MS" in svg


def test_probe_phases_and_memory_lifetimes(tmp_path):
    text = report_of(make_run(tmp_path))
    health = section_of(text, "health")
    assert cells(row_of(health, "phase-fault"))[:3] == ["fault", "15", "5"]
    assert "300 probes, 5 failed" in health
    memory = section_of(text, "memory")
    assert len(re.findall(r'<polyline class="memory-line service-tool"', memory)) == 2
    assert len(re.findall(r'<polyline class="memory-line service-cloud"', memory)) == 1
    tool_rows = re.findall(r"<tr><td>tool</td><td>(pid-\d)</td><td>(\d+)</td>", memory)
    assert tool_rows == [("pid-1", "19"), ("pid-2", "38")]
    assert "<td>360.00</td>" in memory, "pid-1 grows 0.1 MB/s = 360 MB/h"


def test_ops_summary_per_bot(tmp_path):
    text = section_of(report_of(make_run(tmp_path)), "ops")
    assert cells(row_of(text, "bot-0")) == ["bot0", "4", "1", "1", "1", "1", "0", "30.0", "4503.0"]
    assert cells(row_of(text, "bot-1"))[:4] == ["bot1", "1", "1", "0"]
    total = cells(row_of(text, "bot-total"))
    assert total[1:6] == ["5", "2", "1", "1", "1"]


def test_event_counts_by_name(tmp_path):
    text = section_of(report_of(make_run(tmp_path)), "events")
    # events.jsonl holds the reference system's names (a run dir from before the vocabulary): shown as battle's
    assert "<tr><td>tool_started</td><td>2</td><td>+1.0 s</td><td>+111.0 s</td></tr>" in text
    assert "<tr><td>plc_restored</td><td>1</td>" in text
    assert "<tr><td>tool</td><td>die</td><td>1</td></tr>" in text


def test_knobs_with_their_sources_and_notes(tmp_path):
    text = report_of(make_run(tmp_path))
    knobs = section_of(text, "knobs")
    assert "<tr class=\"source-env\"><td>SOAK_MINUTES</td><td>5</td><td>env</td></tr>" in knobs
    assert "<td>DOWNLOAD_STORM</td><td>1,2</td><td>scenario</td>" in knobs, "ranges read as in the environment"
    assert "<td>CLOUD_FLAP</td><td>(off)</td><td>?</td>" in knobs, "a knob without a source says so"
    assert "no ack from bot3 within 30 s" in section_of(text, "problems")
    run = section_of(text, "run")
    assert "drained after 4.5 s" in run and "active 0, parked 2" in run and "3 faults planned" in run


def test_report_is_self_contained_and_well_formed(tmp_path):
    text = report_of(make_run(tmp_path))
    assert "<script" not in text.lower()
    assert not re.search(r"(src|href)=\"(?!#)", text), "nothing may be loaded from anywhere"
    assert "http:" not in text and "https:" not in text
    parser = _Balance()
    parser.feed(text)
    assert parser.errors == [] and parser.stack == []


def test_malicious_strings_are_escaped_everywhere(tmp_path):
    run = make_run(tmp_path, verdict={
        "schema": 1, "runId": EVIL, "scenario": EVIL, "seed": 1, "verdict": "fail", "exitCode": 1, "gates": ["I4"],
        "results": [{"id": "I4", "name": EVIL, "status": "fail", "evidence": 1, "reason": EVIL,
                     "details": {"ioIds": [EVIL]}}],
        "coverage": {EVIL: {"planned": 1}}, "errors": [EVIL], "times": {}})
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["knobs"][EVIL] = EVIL
    manifest["runId"] = EVIL
    (run / "manifest.json").write_text(json.dumps(manifest))
    with open(run / "events.jsonl", "a") as handle:
        handle.write(json.dumps({"source": "tool", "ts": iso_utc(T0), "event": EVIL}) + "\n")
    with open(run / "injected.jsonl", "a") as handle:
        handle.write(json.dumps(_ledger("f9\"><b>", EVIL, EVIL, "applied", 5)) + "\n")
    text = report_of(run)
    assert "<script" not in text.lower()
    assert "<b>" not in text
    assert text.count("&lt;script&gt;") >= 8
    parser = _Balance()
    parser.feed(text)
    assert parser.errors == []


def test_corrupt_verdict_is_shown_as_an_error(tmp_path):
    text = report_of(make_run(tmp_path, verdict='{"verdict": "pass", "results": ['))
    assert 'class="banner v-unreadable"' in text
    assert "VERDICT UNREADABLE" in text and "exit code unknown" in text
    assert "verdict.json is damaged" in text and "Expecting" in text, "the JSON error itself must be shown"
    assert "invariant results: not recorded" in section_of(text, "gates")
    # the rest of the run is still reported
    assert "coverage-cloudcut" in section_of(text, "coverage"), "coverage falls back to the ledger"
    assert 'data-fault="f002"' in text


@pytest.mark.parametrize("raw, expected", [
    ("[1, 2]", "is not a JSON object"),
    ('{"verdict": "great"}', "verdict &#x27;great&#x27; is not one of"),
])
def test_verdict_of_the_wrong_shape_is_an_error(tmp_path, raw, expected):
    text = report_of(make_run(tmp_path, verdict=raw))
    assert "VERDICT UNREADABLE" in text and expected in text


def test_damaged_parts_of_a_verdict_are_noted(tmp_path):
    text = report_of(make_run(tmp_path, verdict={
        "verdict": "pass", "exitCode": 3, "gates": ["I1"],
        "results": [RESULTS[0], "garbage", {"id": "I2", "status": "maybe", "evidence": "lots"}]}))
    problems = section_of(text, "problems")
    assert "exitCode 3 does not match verdict &#x27;pass&#x27;" in problems
    assert "result #2 is not an invariant result" in problems
    assert "I2: status &#x27;maybe&#x27;" in problems and "I2: evidence" in problems
    assert "gate-i1" in section_of(text, "gates")


def test_missing_artifacts_are_said_not_recorded(tmp_path):
    run = tmp_path / "bare"
    run.mkdir()
    text = report_of(run)
    assert "NO VERDICT" in text and "verdict.json not recorded" in text
    for phrase in ("health probes: not recorded", "memory samples: not recorded", "op journals: not recorded",
                   "events: not recorded", "coverage: not recorded", "knobs: not recorded"):
        assert phrase in text, phrase
    assert "<li>manifest.json</li>" in section_of(text, "problems")
    assert "run bare" in text, "the directory name stands in for the run id"


def test_damaged_lines_are_reported_and_the_rest_is_used(tmp_path):
    run = make_run(tmp_path)
    with open(run / "journal-bot1.jsonl", "a") as handle:
        handle.write('{"schema": 1, "type": "ok", "bo')
    (run / "settle.json").write_text("{nope")
    text = report_of(run)
    problems = section_of(text, "problems")
    assert "journal-bot1.jsonl:3: not JSON" in problems
    assert cells(row_of(section_of(text, "ops"), "bot-1"))[:3] == ["bot1", "1", "1"]
    assert "settle.json damaged" in section_of(text, "run")


def test_empty_health_file_and_missing_manifest(tmp_path):
    run = make_run(tmp_path)
    (run / "health.csv").write_text("utc,epoch,latency_ms,status,ok,phase\n")
    (run / "manifest.json").unlink()
    text = report_of(run)
    assert "health.csv has no readable rows" in text
    assert "knobs: not recorded (manifest.json not recorded)" in text
    # windows still drawn on the memory chart, timed from the first sample
    assert 'data-fault="f001"' in section_of(text, "memory")


def test_rewriting_replaces_the_report(tmp_path):
    run = make_run(tmp_path)
    first = report_of(run)
    (run / "verdict.json").write_text(json.dumps({"verdict": "pass", "exitCode": 0, "gates": [], "results": []}))
    second = report_of(run)
    assert 'class="banner v-fail"' in first
    assert 'class="banner v-pass"' in second and 'class="banner v-fail"' not in second
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == [], "no temporary file left behind"


def test_crashed_judge_and_evidence_free_gate_pass(tmp_path):
    results = [dict(RESULTS[0], evidence=0),
               {"id": "I4", "name": "no data loss", "status": "inconclusive", "evidence": 0, "reason": "",
                "details": {"traceback": "Traceback (most recent call last) ..."}, "role": "gate",
                "error": "KeyError: 'WIPE_LOSS_WINDOW_S'"}]
    text = report_of(make_run(tmp_path, verdict={"verdict": "error", "exitCode": 2, "gates": ["I1", "I4"],
                                                 "results": results, "errors": ["KeyError: 'WIPE_LOSS_WINDOW_S'"]}))
    gates = section_of(text, "gates")
    i4 = cells(row_of(gates, "gate-i4"))
    assert "status-error" in i4[3] and i4[5].startswith("judge crashed: KeyError")
    assert "Traceback" not in i4[6], "tracebacks belong in junit.xml, not in the table"
    assert "counts as inconclusive" in cells(row_of(gates, "gate-i1"))[4]
    assert "gates: 1 error, 1 pass" in text
    problems = section_of(text, "problems")
    assert "chaos calm timed out" in problems, "manifest errors the verdict lacks are shown"


def test_not_a_directory_is_refused(tmp_path):
    with pytest.raises(ReportError, match="not a directory"):
        write_run_report(tmp_path / "nope")


def test_the_report_lists_demoted_gates_with_their_reasons(tmp_path):
    results = [*RESULTS, {"id": "I2", "name": "no memory leak", "status": "inconclusive", "evidence": 0,
                          "reason": "memory window too short", "details": {}, "role": "report"}]
    verdict = {"schema": 1, "runId": "run-1", "scenario": "s2", "seed": 7, "verdict": "fail", "exitCode": 1,
               "gates": ["I1", "I3", "I4"], "results": results, "errors": [],
               "demoted": {"I2": {"reason": "longest planned tool lifetime 3 min after warm-up < LEAK_MIN_WINDOW_S "
                                            "20 min", "cause": "infeasible"},
                           "I7": {"reason": EVIL, "cause": "scenario"}}}
    text = report_of(make_run(tmp_path, verdict=verdict))
    gates = section_of(text, "gates")
    assert cells(row_of(gates, "gate-i2"))[2] == "report (demoted)"
    assert "demoted to report before the run" in gates
    assert "I2 (infeasible): longest planned tool lifetime 3 min after warm-up &lt; LEAK_MIN_WINDOW_S 20 min" in gates
    assert "I7 (scenario): &lt;script&gt;" in gates and EVIL not in text
    assert "demoted to report: I2 I7" in text  # the banner says it too
