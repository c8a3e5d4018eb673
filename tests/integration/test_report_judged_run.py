"""The report against the real judging path: real manifest, real judges, real verdict.json, the real CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from battle.backends.manifest import build_manifest
from battle.common.timefmt import iso_utc
from battle.config import resolve
from battle.gating import plan_and_gates
from battle.report.html import write_run_report

REPO = Path(__file__).resolve().parents[2]
T0 = 1_780_000_000.0


def _lines(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records), encoding="utf-8")


def build_run(root: Path, name: str, soak_s: float, bots: int = 2, ops_per_bot: int = 40,
              faults: int = 1) -> Path:
    """A run directory shaped as the local backend leaves it, for an s2 (download storm) soak."""
    run = root / name
    run.mkdir(parents=True)
    config = resolve({"SCENARIO": "s2", "SOAK_MINUTES": f"{soak_s / 60:g}", "BOTS": str(bots), "SEED": "3"})
    manifest = build_manifest(config, name, "local", T0 - 10, plan_and_gates(config)[1])
    manifest["times"] = {"soakStart": iso_utc(T0), "soakEnd": iso_utc(T0 + soak_s),
                         "snapshotted": iso_utc(T0 + soak_s + 20)}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with open(run / "health.csv", "w", encoding="utf-8") as handle:
        handle.write("utc,epoch,latency_ms,status,ok,phase\n")
        for second in range(int(soak_s) + 20):
            t = T0 + second
            phase = "warmup" if second < 120 else ("judging" if second >= soak_s else "calm")
            handle.write(f"{iso_utc(t)},{t:.3f},{12 + second % 7}.0,200,1,{phase}\n")
    with open(run / "memory.csv", "w", encoding="utf-8") as handle:
        handle.write("utc,epoch,service,lifetime,rss_mb\n")
        for second in range(0, int(soak_s), 5):
            t = T0 + second
            handle.write(f"{iso_utc(t)},{t:.3f},tool,4242,{60 + (second % 3) * 0.1:.2f}\n")
            handle.write(f"{iso_utc(t)},{t:.3f},cloud,4343,{90 + (second % 2) * 0.2:.2f}\n")
    local = {}
    for bot in range(bots):
        records = []
        for op in range(1, ops_per_bot + 1):
            target = bot + bots * op  # partitioned: target % bots == bot
            value = {"result": "Passed" if op % 2 else "Failed", "comments": f"op {op}"}
            at = T0 + 130 + op * (soak_s - 140) / ops_per_bot
            base = {"schema": 1, "mono": at - T0, "bot": bot, "op": op, "action": "mark", "target": target,
                    "value": value, "hot": False, "error": None}
            records.append({**base, "ts": iso_utc(at), "type": "invoke", "status": None, "latencyMs": None})
            records.append({**base, "ts": iso_utc(at + 0.02), "type": "ok", "status": 200, "latencyMs": 20.0})
            local[target] = {"id": target, "result": value["result"], "comments": value["comments"], "version": 2}
        _lines(run / f"journal-bot{bot}.jsonl", records)
    rows = sorted(local.values(), key=lambda r: r["id"])
    (run / "snapshot-local.json").write_text(json.dumps(rows))
    (run / "snapshot-cloud.json").write_text(json.dumps(rows))
    (run / "snapshot-queue.json").write_text(json.dumps({"active": 0, "parked": 0, "parkedRows": []}))
    (run / "settle.json").write_text(json.dumps({"drained": True, "seconds": 2.0, "lastQueue": None,
                                                 "lastError": None, "polls": 2}))
    ledger, events, readbacks = [], [{"source": "tool", "ts": iso_utc(T0 - 5), "event": "server.start", "pid": 1}], []
    for index in range(faults):
        fid = f"f{index + 1:03d}"
        applied = 60 + index * (soak_s - 120) / max(faults, 1)
        restored = applied + 10
        common = {"schema": 1, "fault": fid, "kind": "download", "target": "plc-sim", "params": {}, "error": None}
        ledger += [{**common, "ts": iso_utc(T0 + applied - 1), "step": "planned"},
                   {**common, "ts": iso_utc(T0 + applied), "step": "applied"},
                   {**common, "ts": iso_utc(T0 + restored), "step": "restored"}]
        events += [{"source": "tool", "ts": iso_utc(T0 + applied + 1), "event": "plc.disconnected", "error": "down"},
                   {"source": "tool", "ts": iso_utc(T0 + restored + 2), "event": "plc.connected"},
                   {"source": "tool", "ts": iso_utc(T0 + restored + 3), "event": "plc.restore", "written": 288,
                    "failed": 0}]
        readbacks.append({"schema": 1, "fault": fid, "returnedAt": iso_utc(T0 + restored), "flagsOkAt": iso_utc(T0 + restored + 4),
                          "mismatched": []})
    _lines(run / "injected.jsonl", ledger)
    plan = [{"id": f"f{i + 1:03d}", "kind": "download", "target": "plc-sim", "at": 60.0, "duration": 10.0,
             "params": {}} for i in range(faults)]
    (run / "plan.json").write_text(json.dumps({"schema": 1, "faults": plan}))
    _lines(run / "events.jsonl", events)
    _lines(run / "plc-readback.jsonl", readbacks)
    (run / "mutations.jsonl").write_text("")
    return run


def _battle(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "battle", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)


def test_judge_writes_a_report_that_agrees_with_the_verdict(tmp_path):
    run = build_run(tmp_path, "s2-judged", soak_s=300)
    judged = _battle("judge", str(run))
    assert judged.returncode in (0, 1, 3), judged.stderr
    verdict = json.loads((run / "verdict.json").read_text())
    text = (run / "report.html").read_text()
    assert f'class="banner v-{verdict["verdict"]}"' in text
    assert f'exit code {verdict["exitCode"]}' in text
    assert verdict["results"], "the judges produced results"
    for result in verdict["results"]:
        row = re.search(rf'<tr class="row-(\w+) gate-{result["id"].lower()}"><td>{result["id"]}</td>', text)
        assert row, f"no row for {result['id']}"
        assert row.group(1) == ("error" if result.get("error") else result["status"])
    for kind, counts in verdict["coverage"].items():
        cells = "".join(f"<td>{counts[s]}</td>" for s in ("planned", "applied", "restored", "failed"))
        assert f"<td>{kind}</td>{cells}" in text
    assert 'data-fault="f001"' in text
    i3 = next(r for r in verdict["results"] if r["id"] == "I3")
    assert i3["status"] == "pass", f"the synthetic download was restored: {i3['reason']}"


def test_cli_report_and_morning(tmp_path):
    first = build_run(tmp_path / "runs", "a", soak_s=200)
    second = build_run(tmp_path / "runs", "b", soak_s=200)
    assert _battle("judge", str(first)).returncode in (0, 1, 3)
    (second / "verdict.json").write_text("{ damaged")
    reported = _battle("report", str(second))
    assert reported.returncode == 0, reported.stderr
    assert "VERDICT UNREADABLE" in (second / "report.html").read_text()
    out = tmp_path / "morning" / "morning.html"
    merged = _battle("morning", str(first), str(second), "--out", str(out))
    assert merged.returncode == 0, merged.stderr
    summary = json.loads(out.with_suffix(".json").read_text())
    assert [r["run"] for r in summary["runs"]] == ["b", "a"]
    assert '<a href="../runs/a/report.html">a</a>' in out.read_text()


def test_an_eight_hour_run_reports_quickly_and_stays_small(tmp_path):
    run = build_run(tmp_path, "s2-8h", soak_s=8 * 3600, bots=8, ops_per_bot=2500, faults=16)
    started = time.monotonic()
    path = write_run_report(run)
    took = time.monotonic() - started
    size = path.stat().st_size
    print(f"8 h report: {took:.2f} s, {size / 1024:.0f} KiB")
    assert took < 30.0
    assert size < 600_000, "charts are sized by pixels, not by the number of samples"
    text = path.read_text()
    assert text.count('class="fault-window') == 2 * 16, "every window on both charts"
