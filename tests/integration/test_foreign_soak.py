"""A first soak of a tool that is not the reference system: other routes, plain-text logs, no PLC.

`battle run --backend local` with SUT_ADAPTER naming the example tool's adapter (tests/fixtures/othertool):
the stack has no plc-sim, I3 is demoted by the adapter, the probe runs before the soak, and the data gates
judge real evidence. With the tool's planted push bug the run stops at the probe, before any soak.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ADAPTER = "tests.fixtures.othertool.adapter:OtherToolAdapter"
SHORT = {"SUT_ADAPTER": ADAPTER, "WARMUP_S": "15", "BOTS": "3", "SETTLE_MAX_S": "60", "PYTHONPATH": str(REPO)}


def run_battle(run_id, runs, env_extra, cwd, timeout=420):
    env = {**os.environ, **SHORT, **env_extra}
    return subprocess.run([sys.executable, "-m", "battle", "run", "--backend", "local", "--scenario", "s1",
                           "--minutes", "1", "--runs-dir", str(runs), "--run-id", run_id],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.timeout(480)
def test_a_tool_without_a_plc_soaks_green_after_its_probe(tmp_path):
    done = run_battle("foreign-s1", tmp_path / "runs", {}, tmp_path)
    run_dir = tmp_path / "runs" / "foreign-s1"
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert done.returncode == 0, done.stdout + done.stderr
    assert verdict["verdict"] == "pass"
    results = {r["id"]: r for r in verdict["results"]}
    for gate in ("I1", "I4", "I6"):
        assert gate in verdict["gates"], verdict["gates"]
        assert results[gate]["status"] == "pass" and results[gate]["evidence"] > 0, results[gate]
    assert verdict["demoted"]["I3"]["cause"] == "adapter" and "has no PLC" in verdict["demoted"]["I3"]["reason"]
    probe = json.loads((run_dir / "probe.json").read_text())
    assert probe["ok"] and probe["adapter"] == "othertool"
    assert probe["capabilities"] and all(c["status"] in ("ok", "skipped") for c in probe["capabilities"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["probe"]["ok"] and manifest["probe"]["file"] == "probe.json"
    assert not (run_dir / "logs" / "plc-sim.log").exists() and not (run_dir / "plc-readback.jsonl").exists()


@pytest.mark.timeout(300)
def test_a_push_loop_that_loses_writes_stops_the_run_at_the_probe(tmp_path):
    done = run_battle("foreign-bug", tmp_path / "runs", {"OTHERTOOL_BUG": "silent_push_loss"}, tmp_path)
    run_dir = tmp_path / "runs" / "foreign-bug"
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert done.returncode == 2, done.stdout + done.stderr
    assert verdict["verdict"] == "error"
    assert "write: seen in the cloud [point]" in done.stdout and "needed by I4, I6" in done.stdout, done.stdout
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["probe"]["failed"] == ["write: seen in the cloud [point]"]
    assert "soakStart" not in manifest["times"]  # stopped before any soak
    assert not list(run_dir.glob("journal-*.jsonl"))
