"""The host's last word on a Docker run: the observer's verdict stands only when the observer exited
with it and the harness containers did their job; otherwise an error verdict that says why."""

from __future__ import annotations

import json

import pytest

from battle.backends.docker_host import (
    container_problems,
    describe_exit,
    finish_run,
    first_probe_delay,
    host_identity,
    shown_line,
)
from battle.backends.manifest import ManifestFile, build_manifest
from battle.config import resolve
from battle.gating import plan_and_gates
from battle.judging import judge_run_dir

STARTED = 1_767_225_600.0


@pytest.fixture
def run_dir(tmp_path):
    """A run directory as the observer leaves it, judged (every gate inconclusive: nothing ran)."""
    path = tmp_path / "s1-x"
    path.mkdir()
    config = resolve({"SCENARIO": "s1"})
    _plan, decision = plan_and_gates(config)
    ManifestFile(path / "manifest.json", build_manifest(config, "s1-x", "docker", STARTED, decision))
    judge_run_dir(path)
    return path


def verdict_of(path):
    return json.loads((path / "verdict.json").read_text())


def test_the_observers_verdict_stands_when_it_exited_with_it(run_dir):
    before = verdict_of(run_dir)
    verdict = finish_run(run_dir, observer_exit=before["exitCode"])
    assert verdict.verdict == before["verdict"] and verdict_of(run_dir) == before


def test_a_killed_observer_is_an_error_never_a_pass(run_dir):
    (run_dir / "verdict.json").unlink()
    verdict = finish_run(run_dir, observer_exit=137)
    assert verdict.verdict == "error" and verdict.exit_code == 2
    written = verdict_of(run_dir)
    assert "SIGKILL" in written["errors"][0] and "before writing verdict.json" in written["errors"][0]
    assert written["results"] == [], "a run cut short is not judged: without snapshots every write looks lost"
    assert written["runId"] == "s1-x" and written["scenario"] == "s1"
    assert (run_dir / "junit.xml").exists()


def test_an_exit_code_that_contradicts_the_verdict_is_an_error(run_dir):
    verdict = finish_run(run_dir, observer_exit=0)  # the verdict on disk says inconclusive (3)
    assert verdict.verdict == "error" and "cannot be trusted" in verdict.errors[0]


def test_interruption_and_harness_problems_are_errors(run_dir):
    code = verdict_of(run_dir)["exitCode"]
    verdict = finish_run(run_dir, code, reason="interrupted by SIGINT before the verdict",
                         problems=["crew container exited 2 during the run (see logs/crew.log)"])
    assert verdict.exit_code == 2 and verdict.results, "a finished run is judged again, with the errors"
    assert verdict.errors[:2] == ("interrupted by SIGINT before the verdict",
                                  "crew container exited 2 during the run (see logs/crew.log)")


def test_nothing_collected_still_gives_a_verdict_named_by_the_host(tmp_path):
    empty = tmp_path / "never-started"
    identity = host_identity({"RUN_ID": "s2-y", "SCENARIO": "s2", "SEED": "4", "SOAK_MINUTES": "3"}, STARTED)
    verdict = finish_run(empty, observer_exit=None, reason="'docker-compose up' failed", identity=identity)
    assert verdict.verdict == "error" and (empty / "verdict.json").exists() and (empty / "junit.xml").exists()
    written = verdict_of(empty)
    assert "up' failed" in written["errors"][0]
    assert (written["runId"], written["scenario"], written["seed"], written["soakMinutes"]) == ("s2-y", "s2", 4, 3.0)
    assert host_identity({}, None) == {"runId": "unknown", "scenario": "unknown"}


def test_harness_container_problems():
    states = {
        "crew": {"Status": "exited", "ExitCode": 2, "OOMKilled": False},
        "cloud-mutator": {"Status": "exited", "ExitCode": 0},
        "seeder": {"Status": "exited", "ExitCode": 0},
        "chaos": {"Status": "exited", "ExitCode": 137},
        "cloud-proxy": {"Status": "running", "ExitCode": 0},
        "observer": {"Status": "exited", "ExitCode": 1},  # its code is the verdict's business
        "tool": {"Status": "running", "OOMKilled": True},  # the system under test: I5 judges that
    }
    problems = container_problems(states)
    assert problems == ["chaos was exited (exited 137 = SIGKILL (killed: docker kill, or the kernel's OOM killer)) "
                        "before the run ended (see logs/chaos.log)",
                        "crew container exited 2 during the run (see logs/crew.log)"]
    assert container_problems({"observer": {"Status": "exited", "ExitCode": 137, "OOMKilled": True}}) == [
        "harness container observer was OOM-killed (see logs/observer.log; raise its mem_limit)"]


def test_exit_descriptions():
    assert describe_exit(None) == "never exited (or never ran)"
    assert describe_exit(2) == "exited 2"
    assert describe_exit(143) == "exited 143 = SIGTERM"
    assert describe_exit(255) == "exited 255"


def test_only_progress_and_observer_lines_are_relayed():
    assert shown_line(b"progress: soak 1.0/2.0 min\n") == "soak 1.0/2.0 min"
    assert shown_line("observer: verdict pass (exit 0)") == "verdict pass (exit 0)"
    assert shown_line(b'{"event": "x"}') is None


def test_first_probe_delay(tmp_path):
    (tmp_path / "health.csv").write_text("utc,epoch,latency_ms,status,ok,phase\n"
                                         "a,1000.0,,,0,warmup\nb,1001.5,3.0,200,1,warmup\n")
    assert first_probe_delay(tmp_path, 980.0) == 21.5
    assert first_probe_delay(tmp_path / "missing", 980.0) is None
