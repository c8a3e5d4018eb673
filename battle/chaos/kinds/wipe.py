"""`wipe`: kill the tool and erase its data volume; it re-seeds when started after `duration`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from battle.chaos.drivers import RuntimeDriver

from .base import AttritionRole, Effects, FaultKind, register


@register
class Wipe(FaultKind):
    name = "wipe"
    summary = "kill and erase the data volume, start after `duration` (the tool re-seeds)"
    label = "wipe"
    color = "#7f0000"
    effects = {"tool": Effects(down=True, restarts=True, loses_data=True)}
    attrition = AttritionRole("wipe", ("tool",))

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.wipe(fault["target"])

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.start(fault["target"])
