"""The cloud mutator: one edit every MUTATE_PERIOD_SEC, journaled; measures propagation to the tool.

Propagation is measured during the soak: after an edit is acknowledged by the
cloud, the mutator polls the tool's records until the edit shows (or STOP),
and journals a `seen` line with the latency. What an edit is, and how it is
made and seen, is the adapter's business.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from battle.adapters.base import AdapterError, CloudEdit, SutAdapter
from battle.common.control import stop_requested, write_ack
from battle.common.jsonl import JsonlWriter
from battle.common.timefmt import iso_utc
from battle.config import RunConfig

log = logging.getLogger(__name__)
MUTATION_SCHEMA = 1


@dataclass(frozen=True)
class MutatorSettings:
    run_dir: Path
    period_s: float
    seed: int

    @classmethod
    def from_config(cls, config: RunConfig, run_dir: Path) -> MutatorSettings:
        return cls(run_dir=run_dir, period_s=float(config.value("MUTATE_PERIOD_SEC")), seed=config.seed)


def mutator_enabled(config: RunConfig) -> bool:
    """The mutator runs when the `mutate` profile is on (COMPOSE_PROFILES), in both backends."""
    profiles = [p.strip() for p in str(config.value("COMPOSE_PROFILES") or "").split(",")]
    return "mutate" in profiles and float(config.value("MUTATE_PERIOD_SEC")) > 0


class Mutator:
    def __init__(self, settings: MutatorSettings, adapter: SutAdapter, should_stop: Callable[[], bool] | None = None,
                 clock: Callable[[], float] = time.time, mono: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.adapter = adapter
        self.should_stop = should_stop or stop_requested(settings.run_dir)
        self.clock, self.mono, self.sleep = clock, mono, sleep
        self.rng = random.Random(f"{settings.seed}:mutator")
        self.journal = JsonlWriter(settings.run_dir / "mutations.jsonl")
        self.pending: list[tuple[int, CloudEdit, float]] = []  # op, edit, mono time acknowledged
        self.op = 0
        self.errors = 0  # edits that did not happen (the cloud may be down by design)
        self.harness_errors = 0  # failures inside the harness: each one makes the verdict an error

    def _record(self, **fields: Any) -> None:
        self.journal.write({"schema": MUTATION_SCHEMA, "ts": iso_utc(self.clock()), "mono": round(self.mono(), 6),
                            **fields})

    def mutate_once(self) -> None:
        self.op += 1
        edit = self.adapter.choose_cloud_edit(self.rng, self.op)
        fields = dict(edit.fields)
        self._record(op=self.op, type="invoke", action=edit.action, ioId=edit.record_id, fields=fields, status=None)
        try:
            answer = self.adapter.apply_cloud_edit(edit)
        except AdapterError as exc:  # no answer: the edit may or may not have been made
            self._record(op=self.op, type="info", action=edit.action, ioId=edit.record_id, fields=fields,
                         status=None, error=str(exc))
            return
        kind = "ok" if 200 <= answer.status < 300 else ("fail" if answer.status < 500 else "info")
        if kind == "ok":
            edit = CloudEdit(edit.action, answer.record_id, edit.fields)
        self._record(op=self.op, type=kind, action=edit.action, ioId=edit.record_id, fields=fields,
                     status=answer.status, error=None if kind == "ok" else answer.text[:200])
        if kind == "ok":
            self.pending.append((self.op, edit, self.mono()))

    def check_propagation(self) -> None:
        if not self.pending:
            return
        try:
            local = {int(record["id"]): record for record in self.adapter.primary_kind().local_snapshot()}
        except (AdapterError, KeyError, TypeError, ValueError):
            return  # the tool may be down by design; try again next tick
        still = []
        for op, edit, since in self.pending:
            if self.adapter.edit_visible(local.get(edit.record_id or -1), edit.fields):
                self._record(op=op, type="seen", action=edit.action, ioId=edit.record_id,
                             latencyS=round(self.mono() - since, 3))
            else:
                still.append((op, edit, since))
        self.pending = still

    def run(self) -> None:
        """Edit until STOP; the ack is written only after STOP was seen (a dead mutator leaves none)."""
        next_edit = self.mono() + self.settings.period_s
        try:
            while not self.should_stop():
                if self.mono() >= next_edit:
                    next_edit += self.settings.period_s
                    try:
                        self.mutate_once()
                    except AdapterError as exc:  # the cloud may be down by design
                        self.errors += 1
                        log.warning("mutator: edit %s skipped, cloud unreachable: %s", self.op, exc)
                    except Exception:  # supervisor loop: log, count, carry on; the count reaches the verdict
                        self.errors += 1
                        self.harness_errors += 1
                        log.exception("mutator: edit %s failed inside the harness", self.op)
                self.check_propagation()
                self.sleep(1.0)
        finally:
            self.journal.close()
        write_ack(self.settings.run_dir, "mutator", ops=self.op, harness_errors=self.harness_errors)
