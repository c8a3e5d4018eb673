"""Runs a fault plan in time: apply each fault at its `at`, restore it `duration` later, journal both.

Plan times are relative to `begin_plan()` (the soak start); time comes from an injected clock and sleeper, so
tests drive a whole plan in microseconds. One lock serializes every driver action — planned steps,
faults injected through the API, and calm — so two actions never race on the same container.

Failure policy (each recorded in the ledger as step "failed" with the error):
- an apply that fails is undone at once (restore is idempotent), so a half-applied fault (tool
  killed, erase failed) does not leave the system down for the rest of the soak;
- a restore that fails is retried a few times, and calm retries it once more and reports it.

Before a fault touches the runtime its restore intent is journaled (step "intent": kind, target,
params, duration), so a harness killed between apply and restore leaves on disk what to undo.

One fault per target at a time: a second fault on a target that has one active would be undone by
the first one's restore while the ledger still called it active. The API refuses it (TargetBusy →
409); a plan fault that meets one (the plan generator never overlaps faults on a target, so only an
API fault or a restore that keeps failing can cause it) is journaled "failed" and not applied.

Dead-man's switch (battle/chaos/deadman.py): given one, the loop reads it before every turn; when
the observer's heartbeat is overdue the runner calms on its own (every restore journaled with
`by: "dead-man's switch"` and the reason as `note`), logs why, and its plan stops. The reason stays
in every later calm report and in `status()`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from battle.chaos.deadman import DeadmanSwitch
from battle.chaos.drivers import RuntimeDriver
from battle.chaos.errors import ChaosError, TargetRefused
from battle.chaos.faults import get_kind, validate_fault
from battle.chaos.ledger import Ledger

log = logging.getLogger(__name__)

DEADMAN_BY = "dead-man's switch"
_RESTORE_RETRY_S = 5.0
_RESTORE_ATTEMPTS = 3
_APPLY, _RESTORE = 1, 0  # at the same instant a restore goes first: it frees the target


class CalmedError(ChaosError):
    """Chaos was calmed (end of soak): no new fault is accepted."""


class TargetBusy(ChaosError):
    """The target already has an active fault: a second one would be undone by the first's restore."""

    def __init__(self, target: str, active: Mapping[str, Any]) -> None:
        self.target = target
        self.active = {"fault": active["id"], "kind": active["kind"], "target": target}
        super().__init__(
            f"target {target!r} already has fault {active['id']} ({active['kind']}) active; one fault per "
            "target at a time (its restore would undo a second one); retry after it is restored"
        )


@dataclass(frozen=True)
class CalmReport:
    restored: tuple[dict[str, Any], ...]
    failed: tuple[dict[str, Any], ...]  # restores that failed: the system may be left broken
    running: dict[str, bool]  # target -> running after calm
    problems: tuple[str, ...] = ()
    reason: str | None = None  # why chaos was calmed when it was not the end of the soak (dead-man's switch)

    @property
    def ok(self) -> bool:
        return not self.failed and all(self.running.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "restored": list(self.restored),
            "failed": list(self.failed),
            "running": dict(self.running),
            "problems": list(self.problems),
            "reason": self.reason,
        }


@dataclass
class _Active:
    fault: dict[str, Any]
    attempts: int = 0
    last_error: str | None = None


@dataclass(order=True)
class _Event:
    t: float
    order: int
    seq: int
    fault_id: str = field(compare=False)


class PlanRunner:
    def __init__(
        self,
        plan: Mapping[str, Any],
        driver: RuntimeDriver,
        proxy_client: Any,
        ledger: Ledger,
        clock: Callable[[], float] = time.monotonic,
        sleeper: Callable[[float], None] | None = None,
        *,
        max_sleep_s: float = 0.5,
        deadman: DeadmanSwitch | None = None,
    ) -> None:
        if (
            not isinstance(plan, Mapping)
            or plan.get("schema") != 1
            or not isinstance(plan.get("faults"), list)
        ):
            raise ChaosError(
                "the plan must be a JSON object with schema 1 and a list of faults (battle.chaos.plan)"
            )
        self._raw_faults = [dict(f) if isinstance(f, Mapping) else {"id": repr(f)} for f in plan["faults"]]
        self._driver = driver
        self._proxy = proxy_client
        self._ledger = ledger
        self._clock = clock
        self._wake = threading.Event()
        self._sleeper = sleeper or self._wait_for_wake
        self._max_sleep_s = max_sleep_s
        self._deadman = deadman
        self._calm_reason: str | None = None
        self._lock = threading.RLock()
        self._faults: dict[str, dict[str, Any]] = {}  # every fault known: planned and injected
        self._events: list[_Event] = []
        self._active: dict[str, _Active] = {}  # in apply order (dicts keep insertion order)
        self._seq = itertools.count()
        self._api_ids = itertools.count(1)
        self._t0: float | None = None
        self._stopped = False
        self._calmed = False
        self._thread: threading.Thread | None = None
        self.counts = {"applied": 0, "restored": 0, "failed": 0}

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, begin_plan: bool = True) -> None:
        """Start the loop in a background thread; by default the plan begins now (soak start)."""
        with self._lock:
            if begin_plan:
                self.begin_plan()
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self.run, name="chaos-plan", daemon=True)
            self._thread.start()
        self._wake.set()

    def begin_plan(self) -> None:
        """Journal every planned fault and schedule it `at` seconds from now. Idempotent."""
        with self._lock:
            if self._t0 is not None or self._calmed:
                return
            self._t0 = self._clock()
            for raw in self._raw_faults:
                self._ledger.record(raw, "planned")
                try:
                    fault = validate_fault(raw)
                except ChaosError as exc:
                    self._fail(raw, f"invalid fault, not applied: {exc}")
                    continue
                if fault["id"] in self._faults:
                    self._fail(raw, f"duplicate fault id {fault['id']!r} in the plan, not applied")
                    continue
                self._faults[fault["id"]] = fault
                self._schedule(self._t0 + fault["at"], _APPLY, fault["id"])
        self._wake.set()

    def run_to_end(self) -> None:
        """Begin the plan and run it in this thread until nothing is left scheduled (tests, one-shot use)."""
        self.begin_plan()
        self.run(stop_when_idle=True)

    def run(self, stop_when_idle: bool = False) -> None:
        """The loop: fire every step that is due, sleep until the next (at most max_sleep_s).
        Before each turn the dead-man's switch, if any, is read: when it fires, calm and return."""
        while True:
            if self.check_deadman():
                return
            delay = self.step()
            if self._stopped or (stop_when_idle and delay is None):
                return
            self._sleeper(max(0.0, min(self._max_sleep_s if delay is None else delay, self._max_sleep_s)))

    def step(self) -> float | None:
        """Fire every step due now; returns seconds until the next one, None when nothing is scheduled."""
        with self._lock:
            while self._events and self._events[0].t <= self._clock() and not self._stopped:
                self._fire(heapq.heappop(self._events))
            if self._stopped or not self._events:
                return None
            return self._events[0].t - self._clock()

    def check_deadman(self) -> bool:
        """Read the dead-man's switch once; when the observer's heartbeat is overdue, calm (journaling why)
        and return True. False when there is no switch, chaos is calmed already, or the beat is fresh."""
        if self._deadman is None or self._calmed:
            return False
        reason = self._deadman.check()
        if reason is None:
            return False
        log.warning("%s", reason)
        report = self.calm(reason=reason, by=DEADMAN_BY)
        log.warning(
            "dead-man's switch calm: restored %s, failed %s, running %s",
            [r["fault"] for r in report.restored], [f["fault"] for f in report.failed], report.running,
        )
        return True

    def stop(self) -> None:
        """Stop applying; faults still active stay active (calm restores them)."""
        with self._lock:
            self._stopped = True
        self._wake.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _elapsed(self) -> float:
        """Seconds since the plan began (0 before)."""
        return 0.0 if self._t0 is None else self._clock() - self._t0

    def _wait_for_wake(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _schedule(self, t: float, order: int, fault_id: str) -> None:
        heapq.heappush(self._events, _Event(t, order, next(self._seq), fault_id))

    # -- steps -----------------------------------------------------------------------------------

    def _fire(self, event: _Event) -> None:
        fault = self._faults[event.fault_id]
        if event.order == _APPLY:
            self._apply(fault)
        else:
            self._restore(fault)

    def _active_on(self, target: str) -> dict[str, Any] | None:
        """The fault active on `target` (applied, not yet restored, or whose restore failed), if any."""
        for active in self._active.values():
            if active.fault["target"] == target:
                return active.fault
        return None

    def _apply(self, fault: dict[str, Any]) -> bool:
        busy = self._active_on(fault["target"])
        if busy is not None:  # inject() refuses this before journaling; only a plan fault gets here
            self._fail(fault, f"not applied: {TargetBusy(fault['target'], busy)}")
            return False
        kind = get_kind(fault["kind"])
        # Journaled before the runtime is touched: if the harness dies mid-apply, the ledger still
        # says what may be in effect and how to undo it (kind, target, params, duration).
        self._ledger.record(fault, "intent")
        try:
            kind.apply(self._driver, self._proxy, fault)
        except Exception as exc:  # any driver/engine failure: journal it, keep the plan going
            error = f"apply failed: {exc}"
            try:
                kind.restore(self._driver, self._proxy, fault)
                error += "; undone at once"
            except Exception as undo_exc:  # journaled with the apply failure
                error += f"; undo also failed: {undo_exc}"
            self._fail(fault, error)
            return False
        self._ledger.record(fault, "applied")
        self.counts["applied"] += 1
        self._active[fault["id"]] = _Active(fault)
        self._schedule(self._clock() + fault["duration"], _RESTORE, fault["id"])
        return True

    def _restore(self, fault: dict[str, Any], by: str | None = None, note: str | None = None) -> bool:
        active = self._active.get(fault["id"])
        if active is None:
            return True  # restored already (calm got there first)
        active.attempts += 1
        try:
            get_kind(fault["kind"]).restore(self._driver, self._proxy, fault)
        except Exception as exc:  # journaled; retried, then left for calm to report
            active.last_error = f"restore failed (attempt {active.attempts}): {exc}"
            self._fail(fault, active.last_error, by=by, note=note)
            if active.attempts < _RESTORE_ATTEMPTS:
                self._schedule(self._clock() + _RESTORE_RETRY_S, _RESTORE, fault["id"])
            return False
        del self._active[fault["id"]]
        self._ledger.record(fault, "restored", by=by, note=note)
        self.counts["restored"] += 1
        return True

    def on_target_started(self, target: str) -> list[dict[str, Any]]:
        """The runtime saw `target` start while faults were active on it (a crash and its restart policy).

        A fault whose effect lives in the target's process (its kind declares `undone_by_restart`,
        e.g. a freeze) is gone with the old process: it is re-applied for the rest of its window and
        journaled `applied` again, by "target restart"; if that fails it is ended (`failed`, then no
        longer active). A fault whose effect outlives a restart (a network cut, a proxy layer, a file)
        or that restarts the target itself is left as it is. Returns what was done, one entry a fault."""
        done: list[dict[str, Any]] = []
        with self._lock:
            for fault_id, active in list(self._active.items()):
                fault = active.fault
                if fault["target"] != target:
                    continue
                if not get_kind(fault["kind"]).effects_on(target).undone_by_restart:
                    continue
                note = f"{target} started again during {fault_id}; its restart undid the fault"
                try:
                    get_kind(fault["kind"]).apply(self._driver, self._proxy, fault)
                except Exception as exc:  # journaled: the fault is over, the ledger says so
                    del self._active[fault_id]
                    self._fail(fault, f"ended: re-applying after the restart failed: {exc}", by="target restart",
                               note=note)
                    done.append({"fault": fault_id, "action": "ended", "error": str(exc)})
                    continue
                self._ledger.record(fault, "applied", by="target restart", note=note + "; re-applied")
                done.append({"fault": fault_id, "action": "re-applied"})
        return done

    def _fail(self, fault: Mapping[str, Any], error: str, *, by: str | None = None, note: str | None = None) -> None:
        self._ledger.record(fault, "failed", error, by=by, note=note)
        self.counts["failed"] += 1

    # -- API-driven ------------------------------------------------------------------------------

    def inject(
        self, kind: str, target: str, duration: float, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Apply one fault now and restore it after `duration`; returns {"fault", "applied", "error"}.

        Raises FaultSpecError (bad kind/target/params), TargetRefused (outside the allowlist),
        TargetBusy (the target has an active fault) or CalmedError (after calm) — in each case
        nothing was done and nothing journaled.
        """
        with self._lock:
            if self._calmed:
                raise CalmedError("chaos was calmed (end of soak); no new fault is accepted")
            fault = validate_fault(
                {
                    "id": f"api{next(self._api_ids):03d}",
                    "kind": kind,
                    "target": target,
                    "duration": duration,
                    "params": params or {},
                },
                needs_at=False,
            )
            if get_kind(fault["kind"]).uses_runtime:
                allowed = self._driver.allowlist()
                if target not in allowed:
                    raise TargetRefused(target, allowed)
            busy = self._active_on(target)
            if busy is not None:
                raise TargetBusy(target, busy)
            while fault["id"] in self._faults:
                fault["id"] = f"api{next(self._api_ids):03d}"
            fault["at"] = round(self._elapsed(), 3)
            self._faults[fault["id"]] = fault
            self._ledger.record(fault, "planned")
            applied = self._apply(fault)
        self._wake.set()
        return {
            "fault": fault,
            "applied": applied,
            "error": None if applied else "see the ledger (step failed)",
        }

    # -- calm ------------------------------------------------------------------------------------

    def calm(self, reason: str | None = None, by: str | None = None) -> CalmReport:
        """Stop the plan, restore everything still active, confirm every target runs. Idempotent.

        `reason` and `by` (the dead-man's switch gives both) are journaled as `note` and `by` of every
        restore this calm makes; the reason of the first calm is kept for every later report."""
        self.stop()
        with self._lock:
            if not self._calmed:
                self._calm_reason = reason
            self._calmed = True
            self._events.clear()
            restored: list[dict[str, Any]] = []
            failed: list[dict[str, Any]] = []
            for fault_id in reversed(list(self._active)):
                fault = self._active[fault_id].fault
                summary = {"fault": fault_id, "kind": fault["kind"], "target": fault["target"]}
                if self._restore(fault, by=by, note=reason):
                    restored.append(summary)
                else:
                    failed.append({**summary, "error": self._active[fault_id].last_error})
            running: dict[str, bool] = {}
            problems: list[str] = []
            kind_of_target = {f["target"]: get_kind(f["kind"]) for f in self._faults.values()}
            for target in sorted(kind_of_target):
                try:
                    running[target] = kind_of_target[target].target_up(self._driver, self._proxy, target)
                except Exception as exc:  # reported in the calm answer, never raised
                    running[target] = False
                    problems.append(f"cannot tell whether {target!r} runs: {exc}")
        if threading.current_thread() is not self._thread:
            self.join(timeout=5.0)
        return CalmReport(tuple(restored), tuple(failed), running, tuple(problems), self._calm_reason)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "started": self._t0 is not None,
                "stopped": self._stopped,
                "calmed": self._calmed,
                "calmReason": self._calm_reason,
                "elapsedS": round(self._elapsed(), 3) if self._t0 is not None else None,
                "pending": sum(1 for e in self._events if e.order == _APPLY),
                "active": [
                    {"fault": a.fault["id"], "kind": a.fault["kind"], "target": a.fault["target"]}
                    for a in self._active.values()
                ],
                "counts": dict(self.counts),
            }
