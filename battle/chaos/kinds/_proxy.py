"""What the kinds that act through the cloud-proxy's control API share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from battle.chaos.drivers import RuntimeDriver
from battle.chaos.errors import ChaosError, FaultSpecError, ProxyControlError

from .base import FaultKind


def require_proxy(proxy: Any, kind: str) -> Any:
    if proxy is None:
        raise ChaosError(
            f"{kind} acts through the cloud-proxy, but no proxy control URL is configured (CHAOS_PROXY_URL)"
        )
    return proxy


def proxy_params(kind: str, parse: Callable[[Any], Any], params: Mapping[str, Any]) -> dict[str, Any]:
    try:
        parse(params)
    except ProxyControlError as exc:
        raise FaultSpecError(f"{kind}: {exc}") from None
    return dict(params)


class ProxyLayerKind(FaultKind):
    """Turns one layer of the cloud-proxy on at apply and off at restore."""

    uses_runtime = False
    layer: str

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        require_proxy(proxy, self.name).set_mode({self.layer: dict(fault["params"])})

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        require_proxy(proxy, self.name).set_mode({self.layer: None})

    def target_up(self, driver: RuntimeDriver, proxy: Any, target: str) -> bool:
        return require_proxy(proxy, self.name).health().get("status") == "ok"
