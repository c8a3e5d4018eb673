"""Snapshots of what is judged: local and cloud state and the tool's queue, written as artifacts."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from battle.adapters.base import AdapterError, SutAdapter
from battle.common.jsonl import write_json_atomic
from battle.seal import snapshot_name


def take_snapshots(adapter: SutAdapter, run_dir: Path) -> list[str]:
    """Write snapshot-queue.json and each record kind's local and cloud snapshots (the first kind's
    snapshot-local/cloud.json, another's snapshot-local/cloud.<kind>.json); returns the problems (a missing
    snapshot is not fatal)."""
    kinds = adapter.record_kinds()
    names = tuple(kinds)
    problems = []
    reads: list[tuple[str, Callable[[], Any]]] = [("snapshot-queue.json", lambda: adapter.queue_state().to_json())]
    for name, kind in kinds.items():
        reads += [(snapshot_name("local", name, names), kind.local_snapshot),
                  (snapshot_name("cloud", name, names), kind.cloud_snapshot)]
    for name, read in reads:
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


def wait_for_propagation(adapter: SutAdapter, expected: list[tuple[int, dict[str, Any]]], max_s: float,
                         clock: Callable[[], float] = time.monotonic,
                         sleep: Callable[[float], None] = time.sleep) -> tuple[bool, float]:
    """Wait until every (record id, fields) cloud edit shows in the tool; returns (all seen, seconds waited)."""
    started = clock()
    while True:
        try:
            local = {int(record["id"]): record for record in adapter.primary_kind().local_snapshot()}
            if all(adapter.edit_visible(local.get(record_id), fields) for record_id, fields in expected):
                return True, clock() - started
        except AdapterError:
            pass
        if clock() - started >= max_s:
            return False, clock() - started
        sleep(1.0)
