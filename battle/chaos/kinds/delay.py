"""`delay`: every PLC reply slowed by params.delayMs for `duration` (then back to DELAY_MS)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from battle.chaos.drivers import RuntimeDriver
from battle.chaos.errors import FaultSpecError

from .base import Effects, FaultKind, register


@register
class Delay(FaultKind):
    name = "delay"
    summary = "slow every PLC reply by params.delayMs for `duration` (then back to DELAY_MS)"
    label = "PLC delay"
    color = "#8c564b"
    effects = {"plc-sim": Effects(slows=True)}
    param_names = frozenset({"delayMs"})

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        checked = super().check_params(params)
        value = checked.get("delayMs")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FaultSpecError(
                f"delay: params.delayMs must be an integer >= 0 (milliseconds), not {value!r}"
            )
        return checked

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.set_plc_delay(int(fault["params"]["delayMs"]))

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.set_plc_delay(None)
