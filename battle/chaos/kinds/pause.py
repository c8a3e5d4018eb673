"""`pause`: freeze the tool (SIGSTOP / docker pause), resume after `duration`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from battle.chaos.drivers import RuntimeDriver

from .base import Effects, FaultKind, Storm, register


@register
class Pause(FaultKind):
    name = "pause"
    summary = "freeze (SIGSTOP / docker pause), resume after `duration`"
    label = "freeze"
    color = "#e377c2"
    effects = {"tool": Effects(down=True, freezes=True, undone_by_restart=True)}
    draws = (Storm("PAUSE_STORM", "PAUSE_S", lambda cfg: [("tool", {})], priority=5),)

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.pause(fault["target"])

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.unpause(fault["target"])
