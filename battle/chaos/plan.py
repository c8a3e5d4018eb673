"""The seeded fault plan: every fault of a run, decided up front from the knobs and SEED.

Each family (one knob: DOWNLOAD_STORM, CLOUD_FLAP, ...) draws from its own
`random.Random(f"{seed}:{family}")`, so turning one family on or off never changes another's
schedule. Rules every plan obeys:

- every family the scenario turns on fires at least once (and every variant of it: each target of
  a power storm, each status of the error bursts): when its first event would not be restored in
  time, it is moved inside the first third of the soak — a 15-minute smoke with a 20–40-minute
  download storm still downloads;
- every fault is restored before the soak ends, leaving a calm tail of max(10% of the soak, 20 s)
  (never more than half the soak): durations are clipped to fit;
- faults on the same target never overlap (a later one is shifted after the earlier one plus a
  short gap, or skipped if it no longer fits or is still blocked after MAX_SHIFTS shifts), and
  attrition keeps at most MAX_DEAD targets down;
- a family draws at most one event per MIN_STEP_S and at most MAX_EVENTS_PER_FAMILY in all; asking
  for more is a configuration error. With every knob bounded (SOAK_MINUTES ≤ one week), the largest
  plan the knobs allow is made in about a second.

`plan_to_json` is byte-identical for the same resolved configuration.
"""

from __future__ import annotations

import bisect
import json
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from battle.chaos.errors import FaultSpecError
from battle.chaos.kinds import Flap, Storm, registered, validate_fault
from battle.config import ConfigError, RunConfig, load_catalogue, resolve

PLAN_SCHEMA = 1
SAME_TARGET_GAP_S = 5.0  # a breath between two faults on one target, so their effects can be told apart
MIN_DURATION_S = 1.0  # clipping a fault below this would inject nothing worth judging
MIN_STEP_S = 10.0  # a storm with lo=0 (a flap with a tiny period) still advances; bounds the number of events
# A family drawing more events than this is a configuration error (exit 2), not a plan: at one event per MIN_STEP_S
# a one-week soak could draw 60480 per family. 5000 leaves a week of s3 (an error burst every 1-4 min: ~4000).
MAX_EVENTS_PER_FAMILY = 5000
# A non-mandatory event still blocked after this many shifts past the faults in its way is skipped: its target
# (or the attrition budget) is saturated. Realistic plans shift an event at most twice; this keeps a saturated
# week-long plan linear instead of walking every later event along the whole chain.
MAX_SHIFTS = 20
TAIL_FRACTION, TAIL_MIN_S = 0.10, 20.0
MOVED_IN_MAX_FRACTION = 1 / 6  # a moved-in event of a short soak may not take over the whole soak
_EPS = 1e-6



class PlanError(ConfigError):
    """The knobs ask for a plan that cannot be made (e.g. a soak too short for every family)."""


@dataclass(frozen=True)
class PlannedFault:
    id: str
    kind: str
    target: str
    at: float  # seconds after soak start
    duration: float  # seconds until restore
    params: Mapping[str, Any]
    family: str  # the knob that asked for it; not written to plan.json

    @property
    def end(self) -> float:
        return self.at + self.duration

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "target": self.target, "at": self.at,
                "duration": self.duration, "params": dict(self.params)}


@dataclass(frozen=True)
class Plan:
    scenario: str
    seed: int
    soak_seconds: float
    faults: tuple[PlannedFault, ...]
    constant: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def families(self) -> frozenset[str]:
        return frozenset(f.family for f in self.faults)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": PLAN_SCHEMA, "scenario": self.scenario, "seed": self.seed,
                "soakSeconds": self.soak_seconds, "constant": dict(self.constant),
                "faults": [f.to_dict() for f in self.faults]}


@dataclass(frozen=True)
class Window:
    soak: float
    lead: float  # earliest start of a moved-in event
    first_third: float
    end: float  # every fault is restored by then


def window_for(soak_seconds: float) -> Window:
    tail = min(max(TAIL_FRACTION * soak_seconds, TAIL_MIN_S), soak_seconds / 2)
    return Window(soak_seconds, soak_seconds / 10, soak_seconds / 3, soak_seconds - tail)


@dataclass
class _Candidate:
    family: str
    seq: int
    at: float
    duration: float
    kind: str
    target: str
    params: Mapping[str, Any]
    mandatory: bool = False


Variant = tuple[str, Mapping[str, Any]]  # (target, params)


@dataclass(frozen=True)
class Family:
    name: str  # the knob that turns it on; also seeds its random stream
    enabled: Callable[[RunConfig], bool]
    generate: Callable[[RunConfig, random.Random, Window], list[_Candidate]]


FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> None:
    FAMILIES[family.name] = family


def enabled_families(config: RunConfig) -> tuple[str, ...]:
    return tuple(name for name, fam in FAMILIES.items() if fam.enabled(config))


def _moved_in(rng: random.Random, window: Window) -> float:
    return round(rng.uniform(window.lead, window.first_third), 1)


def _ensure_variants(cands: list[_Candidate], variants: Sequence[Variant], rng: random.Random, window: Window,
                     make: Callable[[int, float, Variant], _Candidate]) -> list[_Candidate]:
    """Mark the first event of each variant mandatory; move it into the first third if it would not fit."""
    out = list(cands)
    for v, variant in enumerate(variants):
        first = next((c for c in out if c.seq % len(variants) == v), None)
        if first is not None and first.at + first.duration <= window.end:
            first.mandatory = True
            continue
        if first is not None:
            out.remove(first)
        moved = make(v, _moved_in(rng, window), variant)
        moved.duration = min(moved.duration, round(window.soak * MOVED_IN_MAX_FRACTION, 1))
        moved.mandatory = True
        out.append(moved)
    return out


def _count(cfg: RunConfig, knob: str, drawn: Sequence[_Candidate], window: Window) -> None:
    """Refuse a family about to draw more than MAX_EVENTS_PER_FAMILY events, naming the knob that asks for them."""
    if len(drawn) < MAX_EVENTS_PER_FAMILY:
        return
    raise PlanError([
        f"{knob}={cfg.to_env()[knob]!r} would draw more than {MAX_EVENTS_PER_FAMILY} events in a "
        f"{cfg.minutes:g}-minute soak: expected at most {MAX_EVENTS_PER_FAMILY} per fault family (a plan stays quick to "
        f"make and to run); raise the interval of {knob} or lower SOAK_MINUTES"])


def storm(name: str, kind: str, variants: Callable[[RunConfig], Sequence[Variant]],
          duration_knob: str) -> Family:
    """Events `lo..hi` minutes apart (uniform), cycling through the variants."""

    def generate(cfg: RunConfig, rng: random.Random, window: Window) -> list[_Candidate]:
        lo, hi = cfg.value(name)
        vs = variants(cfg)
        duration = round(float(cfg.value(duration_knob)), 1)

        def make(seq: int, at: float, variant: Variant) -> _Candidate:
            return _Candidate(name, seq, at, duration, kind, variant[0], variant[1])

        out: list[_Candidate] = []
        t, seq = 0.0, 0
        while True:
            t += max(rng.uniform(lo, hi) * 60.0, MIN_STEP_S)
            if t >= window.end:
                break
            _count(cfg, name, out, window)
            out.append(make(seq, round(t, 1), vs[seq % len(vs)]))
            seq += 1
        return _ensure_variants(out, vs, rng, window, make)

    return Family(name, lambda cfg: cfg.value(name) is not None, generate)


def flap(name: str, kind: str, target: str) -> Family:
    """Down `down` minutes every `period` minutes; the target is up for a while before the first cut."""

    def generate(cfg: RunConfig, rng: random.Random, window: Window) -> list[_Candidate]:
        down, period = cfg.value(name)

        def make(seq: int, at: float, variant: Variant) -> _Candidate:
            return _Candidate(name, seq, at, round(down * 60.0, 1), kind, target, {})

        out: list[_Candidate] = []
        seq = 0
        t = rng.uniform(period - down, period) * 60.0
        while t < window.end:
            _count(cfg, name, out, window)
            out.append(make(seq, round(t, 1), (target, {})))
            seq, t = seq + 1, t + max(period * 60.0, MIN_STEP_S)
        return _ensure_variants(out, [(target, {})], rng, window, make)

    return Family(name, lambda cfg: cfg.value(name) is not None, generate)


def attrition_kinds() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(kind, targets) per ATTRITION_WEIGHTS label, in the knob's label order, from the kinds' declarations."""
    labels = tuple(load_catalogue().knobs["ATTRITION_WEIGHTS"].opt("labels", ()))
    roles = {k.attrition.label: (k.name, k.attrition.targets) for k in registered() if k.attrition is not None}
    missing = [label for label in labels if label not in roles]
    if missing or set(roles) - set(labels):
        raise PlanError([f"ATTRITION_WEIGHTS labels {list(labels)} and the fault kinds' attrition roles "
                         f"{sorted(roles)} disagree: every label needs exactly one kind declaring it"])
    return tuple(roles[label] for label in labels)


def _attrition(cfg: RunConfig, rng: random.Random, window: Window) -> list[_Candidate]:
    lo, hi = cfg.value("ATTRITION_PERIOD")
    rlo, rhi = cfg.value("ATTRITION_RECOVERY_S")
    weights = cfg.value("ATTRITION_WEIGHTS")
    roles = attrition_kinds()

    def make(seq: int, at: float, _variant: Variant) -> _Candidate:
        pick, kind, targets = rng.random() * sum(weights), roles[-1][0], roles[-1][1]
        for (k, ts), w in zip(roles, weights, strict=True):
            if pick < w:
                kind, targets = k, ts
                break
            pick -= w
        target = targets[rng.randrange(len(targets))]
        return _Candidate("ATTRITION", seq, at, round(rng.uniform(rlo, rhi), 1), kind, target, {})

    out: list[_Candidate] = []
    t, seq = 0.0, 0
    while True:
        t += max(rng.uniform(lo, hi) * 60.0, MIN_STEP_S)
        if t >= window.end:
            break
        _count(cfg, "ATTRITION_PERIOD", out, window)
        out.append(make(seq, round(t, 1), ("", {})))
        seq += 1
    return _ensure_variants(out, [("", {})], rng, window, make)


def _register_declared_families() -> None:
    """Every family a fault kind declares (its `draws`), in priority order, then attrition last."""
    draws = sorted(((draw, kind.name) for kind in registered() for draw in kind.draws), key=lambda d: d[0].priority)
    for draw, kind_name in draws:
        if isinstance(draw, Storm):
            register_family(storm(draw.knob, kind_name, draw.variants, draw.duration_knob))
        elif isinstance(draw, Flap):
            register_family(flap(draw.knob, kind_name, draw.target))
    register_family(Family("ATTRITION", lambda cfg: cfg.value("ATTRITION") is True, _attrition))


_register_declared_families()


# ---------------------------------------------------------------- placement


def _ceil_tenth(x: float) -> float:
    """Round up to 0.1 s, forgiving float noise, so a shifted start never lands back inside a blocker."""
    return math.ceil(x * 10 - _EPS) / 10


class _Schedule:
    """Placed faults; finds the earliest slot for a candidate that breaks no rule.

    Faults on one target never overlap, so per target they are kept sorted by start (and so by end): the
    faults that could block a slot are found by bisection, which keeps a week-long plan with thousands of
    faults fast. Attrition faults (at most MAX_DEAD at once, any target) are kept sorted by start too."""

    def __init__(self, window: Window, max_dead: int) -> None:
        self.window, self.max_dead = window, max_dead
        self.placed: list[_Candidate] = []
        self._starts: dict[str, list[float]] = {}  # per target, sorted
        self._ends: dict[str, list[float]] = {}  # per target, in the same order (also sorted: no overlaps)
        self._attrition: list[tuple[float, float]] = []  # (start, end), sorted
        self._longest_attrition = 0.0

    def place(self, c: _Candidate, start: float, max_shifts: int | None = None) -> bool:
        t, shifts = _ceil_tenth(start), 0
        while True:
            if t > self.window.end + _EPS or (max_shifts is not None and shifts > max_shifts):
                return False
            duration = c.duration
            if t + duration > self.window.end + _EPS:
                duration = int((self.window.end - t) * 10 + _EPS) / 10  # round down: never past the end
            if duration < min(c.duration, MIN_DURATION_S) - _EPS:
                return False
            next_t = self._blocked_until(c, t, duration)
            if next_t is None:
                c.at, c.duration = round(t, 1), duration
                self._add(c)
                return True
            t = max(_ceil_tenth(next_t), round(t + 0.1, 1))  # always progress
            shifts += 1

    def _add(self, c: _Candidate) -> None:
        self.placed.append(c)
        end = c.at + c.duration
        starts = self._starts.setdefault(c.target, [])
        i = bisect.bisect_right(starts, c.at)
        starts.insert(i, c.at)
        self._ends.setdefault(c.target, []).insert(i, end)
        if c.family == "ATTRITION":
            bisect.insort(self._attrition, (c.at, end))
            self._longest_attrition = max(self._longest_attrition, c.duration)

    def _blocked_until(self, c: _Candidate, t: float, duration: float) -> float | None:
        """None when [t, t+duration] is free; else the earliest later start worth trying."""
        later = None
        before = t + duration + SAME_TARGET_GAP_S - _EPS  # a fault starting before this may block
        starts, ends = self._starts.get(c.target, []), self._ends.get(c.target, [])
        j = bisect.bisect_left(starts, before) - 1
        # Same-target faults do not overlap, so the last one starting in time ends last: it alone decides.
        if j >= 0 and t < ends[j] + SAME_TARGET_GAP_S - _EPS:
            later = ends[j] + SAME_TARGET_GAP_S
        if c.family == "ATTRITION":
            # The gap keeps a return and the next kill apart, so MAX_DEAD holds even at the boundary.
            lo = bisect.bisect_left(self._attrition, (t - self._longest_attrition - SAME_TARGET_GAP_S - 1.0,))
            hi = bisect.bisect_left(self._attrition, (before,))
            down = [end for _start, end in self._attrition[lo:hi] if t < end + SAME_TARGET_GAP_S - _EPS]
            if len(down) >= self.max_dead:
                first_back = min(down) + SAME_TARGET_GAP_S
                later = first_back if later is None else max(later, first_back)
        return later


def generate_plan(config: RunConfig) -> Plan:
    window = window_for(config.soak_seconds)
    order = list(FAMILIES)
    candidates: list[_Candidate] = []
    for name in enabled_families(config):
        rng = random.Random(f"{config.seed}:{name}")
        candidates.extend(FAMILIES[name].generate(config, rng, window))

    schedule = _Schedule(window, int(config.value("MAX_DEAD")))
    mandatory = sorted((c for c in candidates if c.mandatory), key=lambda c: (order.index(c.family), c.at, c.seq))
    for c in mandatory:
        wanted = c.at
        # Forward from where it was drawn; failing that, the first free slot from the start of the soak.
        if not schedule.place(c, wanted) and not schedule.place(c, window.lead):
            raise PlanError([
                f"SOAK_MINUTES={config.minutes:g}: too short to fire every fault family of scenario "
                f"{config.scenario!r} ({', '.join(enabled_families(config))}) without overlaps and with every "
                f"fault restored by {window.end:.0f} s; could not place {c.family} ({c.kind} on {c.target}, "
                f"{c.duration:g} s) — raise SOAK_MINUTES or shorten the fault durations"])
    rest = sorted((c for c in candidates if not c.mandatory), key=lambda c: (c.at, order.index(c.family), c.seq))
    for c in rest:
        schedule.place(c, c.at, MAX_SHIFTS)  # a non-mandatory event that no longer fits (or not soon) is skipped

    placed = sorted(schedule.placed, key=lambda c: (c.at, order.index(c.family), c.seq))
    width = max(3, len(str(len(placed))))
    faults = tuple(
        PlannedFault(f"f{i:0{width}d}", c.kind, c.target, c.at, c.duration, MappingProxyType(dict(c.params)), c.family)
        for i, c in enumerate(placed, start=1))
    for fault in faults:  # a family naming a kind, target or param its kind does not accept is a bug here
        try:
            validate_fault(fault.to_dict())
        except FaultSpecError as exc:
            raise PlanError([f"{fault.family} drew a fault the kinds registry refuses: {exc}"]) from exc
    delay = int(config.value("DELAY_MS"))
    constant = MappingProxyType({"DELAY_MS": delay} if delay > 0 else {})
    return Plan(config.scenario, config.seed, float(config.soak_seconds), faults, constant)


def plan_to_json(plan: Plan) -> str:
    return json.dumps(plan.to_dict(), sort_keys=True, indent=2) + "\n"


def plan_for(env: Mapping[str, str], scenario: str | None = None, minutes: float | str | None = None,
             seed: int | str | None = None) -> str:
    """What `python -m battle plan` prints: the plan.json of the resolved configuration."""
    return plan_to_json(generate_plan(resolve(env, scenario, minutes, seed)))
