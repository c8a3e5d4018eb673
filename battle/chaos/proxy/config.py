"""Cloud-proxy configuration, built once by the entry point and passed in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from battle.chaos.errors import ProxyControlError

DEFAULT_HOST = "127.0.0.1"  # loopback unless told: the stack names its network explicitly (PROXY_HOST)
DEFAULT_LISTEN_PORT = 8090
DEFAULT_CONTROL_PORT = 8091


@dataclass(frozen=True)
class ProxyConfig:
    upstream: str  # base URL of the real cloud, e.g. http://cloud:8081
    token: str  # X-Chaos-Token required on the control API
    host: str = DEFAULT_HOST
    listen_port: int = DEFAULT_LISTEN_PORT  # 0 = any free port (reported on stdout)
    control_port: int = DEFAULT_CONTROL_PORT
    seed: int = 1  # seeds the choice of which requests get an error or a drop
    upstream_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProxyControlError(
                f"PROXY_UPSTREAM is {self.upstream!r}; accepted: an http(s) base URL such as http://cloud:8081"
            )
        if not self.token:
            raise ProxyControlError("CHAOS_TOKEN is empty; the control API refuses to run without a token")
        for knob, port in (
            ("PROXY_LISTEN_PORT", self.listen_port),
            ("PROXY_CONTROL_PORT", self.control_port),
        ):
            if not 0 <= port <= 65535:
                raise ProxyControlError(f"{knob} is {port}; accepted: 0..65535 (0 = any free port)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ProxyConfig:
        env = os.environ if environ is None else environ
        return cls(
            upstream=env.get("PROXY_UPSTREAM", ""),
            token=env.get("CHAOS_TOKEN", ""),
            host=env.get("PROXY_HOST", DEFAULT_HOST),
            listen_port=_int(env, "PROXY_LISTEN_PORT", DEFAULT_LISTEN_PORT),
            control_port=_int(env, "PROXY_CONTROL_PORT", DEFAULT_CONTROL_PORT),
            seed=_int(env, "PROXY_SEED", _int(env, "SEED", 1)),
        )


def _int(env: Mapping[str, str], knob: str, default: int) -> int:
    text = env.get(knob, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ProxyControlError(f"{knob} is {text!r}; accepted: an integer") from None
