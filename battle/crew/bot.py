"""One bot technician: pick a target, write it as the adapter says, journal the op, think, repeat until STOP.

The bot keeps going through tool outages (a refused connection is journaled as
`fail` and the bot backs off a little). On STOP it finishes the request in
flight, journals its outcome and writes its ack file.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msgspec

from battle.adapters.base import RecordKind
from battle.common.control import ack_text
from battle.crew.journal import OpJournal
from battle.crew.outcome import Outcome, classify_exception, classify_status
from battle.crew.targets import Assignment
from battle.crew.wire import Answer, KeepAliveConnection, WireError

log = logging.getLogger(__name__)


class Connection(Protocol):
    """A bot's connection to the tool (`KeepAliveConnection`; unit tests pass a scripted one)."""

    def request(self, method: str, path: str, body: bytes | None = None) -> Answer: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class BotSettings:
    bot: int
    seed: int
    tool_url: str
    think_min_ms: int
    think_max_ms: int
    hot_fraction: float
    request_timeout_s: float = 10.0
    outage_backoff_s: float = 1.0
    action: str = "mark"  # the op's name in the journal


@dataclass
class BotStats:
    ops: int = 0
    ok: int = 0
    fail: int = 0
    info: int = 0
    errors: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class Bot:
    def __init__(self, settings: BotSettings, kind: RecordKind, assignment: Assignment, journal: OpJournal,
                 connection: Connection, should_stop: Callable[[], bool],
                 sleep: Callable[[float], None] = time.sleep,
                 mono: Callable[[], float] = time.monotonic) -> None:
        if not assignment.own and not assignment.hot:
            raise ValueError(f"bot {settings.bot} has no targets: more bots than {kind.name} records?")
        self.settings = settings
        self.kind = kind
        self.assignment = assignment
        self.journal = journal
        self.connection = connection
        self.should_stop = should_stop
        self.sleep = sleep
        self.mono = mono
        self.rng = random.Random(f"{settings.seed}:bot{settings.bot}")
        self.stats = BotStats()
        self._user = f"bot{settings.bot}"

    def _pick(self) -> tuple[Any, bool]:
        use_hot = bool(self.assignment.hot) and (
            not self.assignment.own or self.rng.random() < self.settings.hot_fraction)
        pool = self.assignment.hot if use_hot else self.assignment.own
        return self.rng.choice(pool), use_hot

    def step(self) -> Outcome:
        target, hot = self._pick()
        write = self.kind.bot_write(self.rng, target, self._user)
        action, value = self.settings.action, dict(write.value)
        op = self.journal.invoke(action, target.id, value, hot)
        started = self.mono()
        try:
            answer = self.connection.request(write.method, write.path, _encode(write.body))
            outcome = classify_status(answer.status, self.kind.classify_status(answer.status))
        except WireError as exc:
            outcome = classify_exception(exc)
        latency_ms = (self.mono() - started) * 1000.0
        self.journal.outcome(op, outcome.kind, action, target.id, value, hot,
                             outcome.status, latency_ms, outcome.error)
        self._count(outcome)
        return outcome

    def _count(self, outcome: Outcome) -> None:
        self.stats.ops += 1
        setattr(self.stats, outcome.kind, getattr(self.stats, outcome.kind) + 1)
        key = str(outcome.status) if outcome.status is not None else "none"
        self.stats.by_status[key] = self.stats.by_status.get(key, 0) + 1

    def think_s(self, outcome: Outcome) -> float:
        think = self.rng.uniform(self.settings.think_min_ms, self.settings.think_max_ms) / 1000.0
        if outcome.status is None:  # the tool is unreachable: do not spin
            think = max(think, self.settings.outage_backoff_s)
        return think

    def run(self, ack_path: Path | None = None) -> BotStats:
        """Work until STOP; the ack is written only after STOP was seen, so a bot that died or hung
        leaves no ack, and the observer reports it as a harness failure naming the bot."""
        try:
            while not self.should_stop():
                try:
                    outcome = self.step()
                except Exception:  # supervisor loop: a bot never dies of one bad op; counted, logged
                    self.stats.errors += 1
                    log.exception("bot %s: op failed inside the harness", self.settings.bot)
                    outcome = Outcome("info", None, "harness error")
                self._think(self.think_s(outcome))
        finally:
            self.connection.close()
            self.journal.close()
        if ack_path is not None:
            ack_path.parent.mkdir(parents=True, exist_ok=True)
            ack_path.write_text(ack_text(f"bot{self.settings.bot}", self.stats.ops, self.stats.errors),
                                encoding="utf-8")
        return self.stats

    def _think(self, seconds: float) -> None:
        # Sleep in slices so STOP is noticed within a fraction of a second.
        deadline = self.mono() + seconds
        while not self.should_stop():
            left = deadline - self.mono()
            if left <= 0:
                return
            self.sleep(min(0.2, left))


_encode = msgspec.json.Encoder().encode


def connect(settings: BotSettings) -> KeepAliveConnection:
    return KeepAliveConnection(settings.tool_url, timeout_s=settings.request_timeout_s)
