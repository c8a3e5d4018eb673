"""The command line: parse, call the library, map the result to an exit code. Nothing else."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from battle.verdict import EXIT_CODES, demotion_line

if TYPE_CHECKING:
    from battle.config import RunConfig
    from battle.gating import GateDecision

EXIT_ERROR = EXIT_CODES["error"]


def _config(args: argparse.Namespace) -> RunConfig:
    """The knobs of validate, plan and run: resolved and checked, a misspelt knob warned about (or, with
    STRICT_KNOBS, refused) on stderr."""
    from battle.config import resolve_checked  # (the catalogue's reader: `battle judge` needs neither)

    return resolve_checked(os.environ, getattr(args, "scenario", None), getattr(args, "minutes", None),
                           getattr(args, "seed", None), warn=lambda line: print(f"battle: {line}", file=sys.stderr))


def _say_gates(config: RunConfig, decision: GateDecision) -> None:
    """The human side of validate and plan, on stderr: the gates, and one line per demoted gate."""
    print(f"battle: scenario {config.scenario}, {config.minutes:g} min, seed {config.seed}: {decision.summary()}",
          file=sys.stderr)
    for line in decision.lines():
        print(f"battle: {line}", file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    from battle.gating import plan_and_gates

    config = _config(args)
    _plan, decision = plan_and_gates(config)  # the same checks as `run`: knobs, plan, gates
    _say_gates(config, decision)
    print(json.dumps({"ok": True, "scenario": config.scenario, "minutes": config.minutes, "seed": config.seed,
                      "gates": list(decision.gates),
                      "demoted": {rid: d.to_dict() for rid, d in decision.demoted.items()}}, sort_keys=True))
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from battle.chaos.plan import plan_to_json
    from battle.gating import plan_and_gates

    config = _config(args)
    plan, decision = plan_and_gates(config)
    _say_gates(config, decision)
    sys.stdout.write(plan_to_json(plan))
    return 0


class RunInterrupted(Exception):
    """SIGTERM (a CI runner's cancel or timeout) or SIGINT reached `battle run`: restore, stop, write an
    error verdict. An Exception, so the run's own cleanup (calm, stop the stack, the verdict) handles it."""


def _interrupt_on_signals() -> None:
    def handler(signum: int, _frame: object) -> None:
        # Only the first signal interrupts; cleanup must not be cut short by a second one.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise RunInterrupted(f"{signal.Signals(signum).name} received: the run was stopped, faults restored "
                             "and the stack stopped before judging")

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def cmd_run(args: argparse.Namespace) -> int:
    config = _config(args)  # validate before anything starts
    if args.backend != "local":
        print("battle: the docker backend is driven by ci/run_scenario.sh (compose); use --backend local here",
              file=sys.stderr)
        return EXIT_ERROR
    from battle.backends.local import LocalRunOptions, run_local

    _interrupt_on_signals()
    started = time.monotonic()
    verdict = run_local(config, LocalRunOptions(runs_root=Path(args.runs_dir), run_id=args.run_id,
                                                progress=lambda line: print(line, flush=True)))
    _print_summary(verdict.to_dict())
    print(f"wall time {time.monotonic() - started:.0f} s", flush=True)
    return verdict.exit_code


def cmd_judge(args: argparse.Namespace) -> int:
    from battle.judging import judge_run_dir
    from battle.observer.gather import GatherError

    started = time.monotonic()
    try:
        verdict = judge_run_dir(Path(args.run_dir), write=not args.dry_run)
    except GatherError as exc:  # not a run dir: said plainly, nothing written
        print(f"battle: {exc}", file=sys.stderr)
        return EXIT_ERROR
    _print_summary(verdict.to_dict())
    print(f"judged in {time.monotonic() - started:.2f} s", flush=True)
    return verdict.exit_code


def cmd_restore(args: argparse.Namespace) -> int:
    from battle.chaos.errors import ChaosError
    from battle.chaos.restore import restore_run

    started = time.monotonic()
    try:
        report = restore_run(Path(args.run_dir), force=args.force, stop_timeout_s=args.stop_timeout)
    except ChaosError as exc:
        print(f"battle restore: nothing done: {exc}", file=sys.stderr)
        return EXIT_ERROR
    for line in report.lines():
        print(line, flush=True)
    print(f"restore took {time.monotonic() - started:.2f} s", flush=True)
    return 0 if report.ok else EXIT_ERROR


def cmd_report(args: argparse.Namespace) -> int:
    from battle.report.html import write_run_report

    print(write_run_report(Path(args.run_dir)))
    return 0


def cmd_morning(args: argparse.Namespace) -> int:
    from battle.report.morning import write_morning_report

    print(write_morning_report([Path(p) for p in args.run_dirs], Path(args.out)))
    return 0


def _print_summary(verdict: dict) -> None:
    print(f"verdict: {verdict['verdict'].upper()} (exit {verdict['exitCode']}) — run {verdict['runId']}, "
          f"scenario {verdict['scenario']}, seed {verdict['seed']}")
    for result in verdict["results"]:
        role = "gate  " if result["role"] == "gate" else "report"
        print(f"  {result['id']:<3} {role} {result['status']:<12} evidence={result['evidence']:<6} "
              f"{result['reason']}")
    for rid, demotion in sorted(verdict.get("demoted", {}).items()):
        print(f"  {demotion_line(rid, demotion.get('reason', ''), demotion.get('cause', 'infeasible'))}")
    for kind, counts in sorted(verdict.get("coverage", {}).items()):
        print(f"  fault {kind:<13} " + " ".join(f"{k}={v}" for k, v in counts.items()))
    for error in verdict.get("errors", []):
        print(f"  error: {error}")
    evidence = verdict.get("evidence") or {}
    if not evidence.get("sealed", True):
        print("  evidence: UNSEALED: the run ended before it sealed its artifacts; judged as far as they allow")
    problems = list(evidence.get("problems") or [])
    for problem in problems[:_PROBLEMS_SHOWN]:
        print(f"  evidence problem: {problem}")
    if len(problems) > _PROBLEMS_SHOWN:
        print(f"  evidence: {len(problems) - _PROBLEMS_SHOWN} more problem(s) in verdict.json (evidence.problems)")


_PROBLEMS_SHOWN = 20


class _ScenarioNames:
    """The catalogue's scenario names, read when a help text shows them: commands that need no catalogue
    (`battle judge`) never read it."""

    def __str__(self) -> str:
        from battle.config import scenario_names

        return ", ".join(scenario_names())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="battle", description="chaos/soak harness")
    sub = parser.add_subparsers(dest="command", required=True)

    def knobs(p: argparse.ArgumentParser) -> None:
        scenario = p.add_argument("--scenario", help="one of %(scenarios)s (env SCENARIO)")
        scenario.scenarios = _ScenarioNames()  # type: ignore[attr-defined]  # (help expands action attributes)
        p.add_argument("--minutes", help="soak minutes (env SOAK_MINUTES)")
        p.add_argument("--seed", help="seed (env SEED)")

    run = sub.add_parser("run", help="run a scenario end to end and judge it")
    knobs(run)
    run.add_argument("--backend", choices=("local", "docker"), default="local")
    run.add_argument("--runs-dir", default=os.environ.get("BATTLE_RUNS_DIR", "runs"))
    run.add_argument("--run-id")
    run.set_defaults(func=cmd_run)
    plan = sub.add_parser("plan", help="print the seeded fault plan as JSON")
    knobs(plan)
    plan.set_defaults(func=cmd_plan)
    validate = sub.add_parser("validate", help="check the knobs in the environment; exit 2 on a bad one")
    knobs(validate)
    validate.set_defaults(func=cmd_validate)
    judge = sub.add_parser("judge", help="recompute the verdict of a run directory from its artifacts")
    judge.add_argument("run_dir")
    judge.add_argument("--dry-run", action="store_true", help="print the verdict without rewriting files")
    judge.set_defaults(func=cmd_judge)
    restore = sub.add_parser("restore", help="undo the faults a killed run left applied (and, local backend, "
                                             "stop the processes it left); idempotent")
    restore.add_argument("run_dir")
    restore.add_argument("--force", action="store_true",
                         help="act even though the run's harness (local) or chaos service (Docker) still runs")
    restore.add_argument("--stop-timeout", type=float, default=10.0,
                         help="seconds an orphaned process gets after SIGTERM before SIGKILL (default 10)")
    restore.set_defaults(func=cmd_restore)
    report = sub.add_parser("report", help="(re)write report.html of a run directory")
    report.add_argument("run_dir")
    report.set_defaults(func=cmd_report)
    morning = sub.add_parser("morning", help="merge several runs' verdicts into one morning report")
    morning.add_argument("run_dirs", nargs="+")
    morning.add_argument("--out", default="morning.html")
    morning.set_defaults(func=cmd_morning)
    from battle.probe.command import add_probe_command
    from battle.services import add_service_commands

    add_probe_command(sub)

    add_service_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except BrokenPipeError:  # the reader went away (e.g. `| head`); nothing left to say
        return 0
    except KeyboardInterrupt:
        print("battle: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # the one place a harness failure becomes exit code 2
        from battle.config import ConfigError  # (imported here: `battle judge` never reads the catalogue)

        if isinstance(exc, ConfigError):
            print(f"battle: bad configuration, nothing started:\n{exc}", file=sys.stderr)
            return EXIT_ERROR
        logging.getLogger("battle").exception("harness failure")
        print(f"battle: harness error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
