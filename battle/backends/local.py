"""`battle run --backend local`: the whole run as local processes and threads on loopback.

Order: validate (done by the caller) → plan and gates (an infeasible gate is demoted and said, or
refused with STRICT_GATES before the run dir exists) → fresh run dir, plan, manifest → seed and
start the stack → probe what the gates need (a failed capability: error verdict, no soak) → observer, crew, mutator, chaos plan → soak → quiesce, calm,
settle, snapshot → judge → stop the stack. Whatever fails half-way, a
verdict.json is written (error) and the stack is stopped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from battle.adapters.plc import PlcReader
from battle.backends.local_restart import LocalRestartPolicy
from battle.backends.local_stack import LocalStack, build_local_stack, start_local_stack
from battle.backends.manifest import ManifestFile, build_manifest, new_run_id
from battle.chaos.deadman import DeadmanSwitch, file_beat
from battle.chaos.ledger import Ledger
from battle.chaos.plan import plan_to_json
from battle.chaos.process_driver import ProcessDriver
from battle.chaos.proxy.client import ProxyClient
from battle.chaos.runner import PlanRunner
from battle.common.control import ensure_fresh, heartbeat_path, writer_names
from battle.config import RunConfig
from battle.crew.crew import CrewSettings, run_crew
from battle.gating import plan_and_gates
from battle.judging import error_verdict, judge_run_dir, seal_run_dir
from battle.mutator.mutator import Mutator, MutatorSettings, mutator_enabled
from battle.observer.cost import ProcessCostSource
from battle.observer.memory import PsutilSource
from battle.observer.run import Observer, ObserverHooks, ObserverSettings
from battle.probe.before_soak import PROBE_FILE, probe_before_soak
from battle.verdict import Verdict

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LocalRunOptions:
    runs_root: Path
    run_id: str | None = None
    progress: Callable[[str], None] = print


def _thread(name: str, target: Callable[[], Any], errors: list[str]) -> threading.Thread:
    def body() -> None:
        try:
            target()
        except Exception as exc:  # supervisor: a dead writer is reported in the verdict, not swallowed
            errors.append(f"{name} died: {type(exc).__name__}: {exc}")
            log.exception("%s died", name)

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    return thread


def _calm_on_the_way_out(runner: PlanRunner, options: LocalRunOptions) -> None:
    """Whatever ended the run (a signal, a crash), restore every fault still applied and journal it.
    Calm is idempotent: after a normal run it finds nothing left to restore."""
    try:
        report = runner.calm().to_json()
    except Exception as exc:  # supervisor: cleanup goes on, and the error is said
        log.exception("calm on the way out failed")
        options.progress(f"calm on the way out failed: {type(exc).__name__}: {exc}")
        return
    if report.get("restored") or report.get("failed"):
        options.progress(f"calm on the way out: restored {report.get('restored')}, failed {report.get('failed')}")


def run_local(config: RunConfig, options: LocalRunOptions) -> Verdict:
    plan, decision = plan_and_gates(config)  # STRICT_GATES: a ConfigError here, before anything exists
    started = time.time()
    run_id = options.run_id or new_run_id(config, started)
    run_dir = options.runs_root / run_id
    if run_dir.exists() and any(run_dir.iterdir()):
        raise FileExistsError(f"{run_dir} already holds a run; a verdict is only valid from a fresh directory "
                              "(choose another --run-id)")
    run_dir.mkdir(parents=True, exist_ok=True)
    ensure_fresh(run_dir)
    (run_dir / "plan.json").write_text(plan_to_json(plan), encoding="utf-8")
    manifest = ManifestFile(run_dir / "manifest.json",
                            build_manifest(config, run_id, "local", started, decision, repo=REPO))
    stack: LocalStack | None = None
    try:
        options.progress(f"run {run_id}: {decision.summary()}")
        for line in decision.lines():
            options.progress(line)
        stack = build_local_stack(config, run_dir)
        manifest.update(recordKinds=list(stack.adapter.record_kinds()))  # (the judge's snapshots, by kind)
        options.progress(f"run {run_id}: starting the local stack in {run_dir}")
        took = start_local_stack(stack)
        manifest.update(startup=took)
        options.progress(f"stack healthy: {took}")
        probed = probe_before_soak(stack.adapter, stack.manager.log_path("tool"), decision.gates, run_dir,
                                   config.seed)
        manifest.update(probe=probed.to_manifest())
        refusal = probed.refusal(decision.gates)
        options.progress(f"probe: {refusal or f'ok in {probed.seconds} s ({PROBE_FILE})'}")
        if refusal is not None:  # the gates could only fail: stop before spending the soak
            manifest.data["errors"].append(refusal)
            manifest.save()
            return error_verdict(run_dir, refusal, manifest.data)
        return _soak_and_judge(config, stack, manifest, options)
    except Exception as exc:  # RunInterrupted (SIGTERM/SIGINT) included: the run ends with an error verdict
        reason = f"harness error: {type(exc).__name__}: {exc}"
        log.error("%s\n%s", reason, traceback.format_exc())
        manifest.data["errors"].append(reason)
        manifest.save()
        return error_verdict(run_dir, reason, manifest.data)
    finally:
        if stack is not None:
            stopped = stack.manager.stop_all()
            options.progress(f"stack stopped: {stopped}")


def _plc_hooks(stack: LocalStack) -> dict[str, Any]:
    """The observer's PLC read-back (I3): none when the adapter has no PLC."""
    if stack.plc_port is None:
        return {"plc_checker": None, "expected_flags": {}}
    tags = stack.adapter.tag_expectations(stack.seed_dir)
    host, port = stack.plc_host, stack.plc_port
    return {"plc_checker": lambda: PlcReader(host, port, timeout=5.0, types=tags.types),
            "expected_flags": dict(tags.expected)}


def _soak_and_judge(config: RunConfig, stack: LocalStack, manifest: ManifestFile,
                    options: LocalRunOptions) -> Verdict:
    run_dir = stack.run_dir
    soak_start = time.time()
    soak_end = soak_start + config.soak_seconds
    manifest.mark("soakStart", soak_start)
    limits = config.limits()
    writers = writer_names(config.bots, mutator_enabled(config))
    adapter = stack.adapter
    proxy = ProxyClient(stack.proxy_control_url, stack.chaos_token)
    driver = ProcessDriver(stack.manager, proxy, plc_delay_file=stack.plc_delay_file)
    ledger = Ledger(run_dir / "injected.jsonl")
    plan = json.loads((run_dir / "plan.json").read_text(encoding="utf-8"))
    deadman = DeadmanSwitch(file_beat(heartbeat_path(run_dir)), float(config.value("DEADMAN_S")))
    runner = PlanRunner(plan, driver, proxy, ledger, deadman=deadman)
    manager = stack.manager
    sut_services = tuple(s.name for s in stack.services)  # without a PLC there is no plc-sim to watch
    observer = Observer(
        ObserverSettings(run_dir=run_dir, soak_start=soak_start, soak_end=soak_end,
                         warmup_s=float(limits["WARMUP_S"]), settle_max_s=float(limits["SETTLE_MAX_S"]),
                         propagation_max_s=float(limits["PROPAGATION_MAX_S"]),
                         restore_max_s=float(limits["RESTORE_MAX_S"]), writers=writers),
        ObserverHooks(
            adapter=adapter,
            memory_source=PsutilSource(lambda: {name: manager.pid(name) for name in sut_services}),
            cost_source=ProcessCostSource(lambda: {name: manager.pid(name) for name in manager.services()}),
            calm=lambda: runner.calm().to_json(),
            **_plc_hooks(stack),
            event_logs=((manager.log_path("tool"), "tool"),),
            event_streams=(LocalRestartPolicy(manager, sut_services,
                                              on_restart=runner.on_target_started),),
            progress=options.progress,
        ),
    )
    errors: list[str] = []
    observer.start()
    threads = [_thread("crew", lambda: run_crew(CrewSettings.from_config(config, run_dir, stack.tool_url), adapter),
                       errors)]
    if mutator_enabled(config):
        mutator = Mutator(MutatorSettings.from_config(config, run_dir), adapter)
        threads.append(_thread("mutator", mutator.run, errors))
    runner.start()
    try:
        observer.wait_soak()
        manifest.mark("soakEnd")
        outcome = observer.finish()
        for name, stamp in observer.times.items():
            manifest.data["times"][name] = stamp
        manifest.data["notes"].extend(outcome["notes"])
        manifest.data["errors"].extend(outcome.get("errors", []))
        manifest.data["calm"] = outcome["calm"]
        manifest.data["errors"].extend(errors)
        manifest.save()
        for thread in threads:
            thread.join(timeout=5)
        # The writers have stopped and the snapshots are taken: seal what the verdict rests on.
        manifest.update(seal=seal_run_dir(run_dir, manifest.data))
        verdict = judge_run_dir(run_dir)
        manifest.mark("judged")
        options.progress(f"verdict {verdict.verdict} (exit {verdict.exit_code}) in {run_dir}")
        return verdict
    finally:
        runner.stop()
        _calm_on_the_way_out(runner, options)
        observer.close()
        ledger.close()
