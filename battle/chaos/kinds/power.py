"""`power` and `toolkill`: SIGKILL (a power cut), then start again after `duration`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from battle.chaos.drivers import RuntimeDriver

from .base import AttritionRole, Effects, FaultKind, Storm, register

_KILLED = Effects(down=True, restarts=True)


class _Kill(FaultKind):
    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.kill(fault["target"])

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.start(fault["target"])


@register
class Power(_Kill):
    name = "power"
    summary = "SIGKILL (power cut), start after `duration`"
    label = "power cut"
    color = "#d62728"
    # A simulator that loses power comes back with its initial tag values, like after a download.
    effects = {"tool": _KILLED, "plc-sim": Effects(down=True, restarts=True, resets_tags=True)}
    draws = (Storm("POWER_STORM", "POWER_DOWN_S", lambda cfg: [("tool", {}), ("plc-sim", {})], priority=3),)
    attrition = AttritionRole("crash", ("tool", "plc-sim"))


@register
class ToolKill(_Kill):
    name = "toolkill"
    summary = "SIGKILL the tool, start it again after a short `duration`"
    label = "tool kill"
    color = "#9467bd"
    effects = {"tool": _KILLED}
    draws = (Storm("TOOLKILL_STORM", "TOOLKILL_S", lambda cfg: [("tool", {})], priority=4),)
