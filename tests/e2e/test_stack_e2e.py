"""ci/run_scenario.sh against the real Docker engine: short s1 and s2 runs, a killed observer, a bad knob.

Skipped, saying so, only where no Docker engine answers (the bad-knob test runs everywhere: it must
stop before Docker is touched). Each run uses its own RUN_ID, so its own compose project and volumes,
and collects into a temporary folder. Budget on a 2-core host: about 10 minutes for the module.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from battle.adapters.events import BattleEvent
from battle.backends.docker_env import compose_environment, project_name
from battle.common.timefmt import parse_iso
from battle.config import resolve

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "ci" / "run_scenario.sh"
COMPOSE_FILE = REPO / "docker-compose.battle.yml"
RUN_TIMEOUT_S = 900
SERVICES = ("seeder", "cloud-db", "cloud", "plc-sim", "cloud-proxy", "tool", "chaos", "crew", "observer")

pytestmark = pytest.mark.timeout(1500)


def engine_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker CLI on PATH"
    try:
        done = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                              text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the docker CLI did not answer: {exc}"
    if done.returncode != 0:
        return f"no Docker engine answers: {done.stderr.strip()[:200]}"
    return None


def need_engine() -> None:
    problem = engine_problem()
    if problem:
        pytest.skip(problem)


def compose_command() -> list[str]:
    if subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0:
        return ["docker", "compose"]
    found = shutil.which("docker-compose")
    assert found, "a Docker engine answers but neither 'docker compose' nor 'docker-compose' is installed"
    return [found]


def run_scenario(tmp_path: Path, name: str, **knobs: str) -> tuple[subprocess.CompletedProcess[str], Path, str]:
    run_id = f"e2e-{name}-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in ("SCENARIO", "SOAK_MINUTES", "RUN_ID")}
    env.update(knobs, RUN_ID=run_id, BATTLE_ARTIFACTS=str(tmp_path), BATTLE_PYTHON=sys.executable)
    done = subprocess.run(["sh", str(SCRIPT)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, check=False)
    return done, tmp_path / run_id, run_id


def project_leftovers(run_id: str) -> str:
    label = f"label=com.docker.compose.project={project_name(run_id)}"
    containers = subprocess.run(["docker", "ps", "-aq", "--filter", label], capture_output=True, text=True,
                                check=True).stdout
    volumes = subprocess.run(["docker", "volume", "ls", "-q", "--filter", label], capture_output=True, text=True,
                             check=True).stdout
    return (containers + volumes).strip()


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def results(verdict: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in verdict["results"]}


def output(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout[-6000:]}\n--- stderr\n{done.stderr[-3000:]}"


def line_time(line: str) -> float:
    """Epoch seconds of a JSON log line's `ts`; minus infinity (before any time) for anything else."""
    try:
        record = json.loads(line)
        return parse_iso(record["ts"])
    except (ValueError, TypeError, KeyError):
        return float("-inf")


def assert_common_artifacts(art: Path, run_id: str) -> dict[str, Any]:
    for name in ("verdict.json", "junit.xml", "manifest.json", "plan.json", "health.csv", "memory.csv",
                 "events.jsonl", "docker-events.jsonl", "report.html", "snapshot-local.json"):
        assert (art / name).is_file(), f"{name} missing from {art}"
    for service in SERVICES:
        assert (art / "logs" / f"{service}.log").is_file(), f"logs/{service}.log missing"
    manifest = read_json(art / "manifest.json")
    assert manifest["backend"] == "docker" and manifest["runId"] == run_id
    assert manifest["composeProject"] == project_name(run_id)
    assert {"soakStart", "soakEnd", "quiesced", "calmed", "settled", "snapshotted", "judged"} <= set(manifest["times"])
    # The chaos feed copied the tool's output line for line (all lifetimes), as `docker logs` has it.
    # The tool keeps logging until `down`: run_scenario.sh copies the feed before it reads `docker logs`,
    # so the engine's log may run a few lines longer, all of them written after the observer judged.
    feed = (art / "logs" / "tool.feed.log").read_text().splitlines()
    engine = (art / "logs" / "tool.log").read_text().splitlines()
    assert feed and engine[:len(feed)] == feed, "the feed is not a line-for-line prefix of the engine's log"
    judged = parse_iso(manifest["times"]["judged"])
    late = [line for line in engine[len(feed):] if line_time(line) < judged]
    assert not late, f"the feed lost {len(late)} tool lines written before judging: {late[:3]}"
    events = [json.loads(line) for line in (art / "events.jsonl").read_text().splitlines()]
    # battle's name for the tool's start, with the tool's own name kept beside it (the adapter's vocabulary)
    assert any(e.get("source") == "tool" and e.get("event") == BattleEvent.TOOL_STARTED and e.get("raw") == "server.start"
               for e in events)
    assert any(e.get("source") == "docker" and e["service"] == "tool" and e["action"] == "start" for e in events)
    with open(art / "memory.csv", newline="") as handle:
        tool_rows = [row for row in csv.DictReader(handle) if row["service"] == "tool"]
    assert len(tool_rows) >= 10 and all(float(r["rss_mb"]) > 5 for r in tool_rows)
    ops = sum(1 for p in art.glob("journal-bot*.jsonl") for line in p.read_text().splitlines() if '"type":"ok"' in line)
    assert ops > 50, f"the crew journaled only {ops} ok ops"
    assert project_leftovers(run_id) == "", "down -v left containers or volumes behind"
    return read_json(art / "verdict.json")


def test_bad_knob_exits_2_before_docker(tmp_path):
    done, art, run_id = run_scenario(tmp_path, "nope", SCENARIO="nope")
    assert done.returncode == 2, output(done)
    assert "SCENARIO='nope'" in done.stderr and "expected one of" in done.stderr
    assert "[bootstrap]" not in done.stdout + done.stderr, "images were touched before the knobs were checked"
    assert not art.exists()
    if engine_problem() is None:
        assert project_leftovers(run_id) == ""


def test_compose_accepts_the_file_and_refuses_a_missing_knob(tmp_path):
    need_engine()
    config = resolve({"SCENARIO": "s2"})
    env = {**os.environ, **compose_environment(config, {"RUN_ID": "e2e-config"})}
    command = [*compose_command(), "-f", str(COMPOSE_FILE), "-p", "battle-e2e-config", "config"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "DOWNLOAD_STORM: 20,40" in done.stdout
    del env["DOWNLOAD_STORM"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "set by ci/run_scenario.sh" in done.stdout + done.stderr


def test_short_s1_soak(tmp_path):
    need_engine()
    done, art, run_id = run_scenario(tmp_path, "s1", SCENARIO="s1", SOAK_MINUTES="2", WARMUP_S="30",
                                     LEAK_MIN_WINDOW_S="60")
    assert done.returncode in (0, 3), output(done)
    verdict = assert_common_artifacts(art, run_id)
    assert verdict["exitCode"] == done.returncode and verdict["errors"] == []
    by_id = results(verdict)
    for gate in ("I1", "I4", "I5", "I6"):
        assert by_id[gate]["status"] == "pass" and by_id[gate]["evidence"] > 0, by_id[gate]
    # Two minutes cannot bound a leak slope below 5 MB/h: I2 may stay inconclusive, never fail.
    assert by_id["I2"]["status"] in ("pass", "inconclusive")
    manifest = read_json(art / "manifest.json")
    assert manifest["knobSources"]["WARMUP_S"] == "env" and manifest["knobSources"]["BOTS"] == "default"
    assert "start to first successful probe" in done.stdout


def test_short_s2_download_storm_restores_flags(tmp_path):
    need_engine()
    done, art, run_id = run_scenario(tmp_path, "s2", SCENARIO="s2", SOAK_MINUTES="2.5")
    assert done.returncode == 0, output(done)
    verdict = assert_common_artifacts(art, run_id)
    by_id = results(verdict)
    assert by_id["I3"]["status"] == "pass" and by_id["I3"]["evidence"] >= 1, by_id["I3"]
    steps = [json.loads(line)["step"] for line in (art / "injected.jsonl").read_text().splitlines()]
    assert "applied" in steps and "restored" in steps
    assert verdict["coverage"]["download"]["applied"] >= 1
    assert verdict["coverage"]["download"]["restored"] == verdict["coverage"]["download"]["applied"]
    readbacks = [json.loads(line) for line in (art / "plc-readback.jsonl").read_text().splitlines()]
    assert readbacks and all(r["flagsOkAt"] for r in readbacks)
    docker_actions = [(e["service"], e["action"]) for e in map(json.loads, (art / "docker-events.jsonl").open())]
    assert ("plc-sim", "stop") in docker_actions or ("plc-sim", "die") in docker_actions


def test_killed_observer_is_an_error_verdict(tmp_path):
    need_engine()
    run_id = f"e2e-kill-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in ("SCENARIO", "SOAK_MINUTES")}
    env.update(SCENARIO="s1", SOAK_MINUTES="3", RUN_ID=run_id, BATTLE_ARTIFACTS=str(tmp_path),
               BATTLE_PYTHON=sys.executable)
    process = subprocess.Popen(["sh", str(SCRIPT)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    label = f"label=com.docker.compose.project={project_name(run_id)}"
    observer = ""
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            observer = subprocess.run(["docker", "ps", "-q", "--filter", label, "--filter",
                                       "label=com.docker.compose.service=observer"],
                                      capture_output=True, text=True, check=True).stdout.strip()
            logs = subprocess.run(["docker", "logs", observer], capture_output=True, text=True,
                                  check=False).stdout if observer else ""
            if "soak started" in logs:
                break
            time.sleep(2)
        assert observer, "the observer never started"
        time.sleep(20)  # some soak, so there is partial evidence to judge
        subprocess.run(["docker", "kill", observer], capture_output=True, check=True)
        out, _ = process.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.terminate()
            process.communicate(timeout=120)
    assert process.returncode == 2, out[-4000:]
    verdict = read_json(tmp_path / run_id / "verdict.json")
    assert verdict["verdict"] == "error" and verdict["exitCode"] == 2
    assert any("SIGKILL" in e and "before writing verdict.json" in e for e in verdict["errors"]), verdict["errors"]
    assert (tmp_path / run_id / "junit.xml").is_file() and (tmp_path / run_id / "logs" / "observer.log").is_file()
    assert project_leftovers(run_id) == ""
