"""Run BOTS bots against the tool until STOP; each bot in its own thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from battle.adapters.base import AdapterError, RecordKind, RecordTarget, SutAdapter
from battle.common.control import ack_path, stop_requested
from battle.config import RunConfig
from battle.crew.bot import Bot, BotSettings, BotStats, connect
from battle.crew.journal import OpJournal, journal_path
from battle.crew.targets import assign, choose_hot_set

log = logging.getLogger(__name__)


class CrewError(Exception):
    """The crew cannot start (no targets, tool never answered)."""


@dataclass(frozen=True)
class CrewSettings:
    run_dir: Path
    tool_url: str
    bots: int
    seed: int
    think_min_ms: int
    think_max_ms: int
    hot_fraction: float
    startup_timeout_s: float = 300.0

    @classmethod
    def from_config(cls, config: RunConfig, run_dir: Path, tool_url: str) -> CrewSettings:
        return cls(run_dir=run_dir, tool_url=tool_url, bots=config.bots, seed=config.seed,
                   think_min_ms=int(config.value("THINK_MIN_MS")), think_max_ms=int(config.value("THINK_MAX_MS")),
                   hot_fraction=float(config.value("HOT_FRACTION")))


def fetch_targets(kind: RecordKind, timeout_s: float, should_stop: Callable[[], bool]) -> list[RecordTarget]:
    """The records the bots write, asked of the tool until it answers (the tool may still be starting)."""
    deadline = time.monotonic() + timeout_s
    last_error = "no attempt"
    while time.monotonic() < deadline and not should_stop():
        try:
            return sorted(kind.list_targets(), key=lambda t: t.id)
        except AdapterError as exc:
            last_error = str(exc)
        time.sleep(1.0)
    raise CrewError(f"the tool did not list its {kind.name} records within {timeout_s:.0f} s "
                    f"(last error: {last_error}); is it up and is TOOL_URL right?")


def run_crew(settings: CrewSettings, adapter: SutAdapter) -> dict[int, BotStats]:
    should_stop = stop_requested(settings.run_dir)
    kind = adapter.primary_kind()
    targets = fetch_targets(kind, settings.startup_timeout_s, should_stop)
    if not targets:
        raise CrewError(f"the tool at {settings.tool_url} lists no {kind.name} records")
    hot_ids = choose_hot_set(targets, settings.hot_fraction, settings.seed)
    stats: dict[int, BotStats] = {}
    threads = []
    for index in range(settings.bots):
        bot_settings = BotSettings(bot=index, seed=settings.seed, tool_url=settings.tool_url,
                                   think_min_ms=settings.think_min_ms, think_max_ms=settings.think_max_ms,
                                   hot_fraction=settings.hot_fraction)
        bot = Bot(bot_settings, kind, assign(targets, index, settings.bots, hot_ids),
                  OpJournal(journal_path(settings.run_dir, index), index, kind.name), connect(bot_settings), should_stop)
        thread = threading.Thread(target=lambda b=bot, i=index: stats.__setitem__(
            i, b.run(ack_path(settings.run_dir, f"bot{i}"))), name=f"bot{index}", daemon=True)
        threads.append(thread)
        thread.start()
    for thread in threads:
        thread.join()
    return stats
