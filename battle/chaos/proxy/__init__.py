"""The cloud-proxy: fault injection on the tool→cloud path (`python -m battle.chaos.proxy`).

Its parts are imported on first use (PEP 562): the fault kinds need only the state's parsers, and a judge
that imports them should not pay for an HTTP client and server."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from battle.chaos.proxy.client import ProxyClient
    from battle.chaos.proxy.config import ProxyConfig
    from battle.chaos.proxy.server import CloudProxy
    from battle.chaos.proxy.state import ProxyMode, ProxyState

__all__ = ["CloudProxy", "ProxyClient", "ProxyConfig", "ProxyMode", "ProxyState"]
_MODULES = {"CloudProxy": "server", "ProxyClient": "client", "ProxyConfig": "config", "ProxyMode": "state",
            "ProxyState": "state"}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(importlib.import_module(f"battle.chaos.proxy.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
