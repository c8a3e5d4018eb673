"""What the integration tests that drive a real local run share: waiting on it, reading its ledger."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def ledger_lines(run_dir: Path) -> list[dict]:
    """The fault ledger's well-formed lines so far (the run may be writing it)."""
    path = run_dir / "injected.jsonl"
    if not path.exists():
        return []
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return lines


def ledger_steps(run_dir: Path, kind: str) -> list[str]:
    return [line["step"] for line in ledger_lines(run_dir) if line.get("kind") == kind]
