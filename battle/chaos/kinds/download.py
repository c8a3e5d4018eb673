"""`download`: a PLC program download: the simulator stops, and comes back with every tag reset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from battle.chaos.drivers import RuntimeDriver

from .base import Effects, FaultKind, Storm, register


@register
class Download(FaultKind):
    name = "download"
    summary = "stop the PLC simulator (graceful), start it after `duration`: every tag back to its initial value"
    label = "PLC download"
    color = "#1f77b4"
    effects = {"plc-sim": Effects(down=True, restarts=True, resets_tags=True)}
    param_names = frozenset({"stopTimeoutS"})
    draws = (Storm("DOWNLOAD_STORM", "DOWNLOAD_DOWN_S", lambda cfg: [("plc-sim", {})], priority=0),)

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.stop(fault["target"], float(fault["params"].get("stopTimeoutS", 10.0)))

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.start(fault["target"])
