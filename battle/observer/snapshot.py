"""Snapshots of what is judged: local and cloud state and the tool's queue, written as artifacts."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from battle.adapters.reference import AdapterError, ReferenceAdapter
from battle.common.jsonl import write_json_atomic
from battle.mutator.edits import edit_visible


def take_snapshots(adapter: ReferenceAdapter, run_dir: Path) -> list[str]:
    """Write snapshot-local/cloud/queue.json; returns the problems (a missing snapshot is not fatal)."""
    problems = []
    for name, read in (("snapshot-queue.json", adapter.queue_state), ("snapshot-local.json", adapter.local_snapshot),
                       ("snapshot-cloud.json", adapter.cloud_snapshot)):
        value: Any = None
        for attempt in range(3):  # the cloud may rate-limit one read; a second try is cheap
            try:
                value = read()
                break
            except AdapterError as exc:
                if attempt == 2:
                    problems.append(f"{name}: {exc}")
                time.sleep(2.0)
        if value is not None:
            write_json_atomic(run_dir / name, value)
    return problems


def wait_for_propagation(adapter: ReferenceAdapter, expected: list[tuple[int, dict[str, Any]]], max_s: float,
                         clock: Callable[[], float] = time.monotonic,
                         sleep: Callable[[float], None] = time.sleep) -> tuple[bool, float]:
    """Wait until every (ioId, fields) cloud edit shows in the tool; returns (all seen, seconds waited)."""
    started = clock()
    while True:
        try:
            local = {int(io["id"]): io for io in adapter.local_snapshot()}
            if all(edit_visible(local.get(io_id), fields) for io_id, fields in expected):
                return True, clock() - started
        except AdapterError:
            pass
        if clock() - started >= max_s:
            return False, clock() - started
        sleep(1.0)
