"""Settle: wait until the tool's active queue is empty and the cloud answers (bounded)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from battle.invariants.targets import norm_comments, norm_result


class SettleTarget(Protocol):
    def queue_state(self) -> dict[str, Any]: ...
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
            last_queue = target.queue_state()
            cloud_ok = target.cloud_healthy()
            if last_queue["active"] == 0 and cloud_ok:
                return SettleResult(True, clock() - started, last_queue, None, polls)
            last_error = None if cloud_ok else "cloud not healthy"
        except Exception as exc:  # the tool may still be restarting after calm
            last_error = f"{type(exc).__name__}: {exc}"
        if clock() - started >= max_s:
            return SettleResult(False, None, last_queue, last_error, polls)
        sleep(poll_s)


class ConvergeTarget(Protocol):
    def queue_state(self) -> dict[str, Any]: ...
    def local_snapshot(self) -> list[dict[str, Any]]: ...
    def cloud_snapshot(self) -> list[dict[str, Any]]: ...


def differing_ids(local: list[dict[str, Any]], cloud: list[dict[str, Any]], excluded: set[int]) -> list[int]:
    """IOs whose result or comments differ between tool and cloud, compared as the judges compare them."""
    def key(io: dict[str, Any]) -> tuple[Any, Any]:
        return norm_result(io.get("result")), norm_comments(io.get("comments"))

    cloud_by_id = {int(io["id"]): io for io in cloud}
    return sorted(int(io["id"]) for io in local
                  if int(io["id"]) in cloud_by_id and int(io["id"]) not in excluded
                  and key(io) != key(cloud_by_id[int(io["id"])]))


def wait_converged(target: ConvergeTarget, max_s: float, clock: Callable[[], float] = time.monotonic,
                   sleep: Callable[[float], None] = time.sleep, poll_s: float = 2.0) -> tuple[bool, float, int]:
    """After the queue drained, give the tool's pull time to bring cloud state back (e.g. after a wipe).

    A drained outbox is not yet a settled field: a re-seeded tool only gets the
    cloud's values on its next pull. Waiting here (bounded) keeps I4/I6 from
    judging a pull that simply has not run yet. Parked rows are excluded: they
    differ by design. Returns (converged, seconds waited, IOs still differing).
    """
    started = clock()
    remaining = -1
    while True:
        try:
            parked = {int(row["ioId"]) for row in target.queue_state().get("parkedRows", [])}
            remaining = len(differing_ids(target.local_snapshot(), target.cloud_snapshot(), parked))
            if remaining == 0:
                return True, clock() - started, 0
        except Exception:  # the tool or cloud may blip; keep trying until the bound
            pass
        if clock() - started >= max_s:
            return False, clock() - started, remaining
        sleep(poll_s)
