"""`linkshape`: a degraded tool→cloud link (latency, jitter, bandwidth, drops) at the cloud-proxy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from battle.chaos.proxy.state import parse_shape

from ._proxy import ProxyLayerKind, proxy_params
from .base import Effects, Storm, Variant, register


def _variants(cfg: Any) -> Sequence[Variant]:
    return [("cloud-proxy", {"latencyMs": cfg.value("LINKSHAPE_LATENCY_MS"),
                             "jitterMs": cfg.value("LINKSHAPE_JITTER_MS"),
                             "bandwidthKbps": cfg.value("LINKSHAPE_BANDWIDTH_KBPS"),
                             "dropRate": cfg.value("LINKSHAPE_DROP_RATE")})]


@register
class LinkShape(ProxyLayerKind):
    name = "linkshape"
    summary = "shape tool→cloud traffic: params latencyMs, jitterMs, bandwidthKbps, dropRate"
    label = "degraded link"
    color = "#17becf"
    effects = {"cloud-proxy": Effects(link="degrade")}
    param_names = frozenset({"latencyMs", "jitterMs", "bandwidthKbps", "dropRate"})
    draws = (Storm("LINKSHAPE", "LINKSHAPE_S", _variants, priority=6),)
    layer = "shape"

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return proxy_params(self.name, parse_shape, super().check_params(params))
