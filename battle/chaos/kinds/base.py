"""What a fault kind is: one declaration that the runner, the plan, the judges and the report read.

A kind declares, once:

- `apply` / `restore` (through a RuntimeDriver and the cloud-proxy's control client);
- its **effects** per accepted target (`Effects`): the accepted targets are exactly the keys;
- its params (`param_names`, `check_params`) and how the plan draws it (`draws`: a storm or a flap
  family turned on by a knob, and/or a role in attrition);
- its report label and colour.

Judges never keep their own list of kind names: they ask the effects (`Fault.effects`), e.g. I1
excuses probes while a fault declares the tool `down`, I5 allows one server start per fault that
declares the tool `restarts`. Adding a kind is one module in this package (imported automatically),
its test and its row in docs/chaos.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from battle.chaos.drivers import RuntimeDriver
from battle.chaos.errors import ChaosError, FaultSpecError

LINK_EFFECTS = ("", "cut", "degrade", "errors")


@dataclass(frozen=True)
class Effects:
    """What a fault does to one target of the system under test, from apply to restore."""

    down: bool = False  # stops answering for the fault's duration, then may take RESTART_GRACE_S to come back
    restarts: bool = False  # its process starts afresh at restore: a new server start, a new connection
    resets_tags: bool = False  # (PLC) every tag is back at its initial value when it returns: a program download
    loses_data: bool = False  # its local data is erased; it re-seeds, then must pull the cloud's state back
    freezes: bool = False  # alive but frozen: accepts nothing until restored
    slows: bool = False  # answers, but slowly
    link: str = ""  # what happens to the tool→cloud link: "cut", "degrade" (latency, drops), "errors" (429/5xx)
    # The effect lives in the target's process, so if the target restarts during the fault (a crash and
    # its restart policy) the fault is gone: chaos re-applies it for the rest of its window.
    undone_by_restart: bool = False

    def __post_init__(self) -> None:
        if self.link not in LINK_EFFECTS:
            raise ValueError(f"Effects.link {self.link!r} is not one of {LINK_EFFECTS}")

    def any(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def describe(self) -> str:
        parts = []
        if self.down:
            parts.append("down for its duration (+ RESTART_GRACE_S)")
        if self.restarts:
            parts.append("restarts its process")
        if self.resets_tags:
            parts.append("resets the PLC's tags")
        if self.loses_data:
            parts.append("loses its local data")
        if self.freezes:
            parts.append("frozen")
        if self.slows:
            parts.append("slowed")
        if self.undone_by_restart:
            parts.append("re-applied if it restarts")
        if self.link:
            parts.append({"cut": "cuts the tool→cloud link", "degrade": "degrades the tool→cloud link",
                          "errors": "the tool→cloud link answers errors"}[self.link])
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


NO_EFFECTS = Effects()

Variant = tuple[str, Mapping[str, Any]]  # (target, params) of one event of a family


@dataclass(frozen=True)
class Storm:
    """Events `lo..hi` minutes apart (knob `knob`, a range), each lasting `duration_knob` seconds,
    cycling through `variants(config)`."""

    knob: str
    duration_knob: str
    variants: Callable[[Any], Sequence[Variant]]
    priority: int  # placement order on conflicts; keep stable: it shapes every plan


@dataclass(frozen=True)
class Flap:
    """Down `down` minutes every `period` minutes (knob `knob`, a flap) on one target."""

    knob: str
    target: str
    priority: int


@dataclass(frozen=True)
class AttritionRole:
    """This kind is the attrition weight `label` (ATTRITION_WEIGHTS) and may hit `targets`."""

    label: str
    targets: tuple[str, ...]


Draw = Storm | Flap

_REGISTRY: dict[str, FaultKind] = {}


class FaultKind:
    name: ClassVar[str]
    summary: ClassVar[str]  # one line for docs and the API's kind list
    label: ClassVar[str]  # the report's legend
    color: ClassVar[str]  # the report's fault bands
    effects: ClassVar[Mapping[str, Effects]]  # per accepted target
    param_names: ClassVar[frozenset[str]] = frozenset()
    draws: ClassVar[tuple[Draw, ...]] = ()
    attrition: ClassVar[AttritionRole | None] = None
    # False for kinds that act only through the cloud-proxy's token-protected control API: their
    # target is never touched through the runtime, so it need not be on the runtime's allowlist.
    uses_runtime: ClassVar[bool] = True

    @property
    def targets(self) -> frozenset[str]:
        return frozenset(self.effects)

    def effects_on(self, target: str) -> Effects:
        return self.effects.get(target, NO_EFFECTS)

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


class KindDeclarationError(ChaosError):
    """A fault kind's declaration is incomplete or contradicts itself."""


def check_declaration(kind: FaultKind) -> list[str]:
    """Everything a kind must declare; the registry refuses a kind with any problem."""
    name = getattr(kind, "name", None) or type(kind).__name__
    problems = []
    for attr in ("name", "summary", "label", "color", "effects"):
        if not getattr(kind, attr, None):
            problems.append(f"fault kind {name}: no {attr} declared")
    for target, effects in dict(getattr(kind, "effects", {}) or {}).items():
        if not isinstance(effects, Effects) or not effects.any():
            problems.append(f"fault kind {name}: target {target!r} declares no effect (Effects(...) with at least one)")
    if kind.attrition is not None and not set(kind.attrition.targets) <= set(kind.effects):
        problems.append(f"fault kind {name}: attrition targets {kind.attrition.targets} not all accepted targets")
    for draw in kind.draws:
        if isinstance(draw, Flap) and draw.target not in kind.effects:
            problems.append(f"fault kind {name}: flap target {draw.target!r} is not an accepted target")
    return problems


def register(cls: type[FaultKind]) -> type[FaultKind]:
    kind = cls()
    problems = check_declaration(kind)
    if problems:
        raise KindDeclarationError("; ".join(problems))
    existing = _REGISTRY.get(kind.name)
    if existing is not None and type(existing) is not cls:
        raise KindDeclarationError(f"fault kind {kind.name!r} is already registered by {type(existing).__name__}")
    _REGISTRY[kind.name] = kind
    return cls


def unregister(name: str) -> None:
    """For tests that register a throwaway kind."""
    _REGISTRY.pop(name, None)


def kinds() -> list[str]:
    return sorted(_REGISTRY)


def registered() -> tuple[FaultKind, ...]:
    return tuple(_REGISTRY[name] for name in kinds())


def plc_targets() -> frozenset[str]:
    """The targets that are a PLC: those on which some kind declares that it resets the tags (only a PLC
    has tags). A system without a PLC has none of them, so every fault on one is impossible there."""
    return frozenset(target for kind in registered() for target, effects in kind.effects.items()
                     if effects.resets_tags)


def get_kind(name: str) -> FaultKind:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise FaultSpecError(f"fault kind {name!r} is unknown; known kinds: {', '.join(kinds())}") from None


def effects_of(kind: str, target: str) -> Effects | None:
    """The declared effects of `kind` on `target`; None when the kind is not registered."""
    found = _REGISTRY.get(kind)
    return None if found is None else found.effects_on(target)


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
