"""Knobs and scenarios: load the catalogue, resolve, validate, freeze.

Every default lives in `battle/scenarios.yml`. A run's configuration is resolved once with the
precedence explicit (environment or CLI flag) > scenario > default, validated as a whole (every
problem reported at once, each naming the knob, the bad value and the accepted form) and frozen
into a `RunConfig` that is passed to whoever needs it.

Nothing here reads the environment or the disk at import time: an entry point calls
`RunConfig.from_env()` (or `resolve(env)` with a mapping of its choosing).
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

CATALOGUE_FILE = "scenarios.yml"
CATALOGUE_PATH = "battle/scenarios.yml"  # how messages name the catalogue
INVARIANT_IDS = ("I1", "I2", "I3", "I4", "I5", "I6", "I7")
# Loss and divergence are what this harness exists for: a scenario may never demote them to report;
# only a soak that cannot judge them does (battle/gating.py).
NEVER_DEMOTED = ("I4", "I6")
_SCENARIO_KEYS = ("description", "report", "knobs")
GROUPS = ("run", "crew", "mutator", "chaos", "thresholds", "sut")
THRESHOLD_GROUP = "thresholds"
# Where a resolved value came from, as written to the manifest.
SOURCE_WORDS = {"cli": "from a command-line flag", "env": "from the environment",
                "scenario": "from the scenario", "default": "the default"}
_SPEC_KEYS = {"group", "type", "default", "doc", "min", "max", "above", "unit", "optional", "labels",
              "not_below", "form"}
_DOCS_HINT = "knobs, their accepted forms and the scenarios: docs/knobs.md (generated from battle/scenarios.yml)"


class ConfigError(Exception):
    """A configuration that cannot run. `problems` holds one line per bad knob."""

    def __init__(self, problems: Iterable[str], hint: str = _DOCS_HINT) -> None:
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            text = f"invalid configuration: {self.problems[0]}"
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            text = f"invalid configuration ({len(self.problems)} problems):\n{lines}"
        super().__init__(f"{text}\n{hint}" if hint else text)


class _Rejected(ValueError):
    """A value that does not parse; the caller words the message from the knob's accepted form."""


# ---------------------------------------------------------------- knob types


@dataclass(frozen=True)
class KnobSpec:
    name: str
    group: str
    type: str
    default: str  # the default as text, read exactly like an environment value
    doc: str
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def opt(self, key: str, fallback: Any = None) -> Any:
        return self.options.get(key, fallback)

    @property
    def accepts_empty(self) -> bool:
        return self.type == "str" or bool(self.opt("optional"))


@dataclass(frozen=True)
class KnobType:
    """How one declared type parses text, describes its accepted form and renders a value back."""

    parse: Callable[[KnobSpec, str], Any]
    form: Callable[[KnobSpec], str]
    render: Callable[[Any], str]


KNOB_TYPES: dict[str, KnobType] = {}


def register_type(name: str, parse: Callable[[KnobSpec, str], Any], form: Callable[[KnobSpec], str],
                  render: Callable[[Any], str] | None = None) -> None:
    KNOB_TYPES[name] = KnobType(parse, form, render or _render_scalar)


def format_number(x: float | int) -> str:
    """Shortest text that reads back as the same number ('20' for 20.0, '0.1' for 0.1)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return repr(x) if isinstance(x, float) else str(x)


def _render_scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return format_number(value)
    if isinstance(value, tuple):
        return ",".join(_render_scalar(v) for v in value)
    return str(value)


def _number(text: str) -> float:
    try:
        x = float(text.strip())
    except ValueError:
        raise _Rejected(text) from None
    if not math.isfinite(x):
        raise _Rejected(text)
    return x


def _within(spec: KnobSpec, x: float) -> bool:
    lo, hi, above = spec.opt("min"), spec.opt("max"), spec.opt("above")
    return ((lo is None or x >= lo) and (hi is None or x <= hi) and (above is None or x > above))


def _bounds_text(spec: KnobSpec) -> str:
    lo, hi, above = spec.opt("min"), spec.opt("max"), spec.opt("above")
    parts = []
    if lo is not None and hi is not None:
        parts.append(f"between {format_number(lo)} and {format_number(hi)}")
        lo = hi = None
    if lo is not None:
        parts.append(f"≥ {format_number(lo)}")
    if above is not None:
        parts.append(f"> {format_number(above)}")
    if hi is not None:
        parts.append(f"≤ {format_number(hi)}")
    if spec.opt("not_below"):
        parts.append(f"≥ {spec.opt('not_below')}")
    return (" " + " and ".join(parts)) if parts else ""


def _off_text(spec: KnobSpec) -> str:
    return ", or '' to turn it off" if spec.opt("optional") else ""


def _parse_int(spec: KnobSpec, text: str) -> int:
    try:
        x = int(text.strip())
    except ValueError:
        raise _Rejected(text) from None
    if not _within(spec, x):
        raise _Rejected(text)
    return x


def _parse_float(spec: KnobSpec, text: str) -> float:
    x = _number(text)
    if not _within(spec, x):
        raise _Rejected(text)
    return x


_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def _parse_bool(spec: KnobSpec, text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _Rejected(text)


def _parse_choice(spec: KnobSpec, text: str) -> str:
    if text.strip() not in spec.opt("choices", ()):
        raise _Rejected(text)
    return text.strip()


def _pair(spec: KnobSpec, text: str) -> tuple[float, float] | None:
    if text.strip() == "" and spec.opt("optional"):
        return None
    parts = text.split(",")
    if len(parts) != 2:
        raise _Rejected(text)
    return _number(parts[0]), _number(parts[1])


def _parse_range(spec: KnobSpec, text: str) -> tuple[float, float] | None:
    pair = _pair(spec, text)
    if pair is not None and not (0 <= pair[0] <= pair[1] and pair[1] > 0):
        raise _Rejected(text)
    return pair


def _parse_flap(spec: KnobSpec, text: str) -> tuple[float, float] | None:
    pair = _pair(spec, text)
    if pair is not None and not (0 < pair[0] < pair[1]):
        raise _Rejected(text)
    return pair


def _parse_int_list(spec: KnobSpec, text: str) -> tuple[int, ...]:
    items = tuple(_parse_int(spec, part) for part in text.split(","))
    return items


def _parse_weights(spec: KnobSpec, text: str) -> tuple[float, ...]:
    values = tuple(_number(part) for part in text.split(","))
    if len(values) != len(spec.opt("labels", ())) or min(values) < 0 or sum(values) <= 0:
        raise _Rejected(text)
    return values


register_type("int", _parse_int, lambda s: "an integer" + _bounds_text(s))
register_type("float", _parse_float, lambda s: "a number" + _bounds_text(s))
register_type("bool", _parse_bool, lambda s: "true or false (also 1/0, yes/no, on/off)")
register_type("str", lambda s, t: t, lambda s: s.opt("form", "any text"))
register_type("scenario", _parse_choice, lambda s: "one of " + ", ".join(s.opt("choices", ())))
register_type("range", _parse_range,
              lambda s: f"two numbers 'lo,hi' in {s.opt('unit', 'minutes')} with 0 ≤ lo ≤ hi and hi > 0" + _off_text(s))
register_type("flap", _parse_flap,
              lambda s: "two numbers 'down,period' in minutes with 0 < down < period" + _off_text(s))
register_type("list(int)", _parse_int_list, lambda s: "a comma list of integers, each" + _bounds_text(s))
register_type("weights", _parse_weights,
              lambda s: f"{len(s.opt('labels', ()))} non-negative numbers '{','.join(s.opt('labels', ()))}', not all zero")


def accepted_form(spec: KnobSpec) -> str:
    return KNOB_TYPES[spec.type].form(spec)


def parse_value(spec: KnobSpec, text: str) -> Any:
    """The typed value of `text` for this knob; raises `_Rejected` when it does not parse."""
    return KNOB_TYPES[spec.type].parse(spec, text)


def render_value(spec: KnobSpec, value: Any) -> str:
    return KNOB_TYPES[spec.type].render(value)


def _problem(name: str, text: str, source: str, spec: KnobSpec) -> str:
    return f"{name}={text!r} ({SOURCE_WORDS[source]}): expected {accepted_form(spec)}"


# ---------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    report_only: Mapping[str, str]  # invariant id -> why this scenario does not gate it
    knobs: Mapping[str, str]  # overrides, as text


@dataclass(frozen=True)
class Catalogue:
    knobs: Mapping[str, KnobSpec]  # in file order
    scenarios: Mapping[str, Scenario]  # in file order


def _yaml_text(value: Any) -> str:
    """A YAML scalar as the text an environment variable would carry."""
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return format_number(value)
    return str(value)


def parse_catalogue(text: str) -> Catalogue:
    """Read and check a catalogue; every problem in it is reported at once."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{CATALOGUE_PATH} is not valid YAML: {exc}"]) from exc
    if not isinstance(data, dict) or data.get("schema") != 1:
        raise ConfigError([f"{CATALOGUE_PATH} must be a mapping with 'schema: 1', 'defaults:' and 'scenarios:'"])
    raw_knobs, raw_scenarios = data.get("defaults"), data.get("scenarios")
    if not isinstance(raw_knobs, dict) or not isinstance(raw_scenarios, dict) or not raw_scenarios:
        raise ConfigError([f"{CATALOGUE_PATH} needs a 'defaults:' mapping and a non-empty 'scenarios:' mapping"])
    problems: list[str] = []
    specs = _read_specs(raw_knobs, tuple(str(n) for n in raw_scenarios), problems)
    scenarios = {str(n): _read_scenario(str(n), body, specs, problems) for n, body in raw_scenarios.items()}
    if problems:
        raise ConfigError([f"{CATALOGUE_PATH}: {p}" for p in problems])
    return Catalogue(MappingProxyType(specs), MappingProxyType(scenarios))


def _read_specs(raw: dict[Any, Any], scenario_names: tuple[str, ...], problems: list[str]) -> dict[str, KnobSpec]:
    specs: dict[str, KnobSpec] = {}
    for name, body in raw.items():
        if not isinstance(body, dict):
            problems.append(f"knob {name}: expected a mapping with group, type, default and doc")
            continue
        unknown = set(body) - _SPEC_KEYS
        if unknown or not {"group", "type", "default", "doc"} <= set(body):
            problems.append(f"knob {name}: needs group, type, default, doc; unknown keys {sorted(unknown)}")
            continue
        if body["type"] not in KNOB_TYPES or body["group"] not in GROUPS:
            problems.append(f"knob {name}: type must be one of {sorted(KNOB_TYPES)}, group one of {list(GROUPS)}")
            continue
        options = {k: v for k, v in body.items() if k not in {"group", "type", "default", "doc"}}
        if body["type"] == "scenario":
            options["choices"] = scenario_names
        spec = KnobSpec(str(name), body["group"], body["type"], _yaml_text(body["default"]), str(body["doc"]),
                        MappingProxyType(options))
        try:
            parse_value(spec, spec.default)
        except _Rejected:
            problems.append(f"default of {_problem(spec.name, spec.default, 'default', spec)}")
        specs[spec.name] = spec
    for spec in specs.values():
        other = spec.opt("not_below")
        if other is not None and other not in specs:
            problems.append(f"knob {spec.name}: not_below names unknown knob {other!r}")
    return specs


def _read_scenario(name: str, body: Any, specs: Mapping[str, KnobSpec], problems: list[str]) -> Scenario:
    if not isinstance(body, dict):
        body = {}
    description, knobs = body.get("description"), body.get("knobs") or {}
    if not isinstance(description, str) or not description:
        problems.append(f"scenario {name}: needs a description")
    if "gates" in body:
        problems.append(f"scenario {name}: 'gates:' is no longer read: every invariant the soak can judge gates; "
                        "demote one with 'report: {I3: \"why this scenario does not gate it\"}'")
    unknown = sorted(str(k) for k in body if k not in _SCENARIO_KEYS and k != "gates")
    if unknown:
        problems.append(f"scenario {name}: unknown key(s) {unknown}; a scenario has {', '.join(_SCENARIO_KEYS)}")
    report_only = _read_report(name, body.get("report"), problems)
    overrides: dict[str, str] = {}
    for knob, value in (knobs.items() if isinstance(knobs, dict) else ()):
        spec = specs.get(str(knob))
        if spec is None or spec.type == "scenario":
            problems.append(f"scenario {name}: cannot set {knob!r} (not a knob a scenario may set)")
            continue
        overrides[spec.name] = _yaml_text(value)
        try:
            parse_value(spec, overrides[spec.name])
        except _Rejected:
            problems.append(f"scenario {name}: {_problem(spec.name, overrides[spec.name], 'scenario', spec)}")
    return Scenario(name, str(description or ""), MappingProxyType(report_only), MappingProxyType(overrides))


def _read_report(name: str, raw: Any, problems: list[str]) -> dict[str, str]:
    """A scenario's `report: {id: reason}`: the invariants it demotes to report only, each with its reason."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"scenario {name}: report must map invariant ids to a reason, e.g. "
                        f"report: {{I3: \"why this scenario does not gate it\"}}; got {raw!r:.60}")
        return {}
    out: dict[str, str] = {}
    for key, reason in raw.items():
        rid = str(key)
        if rid not in INVARIANT_IDS:
            problems.append(f"scenario {name}: report names unknown invariant {rid!r}; known: {', '.join(INVARIANT_IDS)}")
        elif rid in NEVER_DEMOTED:
            problems.append(f"scenario {name}: cannot demote {rid} to report: {' and '.join(NEVER_DEMOTED)} (loss and "
                            "divergence) always gate when the soak can judge them; remove it from 'report:'")
        elif not isinstance(reason, str) or not reason.strip() or "\n" in reason.strip():
            problems.append(f"scenario {name}: report {rid} needs a one-line reason (why this scenario does not gate "
                            f"it), got {reason!r:.60}")
        else:
            out[rid] = reason.strip()
    return {rid: out[rid] for rid in INVARIANT_IDS if rid in out}


def _catalogue_text() -> str:
    return resources.files("battle").joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")


@functools.cache
def load_catalogue() -> Catalogue:
    """The packaged catalogue, read on first use (never at import)."""
    return parse_catalogue(_catalogue_text())


def scenario_names() -> tuple[str, ...]:
    return tuple(load_catalogue().scenarios)


# ---------------------------------------------------------------- the resolved configuration


@dataclass(frozen=True)
class RunConfig:
    scenario: str
    description: str
    report_only: Mapping[str, str]  # the scenario's demotions: invariant id -> its stated reason
    knobs: Mapping[str, Any]  # typed: ranges are (lo, hi) float tuples or None, lists are tuples
    sources: Mapping[str, str]  # knob -> "cli" | "env" | "scenario" | "default"
    specs: Mapping[str, KnobSpec] = field(repr=False, compare=False)

    @classmethod
    def from_env(cls, scenario: str | None = None, minutes: float | str | None = None,
                 seed: int | str | None = None) -> RunConfig:
        """For entry points: the process environment, with CLI flags on top."""
        return resolve(os.environ, scenario, minutes, seed)

    @property
    def minutes(self) -> float:
        return float(self.knobs["SOAK_MINUTES"])

    @property
    def soak_seconds(self) -> float:
        return self.minutes * 60.0

    @property
    def seed(self) -> int:
        return int(self.knobs["SEED"])

    @property
    def bots(self) -> int:
        return int(self.knobs["BOTS"])

    def value(self, name: str) -> Any:
        try:
            return self.knobs[name]
        except KeyError:
            raise ConfigError([f"unknown knob {name!r}; known knobs: {', '.join(self.knobs)}"]) from None

    def limits(self) -> Mapping[str, Any]:
        """The threshold knobs, typed, for the judges."""
        return MappingProxyType({n: v for n, v in self.knobs.items() if self.specs[n].group == THRESHOLD_GROUP})

    def to_env(self) -> dict[str, str]:
        """Every knob as the text of an environment variable, for forwarding to processes and containers."""
        return {n: render_value(self.specs[n], v) for n, v in self.knobs.items()}

    def to_manifest(self) -> dict[str, Any]:
        """JSON-ready: the resolved knobs and where each came from."""
        return {
            "scenario": self.scenario,
            "description": self.description,
            "knobs": {n: {"value": _jsonable(v), "text": render_value(self.specs[n], v), "source": self.sources[n]}
                      for n, v in self.knobs.items()},
        }


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _cli_text(value: Any) -> str:
    return format_number(value) if isinstance(value, (int, float)) else str(value)


def resolve(env: Mapping[str, str], scenario_override: str | None = None,
            minutes_override: float | str | None = None, seed_override: int | str | None = None,
            catalogue: Catalogue | None = None) -> RunConfig:
    """Resolve every knob (explicit > scenario > default), validate them together, freeze."""
    cat = catalogue or load_catalogue()
    explicit: dict[str, tuple[str, str]] = {}
    for name, spec in cat.knobs.items():
        text = env.get(name)
        # An empty variable means "unset" unless '' is a meaningful value of the knob (e.g. a storm turned off).
        if text is not None and (text.strip() != "" or spec.accepts_empty):
            explicit[name] = (text, "env")
    for name, flag in (("SCENARIO", scenario_override), ("SOAK_MINUTES", minutes_override), ("SEED", seed_override)):
        if flag is not None:
            explicit[name] = (_cli_text(flag), "cli")
    scenario_text = explicit.get("SCENARIO", (cat.knobs["SCENARIO"].default, "default"))[0].strip()
    scenario = cat.scenarios.get(scenario_text)
    layer = scenario.knobs if scenario else {}
    texts: dict[str, str] = {}
    sources: dict[str, str] = {}
    for name, spec in cat.knobs.items():
        if name in explicit:
            texts[name], sources[name] = explicit[name]
        elif name in layer:
            texts[name], sources[name] = layer[name], "scenario"
        else:
            texts[name], sources[name] = spec.default, "default"
    values = validate(cat, texts, sources)
    assert scenario is not None  # validate() refused an unknown scenario
    return RunConfig(scenario.name, scenario.description, scenario.report_only, MappingProxyType(values),
                     MappingProxyType(sources), cat.knobs)


def validate(cat: Catalogue, texts: Mapping[str, str], sources: Mapping[str, str]) -> dict[str, Any]:
    """Typed values for every knob, or one ConfigError naming every bad knob, value and accepted form."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name, spec in cat.knobs.items():
        try:
            values[name] = parse_value(spec, texts[name])
        except _Rejected:
            problems.append(_problem(name, texts[name], sources[name], spec))
    for name, spec in cat.knobs.items():
        other = spec.opt("not_below")
        if other and name in values and other in values and values[name] < values[other]:
            problems.append(f"{name}={texts[name]!r} ({SOURCE_WORDS[sources[name]]}): expected a value ≥ "
                            f"{other} (={texts[other]!r})")
    problems.extend(_cross_checks(values, texts, sources))
    if problems:
        raise ConfigError(problems)
    return values


def _cross_checks(values: Mapping[str, Any], texts: Mapping[str, str], sources: Mapping[str, str]) -> list[str]:
    problems = []
    profiles = {p.strip() for p in str(values.get("COMPOSE_PROFILES", "")).split(",") if p.strip()}
    if "mutate" in profiles and values.get("MUTATE_PERIOD_SEC") == 0:
        problems.append(f"MUTATE_PERIOD_SEC={texts['MUTATE_PERIOD_SEC']!r} "
                        f"({SOURCE_WORDS[sources['MUTATE_PERIOD_SEC']]}): expected a number > 0 "
                        "while COMPOSE_PROFILES includes 'mutate'")
    if not re.fullmatch(r"[A-Za-z0-9_,\- ]*", str(values.get("COMPOSE_PROFILES", ""))):
        problems.append(f"COMPOSE_PROFILES={texts['COMPOSE_PROFILES']!r} "
                        f"({SOURCE_WORDS[sources['COMPOSE_PROFILES']]}): expected a comma list of compose "
                        "profile names (letters, digits, '-', '_'), e.g. 'mutate', or ''")
    return problems


# ---------------------------------------------------------------- docs/knobs.md


def render_knobs_markdown(cat: Catalogue | None = None) -> str:
    cat = cat or load_catalogue()
    out = [
        "# Knobs and scenarios",
        "",
        "Generated from `battle/scenarios.yml` by `python -m battle.config > docs/knobs.md`; a unit test",
        "fails when the two disagree. Every knob is an environment variable.",
        "",
        "Precedence: explicit environment (and the CLI flags `--scenario`, `--minutes`, `--seed`) >",
        "scenario > default. A variable set to `''` counts as explicit only for knobs that accept `''`",
        "(text knobs and storms that can be turned off); for any other knob an empty variable means unset.",
        "A bad value stops the run before anything starts (exit 2), naming the knob, the value and the",
        "accepted form. The resolved values and where each came from are in `manifest.json`.",
        "",
        "The fault plan (`plan.json`, `battle/chaos/plan.py`) is drawn from the chaos knobs and `SEED`, one",
        "random stream per family. When a soak is shorter than a family's interval, its first event (and the",
        "first of each variant: each power-cut target, each error status) is moved inside the first third",
        "of the soak, so every family a scenario turns on fires. Every fault is restored before a calm tail",
        "of max(10% of the soak, 20 s); faults on one target never overlap. Attrition draws a graceful",
        "`restart` (tool, plc-sim, cloud), a crash (`power`: tool, plc-sim) or a `wipe` (tool) by",
        "`ATTRITION_WEIGHTS`. `DELAY_MS` is constant for the whole run, not an event.",
        "",
    ]
    for group in GROUPS:
        specs = [s for s in cat.knobs.values() if s.group == group]
        out += [f"## {group}", "", "| knob | default | accepted | meaning |", "|---|---|---|---|"]
        for s in specs:
            default = f"`{s.default}`" if s.default != "" else "`''`"
            out.append(f"| `{s.name}` | {default} | {accepted_form(s)} | {s.doc} |")
        out.append("")
    out += [
        "## Scenarios",
        "",
        "Every invariant this soak can judge gates the verdict. Before anything starts, each invariant's",
        "feasibility is computed from the resolved knobs and the plan (`battle/gating.py`, rules in",
        "docs/invariants.md); one that this soak cannot judge is demoted to report only, and every demotion is",
        "printed (`battle validate`, `battle plan`, the start of a run) and recorded in `manifest.json` and",
        "`verdict.json`. `STRICT_GATES=1` refuses such a run instead (exit 2). A scenario may demote an",
        f"invariant itself with a stated reason (`report: {{I3: \"why\"}}`), except {' and '.join(NEVER_DEMOTED)}.",
        "Demoted invariants are still judged and reported (role `report`).",
        "",
        "| scenario | demoted by the scenario | overrides | what it throws |",
        "|---|---|---|---|",
    ]
    for sc in cat.scenarios.values():
        overrides = ", ".join(f"`{k}={v}`" for k, v in sc.knobs.items()) or "none"
        demoted = "; ".join(f"{rid}: {reason}" for rid, reason in sc.report_only.items()) or "none"
        out.append(f"| `{sc.name}` | {demoted} | {overrides} | {sc.description} |")
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render_knobs_markdown(), end="")
