"""Fault kinds, registered by name: each one knows its targets, checks its params, applies, restores.

A fault is the plan's JSON dict: {"id", "kind", "target", "at", "duration", "params"}. Kinds act
only through a RuntimeDriver (processes/containers) and the cloud-proxy's control client, so the
same kind works on both backends. `restore` undoes exactly what `apply` did and is safe to call
again (calm may retry a restore that failed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from battle.chaos.drivers import RuntimeDriver
from battle.chaos.errors import ChaosError, FaultSpecError, ProxyControlError
from battle.chaos.proxy.state import parse_errors, parse_shape

_REGISTRY: dict[str, FaultKind] = {}


def register(cls: type[FaultKind]) -> type[FaultKind]:
    _REGISTRY[cls.name] = cls()
    return cls


def kinds() -> list[str]:
    return sorted(_REGISTRY)


def get_kind(name: str) -> FaultKind:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise FaultSpecError(f"fault kind {name!r} is unknown; known kinds: {', '.join(kinds())}") from None


class FaultKind:
    name: ClassVar[str]
    targets: ClassVar[frozenset[str]]
    summary: ClassVar[str]
    param_names: ClassVar[frozenset[str]] = frozenset()
    # False for kinds that act only through the cloud-proxy's token-protected control API: their
    # target is never touched through the runtime, so it need not be on the runtime's allowlist.
    uses_runtime: ClassVar[bool] = True

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(params) - self.param_names
        if unknown:
            accepted = ", ".join(sorted(self.param_names)) or "none"
            raise FaultSpecError(f"{self.name}: unknown param(s) {sorted(unknown)}; accepted: {accepted}")
        return dict(params)

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def target_up(self, driver: RuntimeDriver, proxy: Any, target: str) -> bool:
        """After calm: is the target back in service?"""
        return bool(driver.is_running(target))


class ProxyFaultKind(FaultKind):
    uses_runtime = False

    def target_up(self, driver: RuntimeDriver, proxy: Any, target: str) -> bool:
        return _require_proxy(proxy, self.name).health().get("status") == "ok"


def _number(fault: Mapping[str, Any], key: str, default: float | None) -> float:
    value = fault.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise FaultSpecError(
            f"fault {fault.get('id')!r}: {key} must be a number of seconds >= 0, not {value!r}"
        )
    return float(value)


def validate_fault(fault: Mapping[str, Any], *, needs_at: bool = True) -> dict[str, Any]:
    """A normalized copy of a fault dict; raises FaultSpecError naming the fault and the field."""
    if not isinstance(fault, Mapping):
        raise FaultSpecError(f"a fault must be a JSON object, not {type(fault).__name__}")
    kind = get_kind(str(fault.get("kind")))
    target = fault.get("target")
    if target not in kind.targets:
        raise FaultSpecError(
            f"fault {fault.get('id')!r}: {kind.name} cannot target {target!r}; accepted: {', '.join(sorted(kind.targets))}"
        )
    params = fault.get("params") or {}
    if not isinstance(params, Mapping):
        raise FaultSpecError(f"fault {fault.get('id')!r}: params must be a JSON object, not {params!r}")
    normalized = {
        "id": str(fault.get("id") or ""),
        "kind": kind.name,
        "target": target,
        "duration": _number(fault, "duration", 0.0),
        "params": kind.check_params(params),
    }
    if needs_at or "at" in fault:
        normalized["at"] = _number(fault, "at", None)
    return normalized


def _require_proxy(proxy: Any, kind: str) -> Any:
    if proxy is None:
        raise ChaosError(
            f"{kind} acts through the cloud-proxy, but no proxy control URL is configured (CHAOS_PROXY_URL)"
        )
    return proxy


@register
class Download(FaultKind):
    name = "download"
    targets = frozenset({"plc-sim"})
    summary = (
        "stop the PLC simulator (graceful), start it after `duration`: every tag back to its initial value"
    )
    param_names = frozenset({"stopTimeoutS"})

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.stop(fault["target"], float(fault["params"].get("stopTimeoutS", 10.0)))

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.start(fault["target"])


@register
class Power(FaultKind):
    name = "power"
    targets = frozenset({"tool", "plc-sim"})
    summary = "SIGKILL (power cut), start after `duration`"

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.kill(fault["target"])

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.start(fault["target"])


@register
class ToolKill(Power):
    name = "toolkill"
    targets = frozenset({"tool"})
    summary = "SIGKILL the tool, start it again after a short `duration`"


@register
class Restart(FaultKind):
    name = "restart"
    targets = frozenset({"tool", "plc-sim", "cloud"})
    summary = "graceful stop (SIGTERM, SIGKILL after stopTimeoutS), start after `duration`"
    param_names = frozenset({"stopTimeoutS"})

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.stop(fault["target"], float(fault["params"].get("stopTimeoutS", 10.0)))

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.start(fault["target"])


@register
class CloudCut(FaultKind):
    name = "cloudcut"
    targets = frozenset({"cloud"})
    summary = "cut the cloud off (Docker: network disconnect; local: the cloud-proxy resets connections)"

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.disconnect(fault["target"])

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.reconnect(fault["target"])


@register
class Delay(FaultKind):
    name = "delay"
    targets = frozenset({"plc-sim"})
    summary = "slow every PLC reply by params.delayMs for `duration` (then back to DELAY_MS)"
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


@register
class Pause(FaultKind):
    name = "pause"
    targets = frozenset({"tool"})
    summary = "freeze (SIGSTOP / docker pause), resume after `duration`"

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.pause(fault["target"])

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.unpause(fault["target"])


@register
class Wipe(FaultKind):
    name = "wipe"
    targets = frozenset({"tool"})
    summary = "kill and erase the data volume, start after `duration` (the tool re-seeds)"

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.wipe(fault["target"])

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.start(fault["target"])


def _proxy_params(kind: str, parse: Callable[[Any], Any], params: Mapping[str, Any]) -> dict[str, Any]:
    try:
        parse(params)
    except ProxyControlError as exc:
        raise FaultSpecError(f"{kind}: {exc}") from None
    return dict(params)


@register
class LinkShape(ProxyFaultKind):
    name = "linkshape"
    targets = frozenset({"cloud-proxy"})
    summary = "shape tool→cloud traffic: params latencyMs, jitterMs, bandwidthKbps, dropRate"
    param_names = frozenset({"latencyMs", "jitterMs", "bandwidthKbps", "dropRate"})

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return _proxy_params(self.name, parse_shape, super().check_params(params))

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        _require_proxy(proxy, self.name).set_mode({"shape": dict(fault["params"])})

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        _require_proxy(proxy, self.name).set_mode({"shape": None})


@register
class CloudErrors(ProxyFaultKind):
    name = "cloud-errors"
    targets = frozenset({"cloud-proxy"})
    summary = (
        "the cloud-proxy answers params.status (429 with Retry-After, or 5xx) for params.fraction of requests"
    )
    param_names = frozenset({"status", "fraction", "retryAfterS"})

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return _proxy_params(self.name, parse_errors, super().check_params(params))

    def apply(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        _require_proxy(proxy, self.name).set_mode({"errors": dict(fault["params"])})

    def restore(self, driver: RuntimeDriver, proxy: Any, fault: Mapping[str, Any]) -> None:
        _require_proxy(proxy, self.name).set_mode({"errors": None})
