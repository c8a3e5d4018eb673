"""`battle restore RUN_DIR`: undo whatever a killed run left applied.

The ledger says what may still be in effect: a fault whose last `intent` or `applied` step has no
`restored` step after it (a `failed` restore leaves it applied; a fault that never reached `intent`
never touched the runtime). Each is undone, last applied first, by its own kind's `restore` — the
same code the plan runner and calm use — through a driver for the run's backend, and journaled in
`injected.jsonl` as `restored` (or `failed` with the error), with `by: "battle restore"` and a
`note` of what was done. A second call finds nothing left and says so.

Backends (from `manifest.json`, else from the presence of `local-stack.json`):

- **local**: `local-stack.json` says where the orphaned processes are (battle/chaos/orphans.py).
  Refused while the run's harness still runs (it restores on SIGTERM itself; `force` overrides).
  After the faults, every orphan of the run is stopped: no harness is left to run the system.
- **docker**: the `DockerDriver` of the run's compose project (`composeProject`), where the engine
  answers; the proxy kinds through `docker exec` in the cloud-proxy container
  (battle/chaos/proxy/restore_clients.py). Refused while the run's chaos service still runs (it
  owns the faults and calms on its own); the stack itself is left to its owner.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from battle.chaos.drivers import RuntimeDriver
from battle.chaos.errors import ChaosError
from battle.chaos.faults import get_kind
from battle.chaos.ledger import Ledger, read_ledger
from battle.chaos.local_state import STATE_NAME

log = logging.getLogger(__name__)

BY = "battle restore"
LEDGER_NAME = "injected.jsonl"


# ---------------------------------------------------------------- the ledger, read (pure)


@dataclass(frozen=True)
class LedgerState:
    still_applied: tuple[dict[str, Any], ...]  # {"id", "kind", "target", "params", "duration"}, in apply order
    applied: int  # faults that reached intent or applied
    restored: int  # of those, how many are restored


def analyse_ledger(entries: Iterable[Mapping[str, Any]]) -> LedgerState:
    """Which faults are still applied: their last intent/applied step has no restored step after it."""
    state: dict[str, str] = {}  # fault id -> "applied" | "restored"
    faults: dict[str, dict[str, Any]] = {}
    order: list[str] = []  # by the latest intent/applied
    for entry in entries:
        fid, step = str(entry.get("fault")), entry.get("step")
        if step in ("intent", "applied"):
            state[fid] = "applied"
            fault = {"id": fid, "kind": entry.get("kind"), "target": entry.get("target"),
                     "params": dict(entry.get("params") or {})}
            if isinstance(entry.get("duration"), int | float):
                fault["duration"] = entry["duration"]
            faults[fid] = fault
            if fid in order:
                order.remove(fid)
            order.append(fid)
        elif step == "restored" and fid in state:
            state[fid] = "restored"
    return LedgerState(
        still_applied=tuple(faults[fid] for fid in order if state[fid] == "applied"),
        applied=len(state),
        restored=sum(1 for s in state.values() if s == "restored"),
    )


# ---------------------------------------------------------------- undoing


@dataclass(frozen=True)
class FaultOutcome:
    fault: Mapping[str, Any]
    error: str | None  # None: restored
    notes: tuple[str, ...] = ()

    def line(self) -> str:
        what = f"{self.fault['id']} {self.fault['kind']} on {self.fault['target']}"
        done = "restored" if self.error is None else f"FAILED: {self.error}"
        how = "; ".join(self.notes)
        return f"  {what}: {done}" + (f" — {how}" if how else "")


def restore_faults(faults: Iterable[Mapping[str, Any]], driver: RuntimeDriver, proxy: Any, ledger: Ledger,
                   take_notes: Callable[[], list[str]] = lambda: []) -> list[FaultOutcome]:
    """Undo each fault, last applied first, with its kind's own restore; journal each outcome."""
    outcomes = []
    for fault in reversed(list(faults)):
        take_notes()  # drop what earlier steps noted
        try:
            get_kind(str(fault["kind"])).restore(driver, proxy, fault)
        except Exception as exc:  # any driver/engine failure: journaled, logged, reported; the next fault goes on
            notes = tuple(take_notes())
            error = f"restore failed: {type(exc).__name__}: {exc}"
            log.warning("battle restore: %s %s on %s: %s", fault["id"], fault["kind"], fault["target"], error)
            ledger.record(fault, "failed", error, by=BY, note="; ".join(notes) or None)
            outcomes.append(FaultOutcome(fault, error, notes))
            continue
        notes = tuple(take_notes())
        ledger.record(fault, "restored", by=BY, note="; ".join(notes) or None)
        outcomes.append(FaultOutcome(fault, None, notes))
    return outcomes


# ---------------------------------------------------------------- the report


@dataclass
class RestoreReport:
    run_dir: Path
    backend: str
    ledger: LedgerState
    outcomes: list[FaultOutcome] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)  # orphaned processes stopped (local)
    problems: list[str] = field(default_factory=list)  # what could not be done
    remarks: list[str] = field(default_factory=list)  # ledger problems, hints

    @property
    def ok(self) -> bool:
        return not self.problems and all(o.error is None for o in self.outcomes)

    @property
    def nothing_to_do(self) -> bool:
        return not self.outcomes and not self.stopped and not self.problems

    def lines(self) -> list[str]:
        head = f"battle restore {self.run_dir} ({self.backend} backend)"
        counts = f"{self.ledger.applied} applied, {self.ledger.restored} restored in {LEDGER_NAME}"
        if self.nothing_to_do:
            left = " and no process of the run is left" if self.backend == "local" else ""
            return [f"{head}: nothing to do: no fault is still applied ({counts}){left}",
                    *(f"  note: {r}" for r in self.remarks)]
        out = [f"{head}: {len(self.outcomes)} fault(s) still applied ({counts} before this)"]
        out += [o.line() for o in self.outcomes]
        if self.outcomes:
            out.append(f"  journaled in {LEDGER_NAME}: one line per fault, by {BY!r}")
        if self.stopped:
            out.append("no harness is left to run the stack: stopped the processes it left")
            out += [f"  {line}" for line in self.stopped]
        out += [f"  PROBLEM: {p}" for p in self.problems]
        out += [f"  note: {r}" for r in self.remarks]
        restored = sum(1 for o in self.outcomes if o.error is None)
        out.append(f"{'done' if self.ok else 'NOT CLEAN'}: {restored} restored, "
                   f"{len(self.outcomes) - restored} failed, {len(self.stopped)} process(es) stopped, "
                   f"{len(self.problems)} problem(s)")
        return out


# ---------------------------------------------------------------- one run dir


def _manifest(run_dir: Path) -> dict[str, Any]:
    try:
        value = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        raise ChaosError(f"{run_dir / 'manifest.json'} is unreadable: {exc}") from exc
    return value if isinstance(value, dict) else {}


def backend_of(run_dir: Path, manifest: Mapping[str, Any]) -> str:
    backend = manifest.get("backend")
    if backend in ("local", "docker"):
        return str(backend)
    if (run_dir / STATE_NAME).exists():
        return "local"
    raise ChaosError(f"cannot tell the backend of {run_dir}: no manifest.json naming it and no {STATE_NAME}")


def restore_run(run_dir: Path, *, force: bool = False, stop_timeout_s: float = 10.0,
                docker_client: Callable[[], Any] | None = None) -> RestoreReport:
    """Undo what the run in `run_dir` left applied; raises ChaosError when it must not or cannot start."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ChaosError(f"{run_dir} is not a run directory")
    manifest = _manifest(run_dir)
    backend = backend_of(run_dir, manifest)
    read = read_ledger(run_dir / LEDGER_NAME)
    ledger_state = analyse_ledger(read.entries)
    report = RestoreReport(run_dir, backend, ledger_state, remarks=list(read.problems))
    if backend == "local":
        _restore_local(run_dir, report, force, stop_timeout_s)
    elif ledger_state.still_applied:  # docker: the engine is needed only when something is left
        _restore_docker(run_dir, manifest, report, force, docker_client)
    return report


def _restore_local(run_dir: Path, report: RestoreReport, force: bool, stop_timeout_s: float) -> None:
    from battle.chaos.local_state import read_stack_state, verified
    from battle.chaos.orphans import OrphanedStack
    from battle.chaos.process_driver import ProcessDriver

    state_path = run_dir / STATE_NAME
    if not state_path.exists() and not report.ledger.still_applied:
        return  # the stack never started: nothing was applied and nothing is left running
    state = read_stack_state(state_path)
    harness = None if state.harness is None else verified(state.harness)
    if harness is not None and not force:
        raise ChaosError(
            f"the harness of this run still runs (pid {harness.pid}): it restores its faults and stops its stack "
            "itself on SIGTERM or SIGINT; battle restore is for a run whose harness is gone (--force to act anyway)")
    stack = OrphanedStack(state)
    proxy = stack.proxy_client()
    driver = ProcessDriver(stack, proxy, plc_delay_file=Path(state.plc_delay_file) if state.plc_delay_file else None)
    with closing(Ledger(run_dir / LEDGER_NAME)) as ledger:
        report.outcomes = restore_faults(report.ledger.still_applied, driver, proxy, ledger, stack.take_notes)
    report.stopped, problems = stack.stop_all(stop_timeout_s)
    report.problems.extend(problems)


def _restore_docker(run_dir: Path, manifest: Mapping[str, Any], report: RestoreReport, force: bool,
                    docker_client: Callable[[], Any] | None) -> None:
    from battle.chaos.docker_driver import DockerDriver
    from battle.chaos.proxy.restore_clients import docker_proxy

    project = str(manifest.get("composeProject") or "")
    if not project:
        raise ChaosError(f"{run_dir / 'manifest.json'} names no composeProject: cannot tell which stack to restore")
    client = (docker_client or _docker_from_env)()
    if not force and _chaos_running(client, project):
        raise ChaosError(
            f"the chaos service of {project} still runs: it owns these faults and restores them itself (POST /calm, "
            "or stop it: it calms on SIGTERM; its dead-man's switch calms when the observer is gone); "
            "--force to act anyway")
    notes: list[str] = []

    def take_notes() -> list[str]:
        taken = list(notes)
        notes.clear()
        return taken

    driver = DockerDriver(client, project)
    proxy = docker_proxy(client, project, notes.append)
    with closing(Ledger(run_dir / LEDGER_NAME)) as ledger:
        report.outcomes = restore_faults(report.ledger.still_applied, driver, proxy, ledger, take_notes)
    report.remarks.append(f"the containers of {project} are left as they are: ci/run_scenario.sh tears its stack down, "
                          f"or `docker compose -p {project} down -v`")


def _docker_from_env() -> Any:
    from battle.chaos.docker_driver import engine_client
    from battle.chaos.errors import DriverError

    try:
        return engine_client()  # the same engine lookup as the chaos service
    except DriverError as exc:
        raise ChaosError(f"{exc}: restore a Docker run where its engine answers") from exc


def _chaos_running(client: Any, project: str) -> bool:
    from battle.chaos.docker_driver import PROJECT_LABEL, SERVICE_LABEL

    filters = {"label": [f"{PROJECT_LABEL}={project}", f"{SERVICE_LABEL}=chaos"], "status": "running"}
    return any((c.labels or {}).get(PROJECT_LABEL) == project for c in client.containers.list(filters=filters))

