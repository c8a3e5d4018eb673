"""Artifacts written by the real writers gather into the Evidence the judges expect."""

import json

import pytest

from battle.chaos.ledger import Ledger
from battle.common.timefmt import iso_utc
from battle.crew.journal import OpJournal
from battle.judging import judge_run_dir
from battle.observer.gather import GatherError, gather

T0 = 1_795_000_000.0
LIMITS = {"WARMUP_S": 0, "P95_MS": 500, "P99_MS": 2000, "MAX_GAP_S": 10, "RESTART_GRACE_S": 20,
          "LEAK_MB_PER_H": 5, "LEAK_MIN_WINDOW_S": 300, "RESTORE_MAX_S": 60, "FLAP_BUDGET": 2,
          "SETTLE_MAX_S": 120, "PROPAGATION_MAX_S": 60}


def write_run(run_dir, local_result_for_7="Failed"):
    run_dir.mkdir()
    manifest = {"schema": 1, "runId": "r1", "scenario": "s1", "seed": 1, "minutes": 1.0,
                "gates": ["I4", "I6"], "limits": LIMITS, "knobs": {"WARMUP_S": 0},
                "startedAt": iso_utc(T0), "times": {"soakEnd": iso_utc(T0 + 60)}}
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    (run_dir / "plan.json").write_text(json.dumps({"schema": 1, "faults": []}))
    clock = {"t": T0 + 1}
    journal = OpJournal(run_dir / "journal-bot1.jsonl", 1, "io", wall=lambda: clock["t"], mono=lambda: clock["t"])
    for value in ("Passed", "Failed"):
        op = journal.invoke("mark", 7, {"result": value, "comments": ""}, hot=False)
        journal.outcome(op, "ok", "mark", 7, {"result": value, "comments": ""}, False, 200, 3.0)
    journal.close()
    with open(run_dir / "journal-bot1.jsonl", "a") as handle:
        handle.write('{"schema": 1, "broken\n')
    ledger = Ledger(run_dir / "injected.jsonl")
    fault = {"id": "f001", "kind": "download", "target": "plc-sim", "params": {}}
    for step in ("planned", "applied", "restored"):
        ledger.record(fault, step)
    ledger.close()
    rows = [{"id": 7, "result": local_result_for_7, "comments": ""}]
    (run_dir / "snapshot-local.json").write_text(json.dumps(rows))
    (run_dir / "snapshot-cloud.json").write_text(json.dumps([{"id": 7, "result": "Failed", "comments": ""}]))
    (run_dir / "snapshot-queue.json").write_text(json.dumps({"active": 0, "parked": 0, "parkedRows": []}))
    (run_dir / "settle.json").write_text(json.dumps({"drained": True, "seconds": 2.0}))
    (run_dir / "health.csv").write_text("utc,epoch,latency_ms,status,ok,phase\n")
    (run_dir / "memory.csv").write_text("utc,epoch,service,lifetime,rss_mb\n")
    (run_dir / "events.jsonl").write_text(json.dumps({"source": "tool", "ts": "2026-11-18T11:05:00.000Z",
                                                      "event": "server.start", "pid": 1}) + "\n")


def test_gather_reads_every_artifact_and_reports_damage(tmp_path):
    write_run(tmp_path / "run")
    evidence = gather(tmp_path / "run")
    digest = evidence.journal  # the journal's ops, folded: invoke/ok Passed, then invoke/ok Failed
    assert digest.ops == 4 and [(b.bot, b.invokes, b.ok) for b in digest.bots] == [(1, 2, 2)]
    assert digest.targets["io"].judged[7].write == ("Failed", "") and digest.targets["io"].judged[7].op == 2
    assert evidence.faults[0].applied_at and evidence.faults[0].restored_at
    assert evidence.local[7]["result"] == "Failed" and evidence.cloud[7]["result"] == "Failed"
    assert evidence.settle_s == 2.0 and evidence.queue.active == 0
    assert any("journal-bot1.jsonl:5" in p for p in evidence.problems)


def test_judge_recomputes_from_artifacts(tmp_path):
    write_run(tmp_path / "good")
    assert judge_run_dir(tmp_path / "good").verdict == "pass"
    assert (tmp_path / "good" / "verdict.json").exists() and (tmp_path / "good" / "junit.xml").exists()
    write_run(tmp_path / "bad", local_result_for_7="Passed")  # the silent flip: journal Failed, local Passed
    verdict = judge_run_dir(tmp_path / "bad")
    assert verdict.verdict == "fail" and verdict.exit_code == 1
    i4 = next(o for o in verdict.results if o.id == "I4")
    assert i4.status == "fail" and "7" in json.dumps(i4.result.details)


def test_judge_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(GatherError, match="manifest"):
        judge_run_dir(tmp_path)


def test_gather_reads_the_intent_step_without_a_problem(tmp_path):
    # chaos journals the restore intent before applying; gather must neither choke on it nor call
    # the fault applied because of it (a harness killed mid-apply leaves planned + intent only).
    from battle.observer.gather import load_faults

    path = tmp_path / "injected.jsonl"
    ledger = Ledger(path)
    done = {"id": "f001", "kind": "download", "target": "plc-sim", "params": {}, "duration": 5}
    cut_short = {"id": "f002", "kind": "power", "target": "tool", "params": {}, "duration": 3}
    for step in ("planned", "intent", "applied", "restored"):
        ledger.record(done, step)
    for step in ("planned", "intent"):
        ledger.record(cut_short, step)
    ledger.close()
    problems: list[str] = []
    faults = {f.fault: f for f in load_faults(path, problems)}
    assert problems == []
    assert faults["f001"].applied_at and faults["f001"].restored_at and faults["f001"].duration == 5.0
    assert faults["f002"].planned_at and faults["f002"].applied_at is None and faults["f002"].failed is None
