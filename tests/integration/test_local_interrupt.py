"""SIGTERM (what a CI runner sends on cancel or timeout) to `battle run --backend local` in the middle of
a fault: the fault is restored and journaled, every child process is gone, and an error verdict is
written, all within a bounded time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from local_runs import ledger_steps, wait_for

REPO = Path(__file__).resolve().parents[2]
BOUND_S = 60.0  # calm + stop the stack + verdict


@pytest.mark.parametrize(("kind", "knobs"), [
    ("pause", {"PAUSE_STORM": "0.2,0.3", "PAUSE_S": "40"}),
    ("cloudcut", {"CLOUD_FLAP": "0.5,1"}),
])
def test_sigterm_mid_fault_restores_stops_everything_and_writes_an_error_verdict(tmp_path, kind, knobs):
    runs = tmp_path / "runs"
    env = {**os.environ, **knobs, "WARMUP_S": "5", "BOTS": "2", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "battle", "run", "--backend", "local", "--scenario", "s1",
                                "--minutes", "2", "--runs-dir", str(runs), "--run-id", f"term-{kind}"],
                               env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    run_dir = runs / f"term-{kind}"
    try:
        wait_for(lambda: "applied" in ledger_steps(run_dir, kind), 120, f"the {kind} fault to be applied")
        children = psutil.Process(process.pid).children(recursive=True)
        assert children, "the local stack runs as child processes"
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=BOUND_S + 30)
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    print(f"SIGTERM mid-{kind}: exit {process.returncode} after {took:.1f} s")
    assert took < BOUND_S, output[-3000:]
    assert process.returncode == 2, output[-3000:]
    assert "restored" in ledger_steps(run_dir, kind), f"the {kind} fault was not restored:\n{output[-3000:]}"
    alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"children survived the run: {[c.cmdline() for c in alive]}"
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert verdict["verdict"] == "error" and verdict["exitCode"] == 2
    assert any("SIGTERM" in e for e in verdict["errors"]), verdict["errors"]
