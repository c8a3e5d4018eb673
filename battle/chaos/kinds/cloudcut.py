"""`cloudcut`: the cloud is cut off the network (Docker) or at the cloud-proxy (local)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from battle.chaos.drivers import RuntimeDriver

from .base import Effects, FaultKind, Flap, register


@register
class CloudCut(FaultKind):
    name = "cloudcut"
    summary = "cut the cloud off (Docker: network disconnect; local: the cloud-proxy resets connections)"
    label = "cloud cut"
    color = "#ff7f0e"
    effects = {"cloud": Effects(link="cut")}
    draws = (Flap("CLOUD_FLAP", "cloud", priority=1),)

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.disconnect(fault["target"])

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.reconnect(fault["target"])
