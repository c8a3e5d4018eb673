"""Cloud settings: built once by the entry point (`CloudConfig.from_env()`), then passed in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

DEFAULT_SQLITE_PATH = Path("data/cloud.db")


@dataclass(frozen=True)
class CloudConfig:
    host: str = "0.0.0.0"
    port: int = 8081
    # postgresql://... selects Postgres; None selects SQLite at sqlite_path.
    database_url: str | None = None
    sqlite_path: Path = DEFAULT_SQLITE_PATH
    seed_file: Path | None = None
    api_keys: tuple[str, ...] = ("battle-key",)
    rate_limit_per_min: int = 300
    # The sliding window is a minute in production; tests shrink it rather than sleep.
    rate_window_s: float = 60.0
    threads: int = 8
    # How long start-up keeps retrying an unreachable database (cloud-db may still be booting).
    db_wait_s: float = 60.0
    max_push_items: int = 200

    def __post_init__(self) -> None:
        if not self.api_keys or any(not k for k in self.api_keys):
            raise ConfigError("CLOUD_API_KEYS has no usable key; accepted: a comma list of non-empty keys, e.g. 'battle-key'")
        if self.rate_limit_per_min < 1:
            raise ConfigError(
                f"CLOUD_RATE_LIMIT_PER_MIN={self.rate_limit_per_min} is invalid; accepted: an integer >= 1"
            )
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"CLOUD_PORT={self.port} is invalid; accepted: 0..65535 (0 = any free port)")
        if self.database_url is not None and not self.database_url.startswith(("postgresql://", "postgres://")):
            raise ConfigError(
                f"CLOUD_DATABASE_URL={self.database_url!r} is invalid; accepted: postgresql://user:pw@host:port/db"
            )

    @property
    def backend(self) -> str:
        return "postgres" if self.database_url else "sqlite"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CloudConfig:
        env = os.environ if environ is None else environ
        keys = tuple(k.strip() for k in env.get("CLOUD_API_KEYS", "battle-key").split(",") if k.strip())
        seed = env.get("CLOUD_SEED_FILE", "").strip()
        return cls(
            host=env.get("CLOUD_HOST", "0.0.0.0").strip() or "0.0.0.0",
            port=_int(env, "CLOUD_PORT", 8081),
            database_url=env.get("CLOUD_DATABASE_URL", "").strip() or None,
            sqlite_path=Path(env.get("CLOUD_SQLITE_PATH", "").strip() or DEFAULT_SQLITE_PATH),
            seed_file=Path(seed) if seed else None,
            api_keys=keys,
            rate_limit_per_min=_int(env, "CLOUD_RATE_LIMIT_PER_MIN", 300, minimum=1),
            rate_window_s=float(_int(env, "CLOUD_RATE_WINDOW_S", 60, minimum=1)),
            threads=_int(env, "CLOUD_THREADS", 8, minimum=1),
            db_wait_s=float(_int(env, "CLOUD_DB_WAIT_S", 60)),
        )


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer; accepted: an integer >= {minimum}") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} is too small; accepted: an integer >= {minimum}")
    return value
