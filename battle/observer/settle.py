"""Settle: wait until the tool's active queue is empty and the cloud answers (bounded)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from battle.adapters.base import QueueState, RecordKind


class SettleTarget(Protocol):
    def queue_state(self) -> QueueState: ...
    def cloud_healthy(self) -> bool: ...


@dataclass(frozen=True)
class SettleResult:
    drained: bool
    seconds: float | None  # time to drain; None when it never did
    last_queue: dict[str, Any] | None
    last_error: str | None
    polls: int


def settle(target: SettleTarget, max_s: float, clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep, poll_s: float = 1.0) -> SettleResult:
    started = clock()
    last_queue: dict[str, Any] | None = None
    last_error: str | None = None
    polls = 0
    while True:
        polls += 1
        try:
            queue = target.queue_state()
            last_queue = queue.to_json()
            cloud_ok = target.cloud_healthy()
            if queue.active == 0 and cloud_ok:
                return SettleResult(True, clock() - started, last_queue, None, polls)
            last_error = None if cloud_ok else "cloud not healthy"
        except Exception as exc:  # the tool may still be restarting after calm
            last_error = f"{type(exc).__name__}: {exc}"
        if clock() - started >= max_s:
            return SettleResult(False, None, last_queue, last_error, polls)
        sleep(poll_s)


class ConvergeTarget(Protocol):
    def queue_state(self) -> QueueState: ...
    def primary_kind(self) -> RecordKind: ...


def differing_ids(kind: RecordKind, local: list[dict[str, Any]], cloud: list[dict[str, Any]],
                  excluded: set[int]) -> list[int]:
    """Records whose compared fields differ between tool and cloud, normalised as the adapter says."""
    cloud_by_id = {int(record["id"]): record for record in cloud}
    return sorted(int(record["id"]) for record in local
                  if int(record["id"]) in cloud_by_id and int(record["id"]) not in excluded
                  and kind.compared_value(record) != kind.compared_value(cloud_by_id[int(record["id"])]))


def wait_converged(target: ConvergeTarget, max_s: float, clock: Callable[[], float] = time.monotonic,
                   sleep: Callable[[float], None] = time.sleep, poll_s: float = 2.0) -> tuple[bool, float, int]:
    """After the queue drained, give the tool's pull time to bring cloud state back (e.g. after a wipe).

    A drained outbox is not yet a settled field: a re-seeded tool only gets the
    cloud's values on its next pull. Waiting here (bounded) keeps I4/I6 from
    judging a pull that simply has not run yet. Parked rows are excluded: they
    differ by design. Returns (converged, seconds waited, records still differing).
    """
    started = clock()
    remaining = -1
    while True:
        try:
            kind = target.primary_kind()
            parked = set(target.queue_state().parked_ids)
            remaining = len(differing_ids(kind, kind.local_snapshot(), kind.cloud_snapshot(), parked))
            if remaining == 0:
                return True, clock() - started, 0
        except Exception:  # the tool or cloud may blip; keep trying until the bound
            pass
        if clock() - started >= max_s:
            return False, clock() - started, remaining
        sleep(poll_s)
