"""Which invariants gate this run: feasibility before anything starts, and the gate policy.

Every invariant that this soak can judge gates the verdict. Whether it can is decided up front,
from the resolved knobs and the seeded plan alone (no I/O): one feasibility rule per invariant id,
registered here by id. What a fault does comes from the fault kinds' declared effects
(`battle.chaos.kinds.effects_of`), never from a list of kind names.

The decision (`GateDecision`, built once per process by `decide`) holds the final gate ids, the
demoted ones with their reason and cause (`scenario`: the catalogue's `report:` mapping;
`infeasible`: this soak cannot produce the evidence; `adapter`: the system under test has no part the
invariant is about, e.g. no PLC) and every invariant's feasibility. A demoted
gate is simply role `report`; the verdict logic stays in battle/verdict.py. With STRICT_GATES on,
an infeasible gate is a configuration error instead (exit 2 before anything starts); a gate the adapter
rules out is not (no knob could make it judgeable). A planned fault on a PLC target is refused (exit 2,
naming the kind and its knob) when the adapter has no PLC. Nothing is
demoted silently: callers print `decision.lines()`, and the manifest and verdict record it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from battle.adapters.registry import choose_adapter
from battle.chaos.kinds import NO_EFFECTS, Effects, effects_of, plc_targets, registered
from battle.chaos.plan import Plan, PlannedFault, generate_plan
from battle.config import ConfigError, RunConfig, format_number
from battle.invariants import all_specs
from battle.verdict import demotion_line

CAUSES = ("scenario", "infeasible", "adapter")
TOOL = "tool"
_STRICT_HINT = ("set STRICT_GATES=0 to run with these gates demoted to report, or change the knobs their reasons "
                "name (feasibility rules: docs/invariants.md)")


@dataclass(frozen=True)
class Feasibility:
    """Can this soak produce the evidence an invariant needs? `reason` is one line naming the figures."""

    id: str
    feasible: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"feasible": self.feasible, "reason": self.reason}


@dataclass(frozen=True)
class Demotion:
    id: str
    reason: str
    cause: str  # scenario | infeasible | adapter

    def __post_init__(self) -> None:
        if self.cause not in CAUSES:
            raise ValueError(f"demotion of {self.id}: cause {self.cause!r} is not one of {CAUSES}")

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "cause": self.cause}


@dataclass(frozen=True)
class GateDecision:
    gates: tuple[str, ...]  # the final gating ids, in id order
    demoted: Mapping[str, Demotion]
    feasibility: Mapping[str, Feasibility]

    def role(self, invariant_id: str) -> str:
        return "gate" if invariant_id in self.gates else "report"

    def lines(self) -> list[str]:
        """One line per demoted gate, for every place a run starts or is checked."""
        return [demotion_line(d.id, d.reason, d.cause) for d in self.demoted.values()]

    def summary(self) -> str:
        demoted = f"; demoted to report: {' '.join(self.demoted)}" if self.demoted else ""
        return f"gates {' '.join(self.gates) or 'none'}{demoted}"

    def to_manifest(self) -> dict[str, Any]:
        """JSON-ready: `gates`, `demoted` and `feasibility`, as manifest.json records them."""
        return {
            "gates": list(self.gates),
            "demoted": {rid: d.to_dict() for rid, d in self.demoted.items()},
            "feasibility": {rid: f.to_dict() for rid, f in self.feasibility.items()},
        }


# ---------------------------------------------------------------- the rules, one per invariant id

Rule = Callable[[RunConfig, Plan], tuple[bool, str]]
RULES: dict[str, Rule] = {}


def rule(*ids: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        for rid in ids:
            if rid in RULES:
                raise ValueError(f"feasibility rule for {rid} registered twice")
            RULES[rid] = fn
        return fn

    return register


def _min(seconds: float) -> str:
    """Seconds as minutes for a reason line: '9.5 min', '20 min'."""
    return f"{format_number(round(seconds / 60.0, 1))} min"


def _effects(fault: PlannedFault) -> Effects:
    return effects_of(fault.kind, fault.target) or NO_EFFECTS


def _warmup(config: RunConfig) -> float:
    return float(config.value("WARMUP_S"))


@rule("I1")
def _responsiveness(config: RunConfig, plan: Plan) -> tuple[bool, str]:
    soak, warmup = config.soak_seconds, _warmup(config)
    if soak > warmup:
        return True, f"soak {_min(soak)} > WARMUP_S {_min(warmup)}: {_min(soak - warmup)} of probes are judged"
    return False, (f"soak {_min(soak)} ≤ WARMUP_S {_min(warmup)}: every probe falls in the warm-up "
                   "(raise SOAK_MINUTES or lower WARMUP_S)")


def tool_restarts(plan: Plan) -> tuple[PlannedFault, ...]:
    """Planned faults that start the tool afresh (a new process lifetime) or erase its data."""
    return tuple(f for f in plan.faults
                 if f.target == TOOL and (_effects(f).restarts or _effects(f).loses_data))


def tool_lifetimes(plan: Plan, soak_seconds: float) -> list[tuple[float, float]]:
    """(start, end) of every planned tool lifetime inside the soak: split at each restart, the tool
    being gone from the fault's start until its restore."""
    spans, start = [], 0.0
    for fault in sorted(tool_restarts(plan), key=lambda f: f.at):
        spans.append((start, min(fault.at, soak_seconds)))
        start = max(start, min(fault.end, soak_seconds))
    spans.append((start, soak_seconds))
    return [(a, b) for a, b in spans if b > a]


@rule("I2")
def _memory(config: RunConfig, plan: Plan) -> tuple[bool, str]:
    warmup, needed = _warmup(config), float(config.value("LEAK_MIN_WINDOW_S"))
    longest = max((end - start - warmup for start, end in tool_lifetimes(plan, config.soak_seconds)), default=0.0)
    longest = max(longest, 0.0)
    restarts = len(tool_restarts(plan))
    figures = f"longest planned tool lifetime {_min(longest)} after warm-up"
    if longest >= needed:
        return True, f"{figures} ≥ LEAK_MIN_WINDOW_S {_min(needed)}"
    planned = (f"{restarts} planned tool restart{'s' if restarts != 1 else ''}" if restarts
               else "no planned tool restart")
    return False, f"{figures} < LEAK_MIN_WINDOW_S {_min(needed)} ({planned} in a {_min(config.soak_seconds)} soak)"


def _tag_reset_knobs() -> list[str]:
    """The knobs that can plan a fault resetting the PLC's tags, from the kinds' declarations."""
    knobs: set[str] = set()
    for kind in registered():
        for target, effects in kind.effects.items():
            if not effects.resets_tags:
                continue
            knobs.update(d.knob for d in kind.draws if getattr(d, "target", target) == target)
            if kind.attrition is not None and target in kind.attrition.targets:
                knobs.add("ATTRITION")
    return sorted(knobs)


def adapter_without_plc(config: RunConfig) -> str | None:
    """The adapter's name when it declares no PLC (`has_plc = False`), else None."""
    adapter_class = choose_adapter(str(config.value("SUT_ADAPTER"))).adapter_class
    return None if adapter_class.has_plc else adapter_class.name


def _no_plc_reason(name: str) -> str:
    return f"the adapter {name!r} has no PLC (has_plc = False)"


# Rules the adapter decides alone: the system lacks what the invariant is about. Not subject to STRICT_GATES.
ADAPTER_RULES: dict[str, Callable[[RunConfig], str | None]] = {
    "I3": lambda config: (None if (name := adapter_without_plc(config)) is None
                          else f"{_no_plc_reason(name)}: no tags to restore"),
}


@rule("I3")
def _restore(config: RunConfig, plan: Plan) -> tuple[bool, str]:
    ruled_out = ADAPTER_RULES["I3"](config)
    if ruled_out is not None:
        return False, ruled_out
    resets = [f for f in plan.faults if _effects(f).resets_tags]
    if resets:
        return True, (f"{len(resets)} planned fault{'s' if len(resets) != 1 else ''} reset the PLC's tags "
                      f"(the first at {_min(resets[0].at)})")
    knobs = _tag_reset_knobs()
    can = (f"{', '.join(knobs[:-1])} or {knobs[-1]} can plan one" if len(knobs) > 1
           else f"{knobs[0]} can plan one" if knobs else "no fault kind declares resets_tags")
    return False, f"no planned fault resets the PLC's tags: nothing to restore ({can})"


@rule("I4", "I6")
def _single_writers(config: RunConfig, plan: Plan) -> tuple[bool, str]:
    hot = float(config.value("HOT_FRACTION"))
    if hot < 1:
        return True, (f"HOT_FRACTION={format_number(hot)} < 1: {format_number(round((1 - hot) * 100, 1))}% of "
                      f"writes go to single-writer targets of {config.bots} bot{'s' if config.bots != 1 else ''}")
    return False, (f"HOT_FRACTION={format_number(hot)}: every write goes to the shared hot set, no single-writer "
                   "target to judge (lower HOT_FRACTION)")


@rule("I5")
def _stability(config: RunConfig, plan: Plan) -> tuple[bool, str]:
    name = adapter_without_plc(config)
    if name is not None:
        return True, (f"judged on server starts and OOM kills over the whole run; its PLC part is not: "
                      f"{_no_plc_reason(name)}, so no PLC disconnect can be counted")
    return True, "always judgeable: server starts, PLC disconnects and OOM kills are counted over the whole run"


@rule("I7")
def _propagation(config: RunConfig, plan: Plan) -> tuple[bool, str]:
    from battle.mutator.mutator import mutator_enabled  # (with the HTTP client: `battle judge` needs neither)

    profiles = str(config.value("COMPOSE_PROFILES"))
    period = float(config.value("MUTATE_PERIOD_SEC"))
    if not mutator_enabled(config):
        if period > 0:
            return False, (f"COMPOSE_PROFILES={profiles!r} has no 'mutate': the mutator is off, no cloud-side edit "
                           "to propagate")
        return False, "MUTATE_PERIOD_SEC=0: the mutator is off, no cloud-side edit to propagate"
    if config.soak_seconds < period:
        return False, (f"soak {format_number(config.soak_seconds)} s < MUTATE_PERIOD_SEC {format_number(period)} s: "
                       "the mutator makes no edit (lower MUTATE_PERIOD_SEC or raise SOAK_MINUTES)")
    return True, (f"the mutator edits the cloud every {format_number(period)} s over a "
                  f"{_min(config.soak_seconds)} soak")


# ---------------------------------------------------------------- the decision


def feasibility(config: RunConfig, plan: Plan) -> dict[str, Feasibility]:
    """Every registered invariant's feasibility, in id order. Pure."""
    out = {}
    for spec in all_specs():
        check = RULES.get(spec.id)
        if check is None:
            raise ConfigError([f"invariant {spec.id} has no feasibility rule in battle/gating.py"], hint="")
        ok, reason = check(config, plan)
        out[spec.id] = Feasibility(spec.id, ok, reason)
    return out


def decide(config: RunConfig, plan: Plan) -> GateDecision:
    """The gates of this run. Pure. Raises ConfigError when STRICT_GATES is on and a gate is infeasible."""
    feasible = feasibility(config, plan)
    demoted: dict[str, Demotion] = {}
    for rid, check in feasible.items():
        ruled_out = ADAPTER_RULES[rid](config) if rid in ADAPTER_RULES else None
        if ruled_out is not None:
            demoted[rid] = Demotion(rid, ruled_out, "adapter")
        elif rid in config.report_only:
            demoted[rid] = Demotion(rid, config.report_only[rid], "scenario")
        elif not check.feasible:
            demoted[rid] = Demotion(rid, check.reason, "infeasible")
    infeasible = [d for d in demoted.values() if d.cause == "infeasible"]
    if infeasible and config.value("STRICT_GATES"):
        raise ConfigError([f"STRICT_GATES is on and gate {d.id} cannot be judged by this soak: {d.reason}"
                           for d in infeasible], hint=_STRICT_HINT)
    gates = tuple(rid for rid in feasible if rid not in demoted)
    return GateDecision(gates, MappingProxyType(demoted), MappingProxyType(feasible))


def refuse_impossible_faults(config: RunConfig, plan: Plan) -> None:
    """A plan that hits a PLC the adapter does not have cannot run: ConfigError naming each kind and the knob
    that planned it. Refused rather than left out, so a run never claims to have survived faults it skipped."""
    name = adapter_without_plc(config)
    if name is None:
        return
    targets = plc_targets()
    planned: dict[tuple[str, str, str], int] = {}
    for fault in plan.faults:
        if fault.target in targets:
            key = (fault.family, fault.kind, fault.target)
            planned[key] = planned.get(key, 0) + 1
    if planned:
        raise ConfigError([f"{knob} plans {count} {kind} fault{'s' if count != 1 else ''} on {target}, but "
                           f"{_no_plc_reason(name)}" for (knob, kind, target), count in sorted(planned.items())],
                          hint=f"turn those knobs off for this adapter; faults on {', '.join(sorted(targets))} "
                               "need a system with a PLC (docs/adapters.md)")


def plan_and_gates(config: RunConfig) -> tuple[Plan, GateDecision]:
    """What every entry point computes before anything starts: the seeded plan (refused if it hits a part the
    system does not have), then the gates."""
    plan = generate_plan(config)
    refuse_impossible_faults(config, plan)
    return plan, decide(config, plan)
