"""The observer container's side of a Docker run: settings, fresh state, the soak-start handshake,
progress counting, Docker events merged into events.jsonl, and the manifest it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from battle.backends.docker_env import DockerStackError, encode_sources
from battle.backends.docker_run import (
    DockerObserverRun,
    JournalCounter,
    StackSettings,
    docker_events_stream,
    mark_soak_start,
    prepare_run_dir,
    report_writer_error,
    wait_for_soak_start,
    wait_until,
    writer_errors,
)
from battle.common.control import request_stop
from battle.common.jsonl import JsonlWriter
from battle.config import resolve
from battle.gating import plan_and_gates
from battle.observer.gather import load_events

BASE_ENV = {"RUN_ID": "s2-x", "TOOL_URL": "http://tool:8080/", "CLOUD_URL": "http://cloud:8081"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_stack_settings_from_the_compose_environment(tmp_path):
    env = {**BASE_ENV, "RUNS_DIR": str(tmp_path), "BATTLE_KNOB_SOURCES": "SEED=default,DOWNLOAD_STORM=scenario",
           "BATTLE_IMAGES": '{"TOOL_IMAGE": {"ref": "battle-tool:1"}}', "COMPOSE_PROJECT_NAME": "battle-s2-x"}
    stack = StackSettings.from_env(env)
    assert stack.run_dir == tmp_path / "s2-x" and stack.tool_url == "http://tool:8080"
    assert stack.knob_sources == {"SEED": "default", "DOWNLOAD_STORM": "scenario"}
    assert stack.images == {"TOOL_IMAGE": {"ref": "battle-tool:1"}} and stack.plc_port == 44818
    assert stack.seed_dir == Path("/seed") and stack.chaos_url == "http://chaos:8088"


@pytest.mark.parametrize("missing", ["RUN_ID", "TOOL_URL", "CLOUD_URL"])
def test_stack_settings_name_what_is_missing(missing):
    env = {k: v for k, v in BASE_ENV.items() if k != missing}
    with pytest.raises(DockerStackError, match=missing):
        StackSettings.from_env(env)
    with pytest.raises(DockerStackError, match="BATTLE_STARTUP_TIMEOUT_S"):
        StackSettings.from_env({**BASE_ENV, "BATTLE_STARTUP_TIMEOUT_S": "soon"})


def test_run_dir_must_be_fresh(tmp_path):
    prepare_run_dir(tmp_path / "run")  # empty or missing: fine
    (tmp_path / "run" / "manifest.json").write_text("{}")
    with pytest.raises(DockerStackError, match="earlier run"):
        prepare_run_dir(tmp_path / "run")
    stale = tmp_path / "stale"
    request_stop(stale)
    with pytest.raises(Exception, match="stale STOP"):
        prepare_run_dir(stale)


def test_writers_start_at_soak_start_and_end_on_stop(tmp_path):
    clock = FakeClock()
    with pytest.raises(DockerStackError, match="did not start within 5 s"):
        wait_for_soak_start(tmp_path, 5.0, clock, clock.sleep)
    mark_soak_start(tmp_path, 1234.5)
    assert wait_for_soak_start(tmp_path, 5.0, clock, clock.sleep) == 1234.5
    request_stop(tmp_path)
    assert wait_for_soak_start(tmp_path, 5.0, clock, clock.sleep) is None


def test_writer_errors_reach_the_verdict(tmp_path):
    report_writer_error(tmp_path, "crew", RuntimeError("tool never answered"))
    assert writer_errors(tmp_path) == ["crew died: RuntimeError: tool never answered"]


def test_wait_until_counts_and_gives_up():
    clock = FakeClock()
    answers = iter([False, False, True])
    assert wait_until("x", lambda: next(answers), 10, clock, clock.sleep) == 1.0
    with pytest.raises(DockerStackError, match="the tool"):
        wait_until("the tool", lambda: False, 3, clock, clock.sleep)


def test_journal_counter_reads_only_what_was_appended(tmp_path):
    def line(kind: str) -> str:
        return json.dumps({"type": kind, "op": 1}, separators=(",", ":"), sort_keys=True) + "\n"

    bot0 = tmp_path / "journal-bot0.jsonl"
    bot0.write_text(line("invoke") + line("ok") + line("invoke") + line("info"))
    counter = JournalCounter(tmp_path)
    assert counter.update() == {"ok": 1, "fail": 0, "info": 1}
    with bot0.open("a") as handle:
        handle.write(line("invoke") + line("fail") + '{"type":"o')  # the last line is still being written
    (tmp_path / "journal-bot1.jsonl").write_text(line("invoke") + line("ok"))
    assert counter.update() == {"ok": 2, "fail": 1, "info": 1}
    assert "ops journaled 4" in counter.describe()


def test_docker_events_are_merged_into_events_jsonl(tmp_path):
    feed = tmp_path / "docker-events.jsonl"
    feed.write_text('{"source":"docker","ts":"2026-01-01T00:00:00.000Z","service":"tool","action":"oom"}\n'
                    'not json\n{"source":"tool","ts":"x","event":"sneaky"}\n')
    writer = JsonlWriter(tmp_path / "events.jsonl")
    stop = docker_events_stream(feed)(writer)
    stop()
    writer.close()
    problems: list[str] = []
    tool_events, docker_events = load_events(tmp_path / "events.jsonl", problems)
    assert tool_events == () and problems == []
    assert [(e.service, e.action) for e in docker_events] == [("tool", "oom")]


def test_manifest_says_where_each_knob_came_from(tmp_path):
    host = resolve({"SCENARIO": "s2", "SEED": "7"})
    container = resolve(host.to_env())  # every knob arrives as an explicit variable
    assert set(container.sources.values()) == {"env"}
    stack = StackSettings.from_env({**BASE_ENV, "RUNS_DIR": str(tmp_path), "COMPOSE_PROJECT_NAME": "battle-s2-x",
                                    "BATTLE_KNOB_SOURCES": encode_sources(host.sources),
                                    "BATTLE_GIT_COMMIT": "cafe"})
    _plan, decision = plan_and_gates(container)
    data = DockerObserverRun(container, stack, ("bot0",))._manifest_data(1_767_225_600.0, decision)
    assert data["gates"] == ["I1", "I2", "I3", "I4", "I5", "I6"]
    assert data["demoted"] == {"I7": {"reason": decision.demoted["I7"].reason, "cause": "infeasible"}}
    assert set(data["feasibility"]) == {f"I{i}" for i in range(1, 8)}
    assert data["backend"] == "docker" and data["runId"] == "s2-x" and data["gitCommit"] == "cafe"
    assert data["knobSources"]["DOWNLOAD_STORM"] == "scenario"
    assert data["knobSources"]["SEED"] == "env" and data["knobSources"]["WARMUP_S"] == "default"
    assert data["knobs"]["DOWNLOAD_STORM"] == [20.0, 40.0] and data["composeProject"] == "battle-s2-x"


def test_the_observer_says_each_demoted_gate_at_the_start_and_records_it(tmp_path, monkeypatch):
    config = resolve({}, "s1", 4)
    stack = StackSettings.from_env({**BASE_ENV, "RUN_ID": "s1-x", "RUNS_DIR": str(tmp_path)})
    said: list[str] = []
    run = DockerObserverRun(config, stack, ("bot0",), progress=said.append)

    def no_stack() -> dict[str, float]:
        raise DockerStackError("no stack in a unit test")

    monkeypatch.setattr(run, "_wait_for_stack", no_stack)
    assert run.run() == 2
    assert said[0].endswith("gates I1 I4 I5 I6; demoted to report: I2 I3 I7")
    assert [line.split(":")[1].strip() for line in said[1:4]] == [
        "gate I2 demoted to report", "gate I3 demoted to report", "gate I7 demoted to report"]
    manifest = json.loads((tmp_path / "s1-x" / "manifest.json").read_text())
    assert manifest["gates"] == ["I1", "I4", "I5", "I6"] and list(manifest["demoted"]) == ["I2", "I3", "I7"]
    verdict = json.loads((tmp_path / "s1-x" / "verdict.json").read_text())
    assert verdict["verdict"] == "error" and verdict["demoted"] == manifest["demoted"]
