"""`cloud-errors`: the cloud-proxy answers 429 (with Retry-After) or 5xx itself for a while."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from battle.chaos.proxy.state import parse_errors

from ._proxy import ProxyLayerKind, proxy_params
from .base import Effects, Storm, Variant, register


def _variants(cfg: Any) -> Sequence[Variant]:
    fraction = cfg.value("CLOUD_ERRORS_FRACTION")
    return [("cloud-proxy", {"status": s, "fraction": fraction}) for s in cfg.value("CLOUD_ERRORS_STATUS")]


@register
class CloudErrors(ProxyLayerKind):
    name = "cloud-errors"
    summary = "the cloud-proxy answers params.status (429 with Retry-After, or 5xx) for params.fraction of requests"
    label = "cloud errors"
    color = "#bcbd22"
    effects = {"cloud-proxy": Effects(link="errors")}
    param_names = frozenset({"status", "fraction", "retryAfterS"})
    draws = (Storm("CLOUD_ERRORS", "CLOUD_ERRORS_S", _variants, priority=2),)
    layer = "errors"

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return proxy_params(self.name, parse_errors, super().check_params(params))
