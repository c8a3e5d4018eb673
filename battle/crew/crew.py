"""Run BOTS bots against the tool until STOP; each bot in its own thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from battle.common.control import ack_path, stop_requested
from battle.config import RunConfig
from battle.crew.bot import Bot, BotSettings, BotStats, connect
from battle.crew.journal import OpJournal, journal_path
from battle.crew.targets import Target, assign, choose_hot_set

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
    subsystem_id: int = 38
    startup_timeout_s: float = 300.0

    @classmethod
    def from_config(cls, config: RunConfig, run_dir: Path, tool_url: str) -> CrewSettings:
        return cls(run_dir=run_dir, tool_url=tool_url, bots=config.bots, seed=config.seed,
                   think_min_ms=int(config.value("THINK_MIN_MS")), think_max_ms=int(config.value("THINK_MAX_MS")),
                   hot_fraction=float(config.value("HOT_FRACTION")))


def fetch_targets(tool_url: str, subsystem_id: int, timeout_s: float,
                  should_stop: Callable[[], bool]) -> list[Target]:
    """The IO list from the tool, retried until it answers (the tool may still be starting)."""
    deadline = time.monotonic() + timeout_s
    last_error = "no attempt"
    while time.monotonic() < deadline and not should_stop():
        try:
            response = requests.get(f"{tool_url}/api/ios", params={"subsystemId": subsystem_id}, timeout=10)
            if response.status_code == 200:
                ios = response.json()["ios"]
                return sorted((Target(int(io["id"]), bool(io.get("isSpare"))) for io in ios),
                              key=lambda t: t.io_id)
            last_error = f"HTTP {response.status_code}"
        except (requests.RequestException, ValueError, KeyError) as exc:
            last_error = str(exc)
        time.sleep(1.0)
    raise CrewError(f"the tool at {tool_url} did not list its IOs within {timeout_s:.0f} s "
                    f"(last error: {last_error}); is it up and is TOOL_URL right?")


def run_crew(settings: CrewSettings) -> dict[int, BotStats]:
    should_stop = stop_requested(settings.run_dir)
    targets = fetch_targets(settings.tool_url, settings.subsystem_id, settings.startup_timeout_s, should_stop)
    if not targets:
        raise CrewError(f"the tool at {settings.tool_url} lists no IOs for subsystem {settings.subsystem_id}")
    hot_ids = choose_hot_set(targets, settings.hot_fraction, settings.seed)
    stats: dict[int, BotStats] = {}
    threads = []
    for index in range(settings.bots):
        bot_settings = BotSettings(bot=index, seed=settings.seed, tool_url=settings.tool_url,
                                   think_min_ms=settings.think_min_ms, think_max_ms=settings.think_max_ms,
                                   hot_fraction=settings.hot_fraction)
        bot = Bot(bot_settings, assign(targets, index, settings.bots, hot_ids),
                  OpJournal(journal_path(settings.run_dir, index), index), connect(bot_settings), should_stop)
        thread = threading.Thread(target=lambda b=bot, i=index: stats.__setitem__(
            i, b.run(ack_path(settings.run_dir, f"bot{i}"))), name=f"bot{index}", daemon=True)
        threads.append(thread)
        thread.start()
    for thread in threads:
        thread.join()
    return stats
