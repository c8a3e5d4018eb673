"""The STOP / ack handshake between the observer and the writers (crew, mutator).

Files, not sockets, so it works the same between local threads, processes and
containers sharing a volume. A fresh run directory is required: a stale STOP
from an earlier run would make the crew exit at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path


class ControlError(Exception):
    """The control folder is not usable for a fresh run."""


def writer_names(bots: int, with_mutator: bool) -> tuple[str, ...]:
    """The ack names the observer waits for: one per bot, plus the mutator when it runs."""
    return tuple(f"bot{i}" for i in range(bots)) + (("mutator",) if with_mutator else ())


def control_dir(run_dir: Path) -> Path:
    return run_dir / "control"


def stop_path(run_dir: Path) -> Path:
    return control_dir(run_dir) / "STOP"


def ack_path(run_dir: Path, who: str) -> Path:
    return control_dir(run_dir) / f"ack-{who}"


def heartbeat_path(run_dir: Path) -> Path:
    """Rewritten every second by the observer while it runs; chaos's dead-man's switch watches it."""
    return control_dir(run_dir) / "heartbeat"


def ensure_fresh(run_dir: Path) -> None:
    if stop_path(run_dir).exists():
        raise ControlError(f"{stop_path(run_dir)} exists before the run started: a stale STOP from an earlier "
                           "run would stop the writers at once; use a fresh run id or directory")
    control_dir(run_dir).mkdir(parents=True, exist_ok=True)


def stop_requested(run_dir: Path) -> Callable[[], bool]:
    path = stop_path(run_dir)
    return path.exists


def request_stop(run_dir: Path) -> None:
    control_dir(run_dir).mkdir(parents=True, exist_ok=True)
    stop_path(run_dir).write_text("stop\n", encoding="utf-8")


def wait_for_acks(run_dir: Path, who: Iterable[str], timeout_s: float,
                  clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Wait (bounded) for every ack; returns the writers that never acknowledged."""
    expected = list(who)
    deadline = clock() + timeout_s
    while True:
        missing = [name for name in expected if not ack_path(run_dir, name).exists()]
        if not missing or clock() >= deadline:
            return missing
        sleep(0.2)


def write_ack(run_dir: Path, who: str, *, ops: int, harness_errors: int) -> None:
    """A writer's last word after it saw STOP: how many ops, and how many failures inside the harness."""
    path = ack_path(run_dir, who)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ack_text(who, ops, harness_errors), encoding="utf-8")


def ack_text(who: str, ops: int, harness_errors: int) -> str:
    return f"{who} ops={ops} harnessErrors={harness_errors}\n"


def ack_problems(run_dir: Path, who: Iterable[str]) -> list[str]:
    """Harness failures the acks report: a writer whose supervisor loop caught errors (logged, counted)."""
    problems = []
    for name in who:
        path = ack_path(run_dir, name)
        if not path.is_file():
            continue  # a missing ack is reported by the quiesce wait
        text = path.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"harnessErrors=(\d+)", text)
        if match is None:
            problems.append(f"harness: the ack of {name} does not say how many harness errors it counted: {text!r:.80}")
        elif int(match.group(1)) > 0:
            problems.append(f"harness: {name} caught {match.group(1)} error(s) inside the harness in its loop "
                            "(its ops went on; see its log for the tracebacks)")
    return problems
