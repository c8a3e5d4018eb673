"""`battle restore` without processes: which faults the ledger says are still applied, undoing them through each
kind's own restore (recording driver and proxy), the report, `local-stack.json`, the orphan manager on a fake
process table, and the proxy stand-ins (a gone proxy, docker exec into the cloud-proxy container)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from battle.chaos.errors import ChaosError, DriverError, ProxyControlError
from battle.chaos.ledger import Ledger, read_ledger
from battle.chaos.local_state import (
    STATE_NAME,
    ProcessRecord,
    ServiceRecord,
    StackState,
    StackStateRecorder,
    read_stack_state,
)
from battle.chaos.orphans import OrphanedStack
from battle.chaos.process_driver import ProcessDriver
from battle.chaos.proxy.restore_clients import (
    DockerExecProxy,
    NoProxy,
    NotingProxy,
    docker_proxy,
    only_clears,
)
from battle.chaos.recording_driver import RecordingDriver, RecordingProxy
from battle.chaos.restore import (
    BY,
    FaultOutcome,
    LedgerState,
    RestoreReport,
    analyse_ledger,
    restore_faults,
    restore_run,
)

PARAMS = {"status": 503, "fraction": 1.0}


def line(fault, step, kind="pause", target="tool", params=None, duration=60.0, **extra):
    return {"schema": 1, "ts": "2026-12-02T10:00:00.000Z", "fault": fault, "kind": kind, "target": target,
            "step": step, "params": params or {}, "duration": duration, "error": None, **extra}


# ---------------------------------------------------------------- the ledger analysis


def test_a_fault_with_intent_or_applied_and_no_restored_is_still_applied():
    entries = [
        line("f001", "planned"), line("f001", "intent"), line("f001", "applied"), line("f001", "restored"),
        line("f002", "planned", "cloud-errors", "cloud-proxy", PARAMS),
        line("f002", "intent", "cloud-errors", "cloud-proxy", PARAMS),
        line("f002", "applied", "cloud-errors", "cloud-proxy", PARAMS),
        line("f003", "planned", "power", "plc-sim"), line("f003", "intent", "power", "plc-sim"),  # died mid-apply
    ]
    state = analyse_ledger(entries)
    assert state == LedgerState(
        still_applied=(
            {"id": "f002", "kind": "cloud-errors", "target": "cloud-proxy", "params": PARAMS, "duration": 60.0},
            {"id": "f003", "kind": "power", "target": "plc-sim", "params": {}, "duration": 60.0},
        ),
        applied=3, restored=1)


def test_planned_only_and_refused_faults_never_touched_the_runtime():
    entries = [line("f001", "planned"), line("f002", "planned"),
               line("f002", "failed", error="not applied: target 'tool' already has fault f009 (pause) active")]
    assert analyse_ledger(entries) == LedgerState((), 0, 0)


def test_a_failed_restore_leaves_the_fault_applied_and_a_later_restored_clears_it():
    entries = [line("f001", "intent"), line("f001", "applied"),
               line("f001", "failed", error="restore failed (attempt 1): boom")]
    assert [f["id"] for f in analyse_ledger(entries).still_applied] == ["f001"]
    entries.append(line("f001", "restored", by=BY))
    assert analyse_ledger(entries).still_applied == ()


def test_a_failed_apply_after_intent_counts_as_maybe_applied():
    # "undone at once" may itself have failed: restore is idempotent, so undoing again is the safe side
    entries = [line("f001", "intent"), line("f001", "failed", error="apply failed: x; undo also failed: y")]
    assert [f["id"] for f in analyse_ledger(entries).still_applied] == ["f001"]


def test_still_applied_comes_in_apply_order_and_a_reapplied_id_is_applied_again():
    entries = [line("a", "intent"), line("b", "intent", "delay", "plc-sim", {"delayMs": 5}),
               line("a", "restored"), line("a", "intent")]
    state = analyse_ledger(entries)
    assert [f["id"] for f in state.still_applied] == ["b", "a"]
    assert state.still_applied[0]["params"] == {"delayMs": 5}


def test_nothing_in_the_ledger():
    assert analyse_ledger([]) == LedgerState((), 0, 0)


# ---------------------------------------------------------------- undoing, through the kinds


def _faults():
    return analyse_ledger([
        line("f001", "intent"), line("f001", "applied"),
        line("f002", "intent", "cloud-errors", "cloud-proxy", PARAMS),
        line("f003", "intent", "cloudcut", "cloud"),
    ]).still_applied


def test_each_fault_is_undone_by_its_kind_last_applied_first_and_journaled(tmp_path):
    driver, proxy = RecordingDriver(["tool", "plc-sim", "cloud"]), RecordingProxy()
    ledger = Ledger(tmp_path / "injected.jsonl")
    notes = iter([[], ["n3"], [], ["n2"], [], ["resumed tool"]])
    outcomes = restore_faults(_faults(), driver, proxy, ledger, lambda: next(notes))
    assert driver.methods() == [("reconnect", "cloud"), ("unpause", "tool")]
    assert proxy.calls == [{"errors": None}]
    assert [(o.fault["id"], o.error, o.notes) for o in outcomes] == [
        ("f003", None, ("n3",)), ("f002", None, ("n2",)), ("f001", None, ("resumed tool",))]
    written = read_ledger(tmp_path / "injected.jsonl").entries
    assert [(e["fault"], e["step"], e["by"], e.get("note")) for e in written] == [
        ("f003", "restored", BY, "n3"), ("f002", "restored", BY, "n2"), ("f001", "restored", BY, "resumed tool")]
    assert written[1]["params"] == PARAMS and written[1]["duration"] == 60.0


def test_a_restore_that_fails_is_journaled_failed_and_the_others_still_run(tmp_path):
    driver, proxy = RecordingDriver(["tool", "plc-sim", "cloud"]), RecordingProxy()
    driver.fail_on[("reconnect", "cloud")] = "engine gone"
    ledger = Ledger(tmp_path / "injected.jsonl")
    faults = (*_faults(), {"id": "f004", "kind": "teleport", "target": "tool", "params": {}})
    outcomes = restore_faults(faults, driver, proxy, ledger)
    errors = {o.fault["id"]: o.error for o in outcomes}
    assert "unknown" in errors["f004"] and "teleport" in errors["f004"]
    assert "engine gone" in errors["f003"]
    assert errors["f002"] is None and errors["f001"] is None
    steps = {e["fault"]: e["step"] for e in read_ledger(tmp_path / "injected.jsonl").entries}
    assert steps == {"f004": "failed", "f003": "failed", "f002": "restored", "f001": "restored"}
    # a second pass finds exactly the failed ones still applied
    again = analyse_ledger([*[line(f["id"], "intent", f["kind"], f["target"]) for f in faults],
                            *read_ledger(tmp_path / "injected.jsonl").entries])
    assert sorted(f["id"] for f in again.still_applied) == ["f003", "f004"]


def test_the_report_says_what_was_done_and_when_nothing_was(tmp_path):
    fault = {"id": "f001", "kind": "pause", "target": "tool", "params": {}}
    report = RestoreReport(tmp_path, "local", LedgerState((fault,), 1, 0),
                           outcomes=[FaultOutcome(fault, None, ("resumed tool (SIGCONT to process group 7)",))],
                           stopped=["tool pid 7 (was running): SIGTERM, gone after 0.1 s"])
    text = "\n".join(report.lines())
    assert report.ok and "1 fault(s) still applied" in text
    assert "f001 pause on tool: restored — resumed tool (SIGCONT to process group 7)" in text
    assert "stopped the processes it left" in text and "tool pid 7" in text
    assert "done: 1 restored, 0 failed, 1 process(es) stopped" in text
    idle = RestoreReport(tmp_path, "local", LedgerState((), 1, 1))
    assert idle.ok and idle.nothing_to_do
    assert "nothing to do: no fault is still applied (1 applied, 1 restored" in idle.lines()[0]
    failed = RestoreReport(tmp_path, "docker", LedgerState((fault,), 1, 0),
                           outcomes=[FaultOutcome(fault, "restore failed: DriverError: no", ())])
    assert not failed.ok and "NOT CLEAN" in failed.lines()[-1] and "FAILED" in failed.lines()[1]


def test_a_run_that_never_started_its_stack_has_nothing_to_do(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"backend": "local"}))
    report = restore_run(tmp_path)
    assert report.nothing_to_do and report.ok
    assert "missing" in report.remarks[0]  # no ledger: said, not an error


def test_a_fault_left_applied_without_local_stack_json_is_refused_naming_the_file(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"backend": "local"}))
    Ledger(tmp_path / "injected.jsonl").record({"id": "f001", "kind": "pause", "target": "tool"}, "intent")
    with pytest.raises(ChaosError, match=STATE_NAME):
        restore_run(tmp_path)


def test_the_backend_must_be_known(tmp_path):
    with pytest.raises(ChaosError, match="backend"):
        restore_run(tmp_path)
    with pytest.raises(ChaosError, match="not a run directory"):
        restore_run(tmp_path / "nope")


def test_docker_needs_no_engine_when_nothing_is_left_and_refuses_while_chaos_runs(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"backend": "docker", "composeProject": "battle-x"}))

    def no_engine():
        raise AssertionError("the engine was asked though nothing was left applied")

    assert restore_run(tmp_path, docker_client=no_engine).nothing_to_do
    Ledger(tmp_path / "injected.jsonl").record({"id": "f001", "kind": "pause", "target": "tool"}, "intent")
    chaos = SimpleNamespace(labels={"com.docker.compose.project": "battle-x", "com.docker.compose.service": "chaos"},
                            status="running")
    engine = SimpleNamespace(containers=SimpleNamespace(list=lambda **kwargs: [chaos]))
    with pytest.raises(ChaosError, match="chaos service of battle-x still runs"):
        restore_run(tmp_path, docker_client=lambda: engine)


# ---------------------------------------------------------------- local-stack.json


def _record(name, pid, chaos=True):
    return ServiceRecord(name, ProcessRecord(pid, 1000.0 + pid, ("python", "-m", name)), pid, chaos, "t")


def test_stack_state_round_trips_and_keeps_the_last_start_last():
    state = StackState(ProcessRecord(1, 10.0, ("battle",)), "http://127.0.0.1:9", plc_delay_file="/d")
    state = state.with_service(_record("cloud", 11)).with_service(_record("tool", 12))
    state = state.with_service(_record("cloud", 13))  # restarted
    assert [(s.name, s.process.pid) for s in state.services] == [("tool", 12), ("cloud", 13)]
    assert StackState.from_json(json.loads(json.dumps(state.to_json()))) == state


@pytest.mark.parametrize("raw", [
    {"schema": 2, "proxy": {"controlUrl": "x"}, "services": []},
    {"schema": 1, "services": []},
    {"schema": 1, "proxy": {"controlUrl": "x"}, "services": [{"name": "tool", "pid": -1, "pgid": 1,
                                                              "createTime": 1.0, "cmdline": []}]},
    {"schema": 1, "proxy": {"controlUrl": "x"}, "services": [{"name": "tool", "pid": 5, "pgid": 5,
                                                              "createTime": "x", "cmdline": []}]},
])
def test_a_damaged_stack_state_is_refused_naming_the_file(tmp_path, raw):
    path = tmp_path / STATE_NAME
    path.write_text(json.dumps(raw))
    with pytest.raises(ChaosError, match=STATE_NAME):
        read_stack_state(path)


def test_the_recorder_writes_at_once_and_on_every_start(tmp_path):
    state = StackState(None, "http://127.0.0.1:9")
    recorder = StackStateRecorder(tmp_path / STATE_NAME, state, {"cloud-proxy": False}, clock=lambda: 0.0)
    assert read_stack_state(tmp_path / STATE_NAME) == state
    recorder.started("cloud-proxy", 2**22 + 12345)  # no such process: recorded, never verifiable
    written = read_stack_state(tmp_path / STATE_NAME)
    assert [(s.name, s.chaos, s.process.create_time) for s in written.services] == [("cloud-proxy", False, 0.0)]


# ---------------------------------------------------------------- the orphan manager, on a fake process table


class FakeProcess:
    def __init__(self, pid, status="sleeping", environ=None):
        self.pid, self._status, self._environ = pid, status, environ or {}

    def status(self):
        return self._status

    def environ(self):
        return self._environ


def _orphans(alive):
    state = StackState(None, "http://127.0.0.1:9", services=(
        _record("cloud", 11), _record("plc-sim", 12), _record("cloud-proxy", 13, chaos=False), _record("tool", 14)))
    return OrphanedStack(state, find=lambda record: alive.get(record.pid))


def test_orphans_never_start_a_service_and_say_so():
    stack = _orphans({})
    assert stack.chaos_services() == {"cloud", "plc-sim", "tool"}
    stack.start("plc-sim")
    stack.unpause("tool")
    assert stack.take_notes() == [
        "plc-sim is not running: not started again (no harness is left to run the stack; the orphans are stopped)",
        "tool is not running: nothing frozen to resume"]
    assert stack.take_notes() == [] and stack.alive() == []
    assert not stack.is_running("tool")
    assert stack.stop_all() == ([], [])


def test_orphans_refuse_to_freeze_or_wipe():
    stack = _orphans({14: FakeProcess(14)})
    with pytest.raises(DriverError, match="only undoes faults"):
        stack.pause("tool")
    with pytest.raises(DriverError, match="only undoes faults"):
        stack.wipe("tool")
    stack.unpause("tool")
    assert stack.take_notes() == ["tool (pid 14) was not frozen: nothing to resume"]
    assert stack.is_running("tool")


def test_the_orphaned_proxy_when_gone_clears_nothing_and_says_why():
    stack = _orphans({})
    proxy = stack.proxy_client()
    driver = ProcessDriver(stack, proxy)
    driver.reconnect("cloud")  # cloudcut's restore
    assert proxy.set_mode({"errors": None}) == {"name": "pass"}
    assert stack.take_notes() == ["cloud-proxy is not running: no layer left to clear (a cloud-proxy starts with none)"] * 2
    with pytest.raises(ProxyControlError, match="not running"):
        proxy.set_mode({"cut": True})


def test_the_orphaned_proxy_without_its_token_is_unreachable():
    stack = _orphans({13: FakeProcess(13, environ={})})
    with pytest.raises(ProxyControlError, match="no CHAOS_TOKEN"):
        stack.proxy_client().set_mode({"cut": False})


def test_the_orphaned_proxy_with_its_token_gets_a_real_client_that_notes():
    stack = _orphans({13: FakeProcess(13, environ={"CHAOS_TOKEN": "sekrit"})})
    proxy = stack.proxy_client()
    assert isinstance(proxy, NotingProxy)


# ---------------------------------------------------------------- proxy stand-ins


@pytest.mark.parametrize(("layers", "clears"), [
    ({"cut": False}, True), ({"errors": None}, True), ({"shape": None, "cut": False}, True),
    ({"mode": "pass"}, True), ({"cut": True}, False), ({"errors": {"status": 503}}, False), ({}, False),
    ({"bogus": None}, False),
])
def test_only_clears(layers, clears):
    assert only_clears(layers) is clears


def test_noting_proxy_notes_each_change():
    notes: list[str] = []
    proxy = NotingProxy(RecordingProxy(), notes.append, "cloud-proxy at x")
    proxy.set_mode({"cut": False})
    assert notes and notes[0].startswith('cloud-proxy at x: set {"cut": false}')


def test_a_proxy_that_runs_but_cannot_be_reached_refuses_even_a_clear():
    with pytest.raises(ProxyControlError, match="why"):
        NoProxy("why", lambda _: None).set_mode({"cut": False})


class FakeProxyContainer:
    def __init__(self, status="running", answer=(0, b'{"name": "pass", "cut": false}')):
        self.name = "battle-x-cloud-proxy-1"
        self.status = status
        self.labels = {"com.docker.compose.project": "battle-x", "com.docker.compose.service": "cloud-proxy"}
        self.answer = answer
        self.commands: list[list[str]] = []

    def exec_run(self, cmd):
        self.commands.append(cmd)
        return self.answer


def _engine(*containers):
    def listing(filters=None, **kwargs):  # like the engine: a stopped container only with all=True
        wanted = [f.split("=", 1) for f in (filters or {}).get("label", [])]
        return [c for c in containers if (kwargs.get("all") or c.status == "running")
                and all(c.labels.get(k) == v for k, v in wanted)]

    return SimpleNamespace(containers=SimpleNamespace(list=listing))


def test_docker_exec_proxy_calls_the_control_api_inside_the_container_with_its_own_token():
    container = FakeProxyContainer()
    notes: list[str] = []
    proxy = docker_proxy(_engine(container), "battle-x", notes.append)
    assert proxy.set_mode({"errors": None})["name"] == "pass"
    command = container.commands[0]
    assert command[:2] == ["python", "-c"] and command[3:] == ["PUT", "/mode", '{"errors": null}']
    assert "CHAOS_TOKEN" in command[2] and "127.0.0.1" in command[2]  # the token is read inside the container
    assert notes == ['cloud-proxy (battle-x-cloud-proxy-1, via docker exec): set {"errors": null}, '
                     "its mode is now 'pass'"]


def test_docker_exec_proxy_reports_a_refusal_with_its_output():
    proxy = DockerExecProxy(FakeProxyContainer(answer=(3, b'HTTP 401: {"error": "missing token"}')))
    with pytest.raises(ProxyControlError, match="exit 3.*HTTP 401"):
        proxy.set_mode({"cut": False})


def test_a_stopped_proxy_container_has_no_layers_left_and_a_missing_one_neither():
    notes: list[str] = []
    proxy = docker_proxy(_engine(FakeProxyContainer(status="exited")), "battle-x", notes.append)
    assert proxy.set_mode({"shape": None}) == {"name": "pass"} and "exited" in notes[0]
    assert docker_proxy(_engine(), "battle-x", notes.append).set_mode({"cut": False}) == {"name": "pass"}
    with pytest.raises(ProxyControlError, match="paused"):
        docker_proxy(_engine(FakeProxyContainer(status="paused")), "battle-x", notes.append).set_mode({"cut": False})


class FakeToolContainer:
    def __init__(self):
        self.name, self.status = "battle-x-tool-1", "paused"
        self.labels = {"com.docker.compose.project": "battle-x", "com.docker.compose.service": "tool",
                       "battle.chaos": "allow"}
        self.calls: list[str] = []

    def reload(self):
        pass

    def unpause(self):
        self.calls.append("unpause")
        self.status = "running"


def test_a_docker_run_is_restored_through_its_project_driver_and_docker_exec(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"backend": "docker", "composeProject": "battle-x"}))
    ledger = Ledger(tmp_path / "injected.jsonl")
    ledger.record({"id": "f001", "kind": "pause", "target": "tool", "duration": 60}, "intent")
    ledger.record({"id": "f002", "kind": "cloud-errors", "target": "cloud-proxy", "params": PARAMS}, "intent")
    ledger.close()
    tool, proxy = FakeToolContainer(), FakeProxyContainer()
    report = restore_run(tmp_path, docker_client=lambda: _engine(tool, proxy))
    assert report.ok and [o.fault["id"] for o in report.outcomes] == ["f002", "f001"]
    assert tool.calls == ["unpause"] and proxy.commands[0][3:] == ["PUT", "/mode", '{"errors": null}']
    assert "via docker exec" in report.outcomes[0].notes[0]
    assert any("docker compose -p battle-x down -v" in r for r in report.remarks)
    steps = [(e["fault"], e["step"], e.get("by")) for e in read_ledger(tmp_path / "injected.jsonl").entries]
    assert steps[-2:] == [("f002", "restored", BY), ("f001", "restored", BY)]
    assert restore_run(tmp_path, docker_client=lambda: _engine(tool, proxy)).nothing_to_do
