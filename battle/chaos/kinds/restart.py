"""`restart`: a graceful stop (SIGTERM, SIGKILL after stopTimeoutS), start after `duration`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from battle.chaos.drivers import RuntimeDriver

from .base import AttritionRole, Effects, FaultKind, register


@register
class Restart(FaultKind):
    name = "restart"
    summary = "graceful stop (SIGTERM, SIGKILL after stopTimeoutS), start after `duration`"
    label = "graceful restart"
    color = "#2ca02c"
    effects = {
        "tool": Effects(down=True, restarts=True),
        "plc-sim": Effects(down=True, restarts=True, resets_tags=True),
        "cloud": Effects(down=True, restarts=True, link="cut"),
    }
    param_names = frozenset({"stopTimeoutS"})
    attrition = AttritionRole("graceful", ("tool", "plc-sim", "cloud"))

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.stop(fault["target"], float(fault["params"].get("stopTimeoutS", 10.0)))

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.start(fault["target"])
