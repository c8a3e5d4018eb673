"""`battle restore RUN_DIR` after a SIGKILLed `battle run --backend local`: the harness cannot clean up, its
stack lives on as orphans with the fault still applied (a frozen tool, a cloud-proxy answering errors or
cutting the link). restore undoes the fault through the kind's own restore, journals it, stops every orphan,
and a second call has nothing to do. Also: the orphan manager never signals a pid whose start time or command
line is not the recorded one."""

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
from local_runs import ledger_lines, wait_for

from battle.chaos.local_state import ProcessRecord, ServiceRecord, StackState, describe_process
from battle.chaos.orphans import OrphanedStack
from battle.chaos.proxy.client import ProxyClient

REPO = Path(__file__).resolve().parents[2]
RESTORE_BOUND_S = 60.0


def _steps(run_dir: Path, kind: str) -> list[str]:
    return [r["step"] for r in ledger_lines(run_dir) if r.get("kind") == kind]


def _restore(run_dir: Path, env: dict) -> tuple[int, str, float]:
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "battle", "restore", str(run_dir)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=RESTORE_BOUND_S + 60)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - began


@pytest.mark.parametrize(("kind", "knobs"), [
    ("pause", {"PAUSE_STORM": "0.2,0.3", "PAUSE_S": "60"}),
    ("cloud-errors", {"CLOUD_ERRORS": "0.2,0.3", "CLOUD_ERRORS_S": "60", "CLOUD_ERRORS_STATUS": "503"}),
    ("cloudcut", {"CLOUD_FLAP": "0.5,1"}),
])
def test_battle_restore_after_sigkill_mid_fault(tmp_path, kind, knobs):
    runs = tmp_path / "runs"
    run_dir = runs / f"kill-{kind}"
    env = {**os.environ, **knobs, "WARMUP_S": "5", "BOTS": "2", "PYTHONPATH": str(REPO)}
    with open(tmp_path / "harness.log", "wb") as out:
        harness = subprocess.Popen([sys.executable, "-m", "battle", "run", "--backend", "local", "--scenario", "s1",
                                    "--minutes", "2", "--runs-dir", str(runs), "--run-id", f"kill-{kind}"],
                                   env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    children: list[psutil.Process] = []
    try:
        wait_for(lambda: "applied" in _steps(run_dir, kind), 150, f"the {kind} fault to be applied")
        children = psutil.Process(harness.pid).children(recursive=True)
        assert len(children) >= 4, "tool, cloud, plc-sim and cloud-proxy run as child processes"
        state = json.loads((run_dir / "local-stack.json").read_text())
        services = {s["name"]: s for s in state["services"]}
        harness.send_signal(signal.SIGKILL)  # the harness only: its children live on
        harness.wait(timeout=10)
    finally:
        if harness.poll() is None:
            harness.kill()
    assert "restored" not in _steps(run_dir, kind)
    if kind == "pause":
        assert psutil.Process(services["tool"]["pid"]).status() == psutil.STATUS_STOPPED
    else:
        proxy = psutil.Process(services["cloud-proxy"]["pid"])
        mode = ProxyClient(state["proxy"]["controlUrl"], proxy.environ()["CHAOS_TOKEN"]).get_mode()
        assert (mode["cut"] is True) if kind == "cloudcut" else (mode["errors"] is not None), mode

    code, output, took = _restore(run_dir, env)
    print(f"battle restore after SIGKILL mid-{kind} ({took:.1f} s):\n{output}")
    assert code == 0, output
    assert took < RESTORE_BOUND_S
    fault_id = next(r["fault"] for r in ledger_lines(run_dir) if r["kind"] == kind and r["step"] == "applied")
    restored = [r for r in ledger_lines(run_dir) if r["fault"] == fault_id and r["step"] == "restored"]
    assert len(restored) == 1 and restored[0]["by"] == "battle restore", restored
    if kind == "pause":
        assert "resumed tool (SIGCONT to process group" in output, output
        tool_line = next(line for line in output.splitlines() if line.strip().startswith("tool pid"))
        assert "(was stopped)" not in tool_line, f"the tool was still frozen when it was stopped: {tool_line}"
    elif kind == "cloud-errors":
        assert '{"errors": null}' in output and "its mode is now 'pass'" in output, output
    else:
        assert '{"cut": false}' in output and "its mode is now 'pass'" in output, output
    alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"children of the killed run survived restore: {[c.cmdline() for c in alive]}"

    code, again, _ = _restore(run_dir, env)
    print(f"second battle restore:\n{again}")
    assert code == 0, again
    assert "nothing to do" in again, again
    assert sum(1 for r in ledger_lines(run_dir) if r["fault"] == fault_id and r["step"] == "restored") == 1


def test_battle_restore_refuses_while_the_harness_runs(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    harness = describe_process(os.getpid())  # this test process plays the live harness
    state = StackState(harness=harness, proxy_control_url="http://127.0.0.1:9")
    (run_dir / "local-stack.json").write_text(json.dumps(state.to_json()))
    (run_dir / "manifest.json").write_text(json.dumps({"backend": "local"}))
    code, output, _ = _restore(run_dir, {**os.environ, "PYTHONPATH": str(REPO)})
    assert code == 2
    assert "harness of this run still runs" in output and "nothing done" in output, output


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen(["sleep", "60"], start_new_session=True)


def _record(name: str, process: subprocess.Popen, *, create_time: float | None = None) -> ServiceRecord:
    found = describe_process(process.pid)
    assert found is not None
    if create_time is not None:
        found = ProcessRecord(found.pid, create_time, found.cmdline)
    return ServiceRecord(name, found, os.getpgid(process.pid), True, "")


def test_orphans_resume_a_frozen_process_then_stop_it():
    process = _sleeper()
    try:
        os.killpg(process.pid, signal.SIGSTOP)
        wait_for(lambda: psutil.Process(process.pid).status() == psutil.STATUS_STOPPED, 5, "the freeze")
        stack = OrphanedStack(StackState(None, "http://127.0.0.1:9", services=(_record("tool", process),)))
        assert not stack.is_running("tool")
        stack.unpause("tool")
        assert psutil.Process(process.pid).status() != psutil.STATUS_STOPPED
        assert stack.take_notes() == [f"resumed tool (SIGCONT to process group {process.pid})"]
        stopped, problems = stack.stop_all(timeout=5)
        assert problems == [] and len(stopped) == 1 and "SIGTERM, gone" in stopped[0], stopped
        assert process.wait(timeout=5) == -signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()


def test_orphans_never_signal_a_pid_whose_start_time_differs():
    process = _sleeper()
    try:
        recycled = _record("tool", process, create_time=psutil.Process(process.pid).create_time() - 3600)
        stack = OrphanedStack(StackState(None, "http://127.0.0.1:9", services=(recycled,)))
        assert stack.alive() == []
        stack.unpause("tool")
        assert stack.take_notes() == ["tool is not running: nothing frozen to resume"]
        assert stack.stop_all(timeout=1) == ([], [])
        assert process.poll() is None, "a process that is not the recorded one was signalled"
    finally:
        process.kill()
        process.wait()
