"""Tool configuration: built once from the environment by the entry point, then passed in, frozen."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sut.tool.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class ToolConfig:
    data_dir: Path
    host: str = "0.0.0.0"
    port: int = 8080
    seed_dir: Path | None = None
    cloud_url: str | None = None  # None: the sync workers stay idle
    cloud_api_key: str = "battle-key"
    plc_host: str | None = None  # None: the PLC worker stays idle
    plc_port: int = 44818
    subsystem_id: int = 38
    push_interval_s: float = 1.0
    pull_interval_s: float = 2.0
    plc_poll_s: float = 1.0
    conflict_cap: int = 3
    retry_cap: int = 10
    event_log: Path | None = None
    bugs: frozenset[str] = field(default_factory=frozenset)
    # Not in the shared contract's required list; exposed so tests and benches can shorten them.
    health_interval_s: float = 60.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    http_timeout_s: float = 10.0
    plc_timeout_s: float = 5.0
    threads: int = 8

    @property
    def db_path(self) -> Path:
        return self.data_dir / "tool.db"

    def has_bug(self, name: str) -> bool:
        return name in self.bugs

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ToolConfig:
        """Read every TOOL_* knob; a malformed value raises ConfigError naming it and the accepted form."""
        from sut.bugs import UnknownBugError, parse_bugs  # the planted-bug registry shared with the cloud

        try:
            bugs = parse_bugs(env.get("BATTLE_SUT_BUGS", ""))
        except UnknownBugError as exc:
            raise ConfigError(str(exc)) from exc
        reader = _EnvReader(env)
        return cls(
            data_dir=Path(reader.text("TOOL_DATA_DIR", "data")),
            host=reader.text("TOOL_HOST", "0.0.0.0"),
            port=reader.number("TOOL_PORT", 8080, int, minimum=0, maximum=65535),
            seed_dir=reader.path_or_none("TOOL_SEED_DIR"),
            cloud_url=reader.text_or_none("TOOL_CLOUD_URL"),
            cloud_api_key=reader.text("TOOL_CLOUD_API_KEY", "battle-key"),
            plc_host=reader.text_or_none("TOOL_PLC_HOST"),
            plc_port=reader.number("TOOL_PLC_PORT", 44818, int, minimum=1, maximum=65535),
            subsystem_id=reader.number("TOOL_SUBSYSTEM_ID", 38, int, minimum=0),
            push_interval_s=reader.number("TOOL_PUSH_INTERVAL_S", 1.0, float, minimum=0.01),
            pull_interval_s=reader.number("TOOL_PULL_INTERVAL_S", 2.0, float, minimum=0.01),
            plc_poll_s=reader.number("TOOL_PLC_POLL_S", 1.0, float, minimum=0.01),
            conflict_cap=reader.number("TOOL_CONFLICT_CAP", 3, int, minimum=1),
            retry_cap=reader.number("TOOL_RETRY_CAP", 10, int, minimum=1),
            event_log=reader.path_or_none("TOOL_EVENT_LOG"),
            bugs=bugs,
            health_interval_s=reader.number("TOOL_HEALTH_INTERVAL_S", 60.0, float, minimum=0.01),
            backoff_base_s=reader.number("TOOL_BACKOFF_BASE_S", 0.5, float, minimum=0.001),
            backoff_max_s=reader.number("TOOL_BACKOFF_MAX_S", 30.0, float, minimum=0.001),
            http_timeout_s=reader.number("TOOL_HTTP_TIMEOUT_S", 10.0, float, minimum=0.1),
            plc_timeout_s=reader.number("TOOL_PLC_TIMEOUT_S", 5.0, float, minimum=0.1),
            threads=reader.number("TOOL_THREADS", 8, int, minimum=1),
        )


class _EnvReader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def _raw(self, name: str) -> str | None:
        value = self._env.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def text(self, name: str, default: str) -> str:
        return self._raw(name) or default

    def text_or_none(self, name: str) -> str | None:
        return self._raw(name)

    def path_or_none(self, name: str) -> Path | None:
        raw = self._raw(name)
        return Path(raw) if raw else None

    def number(self, name: str, default: T, kind: Callable[[str], T], *, minimum: float | None = None,
               maximum: float | None = None) -> T:
        raw = self._raw(name)
        if raw is None:
            return default
        form = "an integer" if kind is int else "a number"
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not {form}; expected {form} such as {default!r}") from None
        if minimum is not None and value < minimum:  # type: ignore[operator]
            raise ConfigError(f"{name}={raw!r} is below {minimum}; expected {form} >= {minimum}")
        if maximum is not None and value > maximum:  # type: ignore[operator]
            raise ConfigError(f"{name}={raw!r} is above {maximum}; expected {form} <= {maximum}")
        return value
