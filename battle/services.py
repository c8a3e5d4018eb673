"""Service commands of the Docker stack, and the host helpers ci/run_scenario.sh calls.

In the containers (docker-compose.battle.yml), each reads its environment once and calls the library:
  crew       the bots, from soak start until STOP           (battle.crew)
  mutator    cloud-side edits, from soak start until STOP   (battle.mutator)
  chaos      fault API + plan runner + the Docker feed       (battle.chaos.service, battle.observer.docker_feed)
  observer   the run: soak, quiesce, calm, settle, judge; exits with the verdict's code

On the host (ci/run_scenario.sh):
  compose-env   print `export NAME=value` lines: every knob resolved, the run id, project and secrets
  stack-watch   relay the observer's progress until it exits; write its exit code to a file
  finish-run    settle the verdict of a collected run directory; exit with its code
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _say(line: str) -> None:
    print(line, flush=True)


# ---------------------------------------------------------------- in the containers


def cmd_crew(args: argparse.Namespace) -> int:
    from battle.backends.docker_run import (
        StackSettings,
        report_writer_error,
        stack_adapter,
        wait_for_soak_start,
    )
    from battle.config import RunConfig
    from battle.crew.crew import CrewSettings, run_crew

    config = RunConfig.from_env()
    stack = StackSettings.from_env()
    if wait_for_soak_start(stack.run_dir, stack.startup_timeout_s + 120.0) is None:
        _say("crew: STOP before the soak started; nothing to do")
        return 0
    try:
        stats = run_crew(CrewSettings.from_config(config, stack.run_dir, stack.tool_url), stack_adapter(config, stack))
    except Exception as exc:
        report_writer_error(stack.run_dir, "crew", exc)
        raise
    _say(f"crew: done, ops per bot {({i: s.ops for i, s in sorted(stats.items())})}")
    return 0


def cmd_mutator(args: argparse.Namespace) -> int:
    from battle.backends.docker_run import (
        StackSettings,
        report_writer_error,
        stack_adapter,
        wait_for_soak_start,
    )
    from battle.config import RunConfig
    from battle.mutator.mutator import Mutator, MutatorSettings

    config = RunConfig.from_env()
    stack = StackSettings.from_env()
    if wait_for_soak_start(stack.run_dir, stack.startup_timeout_s + 120.0) is None:
        _say("mutator: STOP before the soak started; nothing to do")
        return 0
    mutator = Mutator(MutatorSettings.from_config(config, stack.run_dir), stack_adapter(config, stack))
    try:
        mutator.run()
    except Exception as exc:
        report_writer_error(stack.run_dir, "mutator", exc)
        raise
    _say(f"mutator: done, {mutator.op} edits, {mutator.errors} errors")
    return 0


def _wait_for_file(path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() >= deadline:
            from battle.chaos.errors import ChaosError

            raise ChaosError(f"{path} did not appear within {timeout_s:.0f} s: the observer writes it first; "
                             "look at the observer's log")
        time.sleep(0.5)


def cmd_chaos(args: argparse.Namespace) -> int:
    from battle.chaos.errors import ChaosError
    from battle.chaos.service import ChaosServiceConfig, docker_driver_for, serve_chaos
    from battle.observer.docker_feed import DockerFeed, FeedSettings

    config = ChaosServiceConfig.from_env()
    if config.plan_path is None:
        raise ChaosError("CHAOS_PLAN_FILE is not set; in the stack it is /runs/<run id>/plan.json")
    _wait_for_file(config.plan_path, args.plan_timeout)
    driver = docker_driver_for(config)
    feed = DockerFeed.from_engine(FeedSettings(run_dir=config.plan_path.parent, project=config.project))
    feed.start()

    def restarts_reach_the_runner(service: Any) -> None:
        def on_record(record: dict[str, Any]) -> None:
            if record.get("action") == "start" and record.get("service"):
                service.runner.on_target_started(str(record["service"]))

        feed.events.listeners.append(on_record)

    try:
        return serve_chaos(config, driver, on_service=restarts_reach_the_runner)
    finally:
        feed.stop()
        _say(f"chaos: docker feed {feed.summary()}")


def cmd_observer(args: argparse.Namespace) -> int:
    from battle.backends.docker_run import DockerObserverRun, StackSettings
    from battle.common.control import writer_names
    from battle.config import RunConfig
    from battle.mutator.mutator import mutator_enabled

    config = RunConfig.from_env()
    writers = writer_names(config.bots, mutator_enabled(config))
    return DockerObserverRun(config, StackSettings.from_env(), writers, progress=_say).run()


# ---------------------------------------------------------------- on the host


def cmd_compose_env(args: argparse.Namespace) -> int:
    from battle.backends.docker_env import compose_environment, image_ids, shell_exports
    from battle.backends.manifest import git_commit
    from battle.config import resolve_checked
    from battle.gating import plan_and_gates

    config = resolve_checked(os.environ, warn=lambda line: print(f"[battle] {line}", file=sys.stderr))
    _plan, decision = plan_and_gates(config)
    env = compose_environment(config, os.environ, git_commit=git_commit(REPO), images=image_ids(os.environ))
    sys.stdout.write(shell_exports(env))
    print(f"[battle] run {env['RUN_ID']}: scenario {config.scenario}, {config.minutes:g} min, seed {config.seed}, "
          f"{decision.summary()}, project {env['COMPOSE_PROJECT_NAME']}", file=sys.stderr)
    return 0


def cmd_stack_watch(args: argparse.Namespace) -> int:
    from battle.backends.docker_host import watch_observer

    exit_file = Path(args.exit_file)
    exit_file.unlink(missing_ok=True)
    try:
        code = watch_observer(args.project, args.timeout, show=lambda line: _say(f"[battle] {line}"))
    except TimeoutError as exc:
        print(f"[battle] {exc}", file=sys.stderr)
        return 1
    exit_file.write_text(f"{code}\n", encoding="utf-8")
    return 0


def cmd_finish_run(args: argparse.Namespace) -> int:
    from battle.backends.docker_host import (
        container_problems,
        finish_run,
        first_probe_delay,
        host_identity,
        project_states,
    )
    from battle.cli import _print_summary

    run_dir = Path(args.run_dir)
    observer_exit = None if args.observer_exit in (None, "") else int(args.observer_exit)
    started = float(args.started) if args.started else None
    problems = container_problems(project_states(args.project)) if args.project else []
    verdict = finish_run(run_dir, observer_exit, args.reason or None, problems, host_identity(os.environ, started))
    _print_summary(verdict.to_dict())
    if started is not None:
        delay = first_probe_delay(run_dir, started)
        if delay is not None:
            print(f"start to first successful probe: {delay:.1f} s")
    print(f"artifacts: {run_dir}")
    return verdict.exit_code


# ---------------------------------------------------------------- registration


def add_service_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    crew = sub.add_parser("crew", help="[stack] the bots, from soak start until STOP")
    crew.set_defaults(func=cmd_crew)
    mutator = sub.add_parser("mutator", help="[stack] cloud-side edits, from soak start until STOP")
    mutator.set_defaults(func=cmd_mutator)
    chaos = sub.add_parser("chaos", help="[stack] fault API, plan runner and the Docker feed")
    chaos.add_argument("--plan-timeout", type=float, default=600.0,
                       help="seconds to wait for the observer's plan.json (default 600)")
    chaos.set_defaults(func=cmd_chaos)
    observer = sub.add_parser("observer", help="[stack] the run: soak, quiesce, calm, settle, judge")
    observer.set_defaults(func=cmd_observer)

    env = sub.add_parser("compose-env", help="[host] print export lines for compose: resolved knobs, run id, secrets")
    env.set_defaults(func=cmd_compose_env)
    watch = sub.add_parser("stack-watch", help="[host] relay the observer's progress until it exits")
    watch.add_argument("--project", required=True, help="the compose project, battle-<run id>")
    watch.add_argument("--timeout", type=float, required=True, help="seconds to wait for the observer")
    watch.add_argument("--exit-file", required=True, help="where to write the observer's exit code")
    watch.set_defaults(func=cmd_stack_watch)
    finish = sub.add_parser("finish-run", help="[host] settle the verdict of a collected run; exit with its code")
    finish.add_argument("run_dir")
    finish.add_argument("--observer-exit", help="the observer container's exit code (empty: it never ran)")
    finish.add_argument("--reason", help="why the run cannot be trusted (interrupted, timed out, up failed)")
    finish.add_argument("--started", help="epoch seconds the run started, for the start-to-first-probe figure")
    finish.add_argument("--project", help="the compose project: its harness containers are checked too")
    finish.set_defaults(func=cmd_finish_run)
