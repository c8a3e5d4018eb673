"""Simulator configuration: built once by the entry point (environment, then flags), then passed in."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sut.plcsim.delay_file import DEFAULT_DELAY_FILE  # where the chaos Docker driver writes, in the container
from sut.plcsim.errors import PlcSimError

DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 44818
DEFAULT_TAGS_FILE = "plc_tags.json"


@dataclass(frozen=True)
class PlcSimConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT  # 0 lets the kernel pick; the start event reports the real port
    tags_file: Path = Path(DEFAULT_TAGS_FILE)
    delay_ms: float = 0.0  # added before every EtherNet/IP response (a saturated controller)
    # The chaos `delay` fault writes a number of ms here to override delay_ms while it lasts
    # (sut/plcsim/delay_file.py); None disables the file.
    delay_file: Path | None = Path(DEFAULT_DELAY_FILE)

    def __post_init__(self) -> None:
        if not self.host:
            raise PlcSimError("PLC_HOST is empty; give an interface address such as 0.0.0.0 or 127.0.0.1")
        if not 0 <= self.port <= 65535:
            raise PlcSimError(f"PLC_PORT is {self.port}; accepted: an integer 0..65535 (0 = any free port)")
        if self.delay_ms < 0:
            raise PlcSimError(f"DELAY_MS is {self.delay_ms}; accepted: a number of milliseconds >= 0")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PlcSimConfig:
        env = os.environ if environ is None else environ
        return cls(
            host=env.get("PLC_HOST", DEFAULT_HOST),
            port=parse_port(env.get("PLC_PORT", str(DEFAULT_PORT)), "PLC_PORT"),
            tags_file=Path(env.get("PLC_TAGS_FILE", DEFAULT_TAGS_FILE)),
            delay_ms=parse_delay_ms(env.get("DELAY_MS", "0"), "DELAY_MS"),
            delay_file=optional_path(env.get("PLC_DELAY_FILE", DEFAULT_DELAY_FILE)),
        )

    def with_overrides(
        self,
        *,
        host: str | None = None,
        port: int | None = None,
        tags_file: Path | None = None,
        delay_ms: float | None = None,
        delay_file: str | None = None,
    ) -> PlcSimConfig:
        """Command-line flags beat the environment; None means 'not given'."""
        return PlcSimConfig(
            host=self.host if host is None else host,
            port=self.port if port is None else port,
            tags_file=self.tags_file if tags_file is None else tags_file,
            delay_ms=self.delay_ms if delay_ms is None else delay_ms,
            delay_file=self.delay_file if delay_file is None else optional_path(delay_file),
        )


def optional_path(text: str) -> Path | None:
    """An empty setting switches the file off."""
    return Path(text) if text.strip() else None


def parse_port(text: str, knob: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise PlcSimError(f"{knob} is {text!r}; accepted: an integer 0..65535 (0 = any free port)") from None


def parse_delay_ms(text: str, knob: str) -> float:
    try:
        value = float(text.strip() or "0")
    except ValueError:
        raise PlcSimError(f"{knob} is {text!r}; accepted: a number of milliseconds >= 0, e.g. 250") from None
    if not math.isfinite(value):  # NaN or infinity cannot be slept
        raise PlcSimError(f"{knob} is {text!r}; accepted: a finite number of milliseconds >= 0")
    return value
