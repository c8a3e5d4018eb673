"""serve_chaos in its own process: serves the API, journals, and calms on SIGTERM before exiting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from battle.chaos.ledger import read_ledger

REPO = Path(__file__).resolve().parents[2]
# A recording driver keeps this test about the service (signals, calm, exit code), not a runtime.
PROGRAM = """
import sys
from battle.chaos.recording_driver import RecordingDriver
from battle.chaos.service import ChaosServiceConfig, serve_chaos
sys.exit(serve_chaos(ChaosServiceConfig.from_env(), RecordingDriver(["tool", "plc-sim"])))
"""


def test_serve_chaos_calms_on_sigterm(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "schema": 1,
                "faults": [
                    {
                        "id": "f001",
                        "kind": "delay",
                        "target": "plc-sim",
                        "at": 0.0,
                        "duration": 600,
                        "params": {"delayMs": 50},
                    },
                ],
            }
        )
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CHAOS_TOKEN": "tok",
        "CHAOS_HOST": "127.0.0.1",
        "CHAOS_PORT": "0",
        "CHAOS_PLAN_FILE": str(plan),
        "CHAOS_LEDGER_FILE": str(tmp_path / "injected.jsonl"),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", PROGRAM],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        started = json.loads(process.stdout.readline())
        assert started["event"] == "chaos.listening"
        base = f"http://127.0.0.1:{started['port']}"
        assert requests.get(base + "/health", timeout=5).json()["backend"] == "recording"
        got = requests.post(
            base + "/faults/pause",
            json={"target": "tool", "duration": 600},
            headers={"X-Chaos-Token": "tok"},
            timeout=5,
        )
        assert got.status_code == 200
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    calm = json.loads(out.strip().splitlines()[-1])
    assert calm["event"] == "chaos.calm" and calm["ok"]
    assert sorted(r["fault"] for r in calm["restored"]) == ["api001", "f001"]
    steps = [(e["fault"], e["step"]) for e in read_ledger(tmp_path / "injected.jsonl").entries]
    assert ("f001", "restored") in steps and ("api001", "restored") in steps
