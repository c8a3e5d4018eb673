"""The cloud mutator: one edit every MUTATE_PERIOD_SEC, journaled; measures propagation to the tool.

Propagation is measured during the soak: after an edit is acknowledged by the
cloud, the mutator polls the tool's IO list until the edit shows (or STOP),
and journals a `seen` line with the latency.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from battle.common.control import stop_requested, write_ack
from battle.common.jsonl import JsonlWriter
from battle.common.timefmt import iso_utc
from battle.config import RunConfig
from battle.mutator.edits import Edit, choose_edit, edit_visible

log = logging.getLogger(__name__)
MUTATION_SCHEMA = 1


@dataclass(frozen=True)
class MutatorSettings:
    run_dir: Path
    cloud_url: str
    api_key: str
    tool_url: str
    period_s: float
    seed: int
    subsystem_id: int = 38
    # IOs that bots write are never retired by default: a retirement turns a later Passed into a
    # business rejection, which is intended, but only for a few targets.
    request_timeout_s: float = 10.0

    @classmethod
    def from_config(cls, config: RunConfig, run_dir: Path, cloud_url: str, api_key: str,
                    tool_url: str) -> MutatorSettings:
        return cls(run_dir=run_dir, cloud_url=cloud_url, api_key=api_key, tool_url=tool_url,
                   period_s=float(config.value("MUTATE_PERIOD_SEC")), seed=config.seed)


def mutator_enabled(config: RunConfig) -> bool:
    """The mutator runs when the `mutate` profile is on (COMPOSE_PROFILES), in both backends."""
    profiles = [p.strip() for p in str(config.value("COMPOSE_PROFILES") or "").split(",")]
    return "mutate" in profiles and float(config.value("MUTATE_PERIOD_SEC")) > 0


class Mutator:
    def __init__(self, settings: MutatorSettings, should_stop: Callable[[], bool] | None = None,
                 clock: Callable[[], float] = time.time, mono: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.should_stop = should_stop or stop_requested(settings.run_dir)
        self.clock, self.mono, self.sleep = clock, mono, sleep
        self.rng = random.Random(f"{settings.seed}:mutator")
        self.journal = JsonlWriter(settings.run_dir / "mutations.jsonl")
        self.session = requests.Session()
        self.session.headers["X-API-Key"] = settings.api_key
        self.pending: list[tuple[int, Edit, float]] = []  # op, edit, mono time acknowledged
        self.op = 0
        self.errors = 0  # edits that did not happen (the cloud may be down by design)
        self.harness_errors = 0  # failures inside the harness: each one makes the verdict an error

    def _record(self, **fields: Any) -> None:
        self.journal.write({"schema": MUTATION_SCHEMA, "ts": iso_utc(self.clock()), "mono": round(self.mono(), 6),
                            **fields})

    def _cloud_ids(self) -> tuple[list[int], list[int]]:
        response = self.session.get(f"{self.settings.cloud_url}/api/sync/pull",
                                    params={"subsystemId": self.settings.subsystem_id},
                                    timeout=self.settings.request_timeout_s)
        response.raise_for_status()
        ios = response.json()["ios"]
        ids = sorted(int(io["id"]) for io in ios if not io.get("deleted"))
        retirable = [int(io["id"]) for io in ios if not io.get("isSpare") and not io.get("deleted")]
        return ids, retirable

    def mutate_once(self) -> None:
        self.op += 1
        ids, retirable = self._cloud_ids()
        edit = choose_edit(self.rng, self.op, ids, retirable, self.settings.subsystem_id)
        base = f"{self.settings.cloud_url}/api/admin/ios"
        self._record(op=self.op, type="invoke", action=edit.action, ioId=edit.io_id, fields=edit.fields, status=None)
        try:
            if edit.action == "add":
                response = self.session.post(base, json=edit.fields, timeout=self.settings.request_timeout_s)
            else:
                response = self.session.patch(f"{base}/{edit.io_id}", json=edit.fields,
                                              timeout=self.settings.request_timeout_s)
        except requests.RequestException as exc:
            self._record(op=self.op, type="info", action=edit.action, ioId=edit.io_id, fields=edit.fields,
                         status=None, error=str(exc))
            return
        kind = "ok" if response.ok else ("fail" if response.status_code < 500 else "info")
        io_id = edit.io_id
        if kind == "ok" and edit.action == "add":
            io_id = int(response.json()["id"])
            edit = Edit(edit.action, io_id, edit.fields)
        self._record(op=self.op, type=kind, action=edit.action, ioId=io_id, fields=edit.fields,
                     status=response.status_code, error=None if response.ok else response.text[:200])
        if kind == "ok":
            self.pending.append((self.op, edit, self.mono()))

    def check_propagation(self) -> None:
        if not self.pending:
            return
        try:
            response = requests.get(f"{self.settings.tool_url}/api/ios",
                                    params={"subsystemId": self.settings.subsystem_id}, timeout=10)
            response.raise_for_status()
            local = {int(io["id"]): io for io in response.json()["ios"]}
        except (requests.RequestException, ValueError, KeyError):
            return  # the tool may be down by design; try again next tick
        still = []
        for op, edit, since in self.pending:
            if edit_visible(local.get(edit.io_id or -1), edit.fields):
                self._record(op=op, type="seen", action=edit.action, ioId=edit.io_id,
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
                    except requests.RequestException as exc:  # the cloud may be down by design
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
