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
_TOP_KEYS = ("schema", "defaults", "scenarios")
_REQUIRED_SPEC_KEYS = ("group", "type", "default", "doc")
# Knobs the harness reads by name outside RunConfig.value(), with the type it reads them as.
_REQUIRED_KNOBS = {"SCENARIO": "scenario", "SOAK_MINUTES": "float", "SEED": "int", "BOTS": "int",
                   "STRICT_KNOBS": "bool"}
_DOCS_HINT = "knobs, their accepted forms and the scenarios: docs/knobs.md (generated from battle/scenarios.yml)"
_CATALOGUE_HINT = ("fix the catalogue at the line named; its format (types, bounds, options) is described at the top of "
                   "battle/scenarios.yml")


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
    """A value that does not parse; the caller words the message from the knob's accepted form (and `why`,
    when the parser knows more than 'not of that form', e.g. which module could not be imported)."""

    def __init__(self, text: str, why: str | None = None) -> None:
        super().__init__(text)
        self.why = why


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
    """How one declared type parses text, describes its accepted form and renders a value back; which options
    (besides group, type, default, doc) a knob of it may declare; and whether it is a number, which then
    needs an upper bound (`max`) in the catalogue."""

    parse: Callable[[KnobSpec, str], Any]
    form: Callable[[KnobSpec], str]
    render: Callable[[Any], str]
    options: frozenset[str] = frozenset()
    numeric: bool = False


KNOB_TYPES: dict[str, KnobType] = {}


def register_type(name: str, parse: Callable[[KnobSpec, str], Any], form: Callable[[KnobSpec], str],
                  render: Callable[[Any], str] | None = None, options: Iterable[str] = (),
                  numeric: bool = False) -> None:
    KNOB_TYPES[name] = KnobType(parse, form, render or _render_scalar, frozenset(options), numeric)


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


def _parse_adapter(spec: KnobSpec, text: str) -> str:
    # Imported here: the adapters package is not needed to read the catalogue, only to check this knob.
    from battle.adapters.registry import AdapterSelectionError, choose_adapter

    try:
        choose_adapter(text)
    except AdapterSelectionError as exc:
        raise _Rejected(text, str(exc)) from exc
    return text.strip()


def _adapter_form(spec: KnobSpec) -> str:
    from battle.adapters.registry import accepted_form

    return accepted_form()


def _pair(spec: KnobSpec, text: str) -> tuple[float, float] | None:
    if text.strip() == "" and spec.opt("optional"):
        return None
    parts = text.split(",")
    if len(parts) != 2:
        raise _Rejected(text)
    return _number(parts[0]), _number(parts[1])


def _upto(spec: KnobSpec) -> str:
    """' ≤ max' for the upper end of a range, a flap's period or each weight."""
    hi = spec.opt("max")
    return f" ≤ {format_number(hi)}" if hi is not None else ""


def _at_most(spec: KnobSpec, x: float) -> bool:
    hi = spec.opt("max")
    return hi is None or x <= hi


def _parse_range(spec: KnobSpec, text: str) -> tuple[float, float] | None:
    pair = _pair(spec, text)
    if pair is not None and not (0 <= pair[0] <= pair[1] and pair[1] > 0 and _at_most(spec, pair[1])):
        raise _Rejected(text)
    return pair


def _parse_flap(spec: KnobSpec, text: str) -> tuple[float, float] | None:
    pair = _pair(spec, text)
    if pair is not None and not (0 < pair[0] < pair[1] and _at_most(spec, pair[1])):
        raise _Rejected(text)
    return pair


def _parse_int_list(spec: KnobSpec, text: str) -> tuple[int, ...]:
    items = tuple(_parse_int(spec, part) for part in text.split(","))
    return items


def _parse_weights(spec: KnobSpec, text: str) -> tuple[float, ...]:
    values = tuple(_number(part) for part in text.split(","))
    if (len(values) != len(spec.opt("labels", ())) or min(values) < 0 or sum(values) <= 0
            or not all(_at_most(spec, v) for v in values)):
        raise _Rejected(text)
    return values


_BOUNDS = ("min", "max", "above")
register_type("int", _parse_int, lambda s: "an integer" + _bounds_text(s),
              options=(*_BOUNDS, "not_below"), numeric=True)
register_type("float", _parse_float, lambda s: "a number" + _bounds_text(s),
              options=(*_BOUNDS, "not_below"), numeric=True)
register_type("bool", _parse_bool, lambda s: "true or false (also 1/0, yes/no, on/off)")
register_type("str", lambda s, t: t, lambda s: s.opt("form", "any text"), options=("form",))
register_type("adapter", _parse_adapter, _adapter_form)
register_type("scenario", _parse_choice, lambda s: "one of " + ", ".join(s.opt("choices", ())))
register_type("range", _parse_range,
              lambda s: (f"two numbers 'lo,hi' in {s.opt('unit', 'minutes')} with 0 ≤ lo ≤ hi{_upto(s)} and hi > 0"
                         + _off_text(s)),
              options=("unit", "optional", "max"), numeric=True)
register_type("flap", _parse_flap,
              lambda s: f"two numbers 'down,period' in minutes with 0 < down < period{_upto(s)}" + _off_text(s),
              options=("optional", "max"), numeric=True)
register_type("list(int)", _parse_int_list, lambda s: "a comma list of integers, each" + _bounds_text(s),
              options=_BOUNDS, numeric=True)
register_type("weights", _parse_weights,
              lambda s: (f"{len(s.opt('labels', ()))} non-negative numbers '{','.join(s.opt('labels', ()))}', "
                         f"each{_upto(s)}, not all zero"),
              options=("labels", "max"), numeric=True)


def accepted_form(spec: KnobSpec) -> str:
    return KNOB_TYPES[spec.type].form(spec)


def parse_value(spec: KnobSpec, text: str) -> Any:
    """The typed value of `text` for this knob; raises `_Rejected` when it does not parse."""
    return KNOB_TYPES[spec.type].parse(spec, text)


def render_value(spec: KnobSpec, value: Any) -> str:
    return KNOB_TYPES[spec.type].render(value)


def _problem(name: str, text: str, source: str, spec: KnobSpec, why: str | None = None) -> str:
    if why:
        return f"{name}={text!r} ({SOURCE_WORDS[source]}): {why}; expected {accepted_form(spec)}"
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


_KeyPath = tuple[str, ...]  # where in the catalogue: ("defaults", "BOTS", "max"), ("scenarios", "s2", "knobs")


class _Problems:
    """Catalogue problems, each located at the line of the key it is about (or of its nearest parent)."""

    def __init__(self, source: str, lines: Mapping[_KeyPath, int]) -> None:
        self.source, self.lines = source, lines
        self.items: list[str] = []

    def line(self, path: Iterable[Any]) -> int:
        key = tuple(str(p) for p in path)
        while key and key not in self.lines:
            key = key[:-1]
        return self.lines.get(key, 1)

    def add(self, path: Iterable[Any], text: str, line: int | None = None) -> None:
        self.items.append(f"{self.source}:{line or self.line(path)}: {text}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.items, hint=_CATALOGUE_HINT)


def _key_lines(node: yaml.Node | None, path: _KeyPath, lines: dict[_KeyPath, int],
               twice: list[tuple[_KeyPath, int, int]]) -> None:
    """The 1-based line of every mapping key, by path; keys given twice (YAML would keep only the last)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            here = (*path, str(key.value))
            line = key.start_mark.line + 1
            if here in lines:
                twice.append((here, lines[here], line))
            else:
                lines[here] = line
            _key_lines(value, here, lines, twice)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.setdefault((*path, str(i)), item.start_mark.line + 1)
            _key_lines(item, (*path, str(i)), lines, twice)


def _load_yaml(text: str, source: str) -> tuple[Any, dict[_KeyPath, int], list[tuple[_KeyPath, int, int]]]:
    """The document, the line of every key and the keys given twice; a syntax error names its line."""
    try:
        loader = yaml.SafeLoader(text)  # the reader refuses control characters here already
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise ConfigError([f"{source}:{line}: not valid YAML: character {chr(exc.character)!r} is not allowed "
                           "(YAML takes printable Unicode only)"], hint=_CATALOGUE_HINT) from None
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark, began = exc.problem_mark or exc.context_mark, exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        what = str(exc.problem)
        if exc.context:
            since = (f" that starts on line {began.line + 1}"
                     if began is not None and mark is not None and began.line != mark.line else "")
            what += f" ({exc.context}{since})"
        raise ConfigError([f"{where}: not valid YAML: {what}"], hint=_CATALOGUE_HINT) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: not valid YAML: {exc}"], hint=_CATALOGUE_HINT) from None
    finally:
        loader.dispose()
    lines: dict[_KeyPath, int] = {}
    twice: list[tuple[_KeyPath, int, int]] = []
    _key_lines(node, (), lines, twice)
    return data, lines, twice


def parse_catalogue(text: str, source: str = CATALOGUE_PATH) -> Catalogue:
    """Read and check a catalogue; every problem in it is reported at once, each as `source:line: what`."""
    data, lines, twice = _load_yaml(text, source)
    problems = _Problems(source, lines)
    for path, first, again in twice:
        where = f" under {'.'.join(path[:-1])}" if len(path) > 1 else ""
        problems.add(path, f"{path[-1]!r}{where} is given twice (first on line {first}); YAML would keep only "
                           "the last one: remove or rename one", line=again)
    if not isinstance(data, dict) or data.get("schema") != 1:
        problems.add(("schema",), "the catalogue must be a mapping with 'schema: 1', 'defaults:' and 'scenarios:'")
        problems.raise_if_any()
    for key in data:
        if key not in _TOP_KEYS:
            problems.add((key,), f"unknown top-level key {key!r}; the catalogue has {', '.join(_TOP_KEYS)}")
    raw_knobs, raw_scenarios = data.get("defaults"), data.get("scenarios")
    if not isinstance(raw_knobs, dict) or not raw_knobs:
        problems.add(("defaults",), "needs a non-empty 'defaults:' mapping of knob names to their declarations")
    if not isinstance(raw_scenarios, dict) or not raw_scenarios:
        problems.add(("scenarios",), "needs a non-empty 'scenarios:' mapping of scenario names to their bodies")
    problems.raise_if_any()
    assert isinstance(raw_knobs, dict) and isinstance(raw_scenarios, dict)
    specs, broken = _read_specs(raw_knobs, tuple(str(n) for n in raw_scenarios), problems)
    scenarios = {str(n): _read_scenario(str(n), body, specs, broken, problems) for n, body in raw_scenarios.items()}
    problems.raise_if_any()
    return Catalogue(MappingProxyType(specs), MappingProxyType(scenarios))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _read_specs(raw: dict[Any, Any], scenario_names: tuple[str, ...],
                problems: _Problems) -> tuple[dict[str, KnobSpec], set[str]]:
    """The valid knob declarations, and the names of those too broken to read values against."""
    specs: dict[str, KnobSpec] = {}
    broken: set[str] = set()
    for key, body in raw.items():
        name = str(key)
        spec = _read_spec(name, body, scenario_names, problems)
        if spec is None:
            broken.add(name)
        else:
            specs[name] = spec
    for spec in specs.values():
        other = spec.opt("not_below")
        if other is not None and (other not in specs or not KNOB_TYPES[specs[other].type].numeric):
            problems.add(("defaults", spec.name, "not_below"),
                         f"knob {spec.name}: not_below names {other!r}, which is not a numeric knob of this catalogue")
    for name, want in _REQUIRED_KNOBS.items():
        if name not in specs and name not in broken:
            problems.add(("defaults",), f"knob {name} is missing: the harness reads it directly; declare it with "
                                        f"type {want}")
        elif name in specs and specs[name].type != want:
            problems.add(("defaults", name, "type"), f"knob {name}: the harness reads it as type {want}, "
                                                     f"not {specs[name].type}")
    return specs, broken


def _read_spec(name: str, body: Any, scenario_names: tuple[str, ...], problems: _Problems) -> KnobSpec | None:
    at = ("defaults", name)
    if not isinstance(body, dict):
        problems.add(at, f"knob {name}: expected a mapping with group, type, default and doc, e.g. "
                         f"{{group: run, type: int, min: 0, max: 10, default: 1, doc: \"what it does\"}}; "
                         f"got {body!r:.60}")
        return None
    missing = [k for k in _REQUIRED_SPEC_KEYS if k not in body]
    if missing:
        problems.add(at, f"knob {name}: missing {', '.join(missing)}; every knob declares "
                         f"{', '.join(_REQUIRED_SPEC_KEYS)}")
    kind, group = body.get("type"), body.get("group")
    ktype = KNOB_TYPES.get(kind) if isinstance(kind, str) else None
    if "type" in body and ktype is None:
        problems.add((*at, "type"), f"knob {name}: type must be one of {sorted(KNOB_TYPES)}, got {kind!r:.60}")
    if "group" in body and group not in GROUPS:
        problems.add((*at, "group"), f"knob {name}: group must be one of {list(GROUPS)}, got {group!r:.60}")
    ok = not missing and ktype is not None and group in GROUPS
    options = ktype.options if ktype else frozenset().union(*(t.options for t in KNOB_TYPES.values()))
    for key in body:
        if key not in _REQUIRED_SPEC_KEYS and key not in options:
            what = f"{'an' if str(kind)[:1] in 'aeiou' else 'a'} {kind} knob" if ktype else "a knob"
            extra = ", ".join(sorted(options))
            problems.add((*at, key), f"knob {name}: unknown key {key!r:.40}; {what} has "
                                     f"{', '.join(_REQUIRED_SPEC_KEYS)}" + (f" and optionally {extra}" if extra else ""))
            ok = False
    if "doc" in body and (not isinstance(body["doc"], str) or not body["doc"].strip()):
        problems.add((*at, "doc"), f"knob {name}: doc must be a sentence saying what the knob does")
    ok = _check_options(name, body, ktype, problems) and ok
    if not ok or ktype is None:
        return None
    declared = {k: v for k, v in body.items() if k not in _REQUIRED_SPEC_KEYS}
    if kind == "scenario":
        declared["choices"] = scenario_names
    spec = KnobSpec(name, str(group), str(kind), _yaml_text(body["default"]), str(body["doc"]),
                    MappingProxyType(declared))
    try:
        parse_value(spec, spec.default)
    except _Rejected:
        problems.add((*at, "default"), f"default of {_problem(spec.name, spec.default, 'default', spec)}")
    return spec


def _check_options(name: str, body: dict[Any, Any], ktype: KnobType | None, problems: _Problems) -> bool:
    """Bounds are finite numbers that leave room for a value; a numeric knob has an upper bound. True when the
    declaration can be used to read values."""
    at, ok = ("defaults", name), True
    for key in _BOUNDS:
        if key in body and not _is_number(body[key]):
            problems.add((*at, key), f"knob {name}: {key}: {body[key]!r:.40} is not a finite number; a bound is "
                                     f"a number in the knob's unit, e.g. {key}: 60")
            ok = False
    if not ok:
        return False
    lo, hi, above = body.get("min"), body.get("max"), body.get("above")
    if ktype is not None and ktype.numeric and hi is None:
        problems.add(at, f"knob {name}: a numeric knob needs an upper bound: add 'max: N' (the largest sensible "
                         "value in its unit), so that a value like 1e9 is refused before anything starts")
    for low, word in ((lo, "min"), (above, "above")):
        if low is not None and hi is not None and (low > hi or (word == "above" and low == hi)):
            problems.add((*at, "max"), f"knob {name}: max {format_number(hi)} leaves no value: it must be above "
                                       f"{word} {format_number(low)}")
            ok = False
    if "unit" in body and body["unit"] not in ("minutes", "seconds"):
        problems.add((*at, "unit"), f"knob {name}: unit must be minutes or seconds, got {body['unit']!r:.40}")
        ok = False
    if "optional" in body and not isinstance(body["optional"], bool):
        problems.add((*at, "optional"), f"knob {name}: optional must be true or false, got {body['optional']!r:.40}")
        ok = False
    labels = body.get("labels")
    if "labels" in body and not (isinstance(labels, list) and labels
                                 and all(isinstance(x, str) and x for x in labels)):
        problems.add((*at, "labels"), f"knob {name}: labels must be a list of names, e.g. [graceful, crash, wipe]")
        ok = False
    if "form" in body and not isinstance(body["form"], str):
        problems.add((*at, "form"), f"knob {name}: form must be a sentence describing the accepted text")
        ok = False
    if "not_below" in body and not isinstance(body["not_below"], str):
        problems.add((*at, "not_below"), f"knob {name}: not_below must name another knob, e.g. not_below: P95_MS")
        ok = False
    return ok


def _read_scenario(name: str, body: Any, specs: Mapping[str, KnobSpec], broken: set[str],
                   problems: _Problems) -> Scenario:
    at = ("scenarios", name)
    if not isinstance(body, dict):
        problems.add(at, f"scenario {name}: expected a mapping with {', '.join(_SCENARIO_KEYS)}, e.g. "
                         f"{{description: \"what it throws\", knobs: {{DOWNLOAD_STORM: \"20,40\"}}}}; got {body!r:.60}")
        return Scenario(name, "", MappingProxyType({}), MappingProxyType({}))
    description, knobs = body.get("description"), body.get("knobs") or {}
    if not isinstance(description, str) or not description:
        problems.add((*at, "description"), f"scenario {name}: needs a description")
    if "gates" in body:
        problems.add((*at, "gates"), f"scenario {name}: 'gates:' is no longer read: every invariant the soak can "
                                     "judge gates; demote one with 'report: {I3: \"why this scenario does not "
                                     "gate it\"}'")
    for key in body:
        if key not in _SCENARIO_KEYS and key != "gates":
            problems.add((*at, key), f"scenario {name}: unknown key(s) [{str(key)!r}]; a scenario has "
                                     f"{', '.join(_SCENARIO_KEYS)}")
    report_only = _read_report(name, body.get("report"), problems)
    if not isinstance(knobs, dict):
        problems.add((*at, "knobs"), f"scenario {name}: knobs must map knob names to values, e.g. "
                                     f"knobs: {{DOWNLOAD_STORM: \"20,40\"}}; got {knobs!r:.60}")
        knobs = {}
    overrides: dict[str, str] = {}
    for knob, value in knobs.items():
        where = (*at, "knobs", knob)
        if str(knob) in broken:
            continue  # its declaration is reported already
        spec = specs.get(str(knob))
        if spec is None or spec.type == "scenario":
            problems.add(where, f"scenario {name}: cannot set {knob!r} (not a knob a scenario may set)")
            continue
        overrides[spec.name] = _yaml_text(value)
        try:
            parse_value(spec, overrides[spec.name])
        except _Rejected:
            problems.add(where, f"scenario {name}: {_problem(spec.name, overrides[spec.name], 'scenario', spec)}")
    return Scenario(name, str(description or ""), MappingProxyType(report_only), MappingProxyType(overrides))


def _read_report(name: str, raw: Any, problems: _Problems) -> dict[str, str]:
    """A scenario's `report: {id: reason}`: the invariants it demotes to report only, each with its reason."""
    at = ("scenarios", name, "report")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(at, f"scenario {name}: report must map invariant ids to a reason, e.g. "
                         f"report: {{I3: \"why this scenario does not gate it\"}}; got {raw!r:.60}")
        return {}
    out: dict[str, str] = {}
    for key, reason in raw.items():
        rid = str(key)
        if rid not in INVARIANT_IDS:
            problems.add((*at, key), f"scenario {name}: report names unknown invariant {rid!r}; known: "
                                     f"{', '.join(INVARIANT_IDS)}")
        elif rid in NEVER_DEMOTED:
            problems.add((*at, key), f"scenario {name}: cannot demote {rid} to report: "
                                     f"{' and '.join(NEVER_DEMOTED)} (loss and divergence) always gate when the "
                                     "soak can judge them; remove it from 'report:'")
        elif not isinstance(reason, str) or not reason.strip() or "\n" in reason.strip():
            problems.add((*at, key), f"scenario {name}: report {rid} needs a one-line reason (why this scenario "
                                     f"does not gate it), got {reason!r:.60}")
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
        except _Rejected as exc:
            problems.append(_problem(name, texts[name], sources[name], spec, exc.why))
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


# ---------------------------------------------------------------- misspelt knobs in the environment

# Variables that are never a misspelt knob, so never checked: the shell's and the tools' own, and the harness's
# documented settings that are not knobs (README.md, ci/run_scenario.sh, docker-compose.battle.yml,
# battle/backends/docker_env.py STACK_VARS). A name ending in '*' is a prefix. BATTLE_SUT_BUGS is a knob, so
# the BATTLE_* settings are listed one by one: a misspelt BATTLE_SUT_BUG must still be caught.
NOT_KNOBS = frozenset({
    "PATH", "HOME", "USER", "SHELL", "PWD", "OLDPWD", "TERM", "LANG", "TZ", "TMPDIR", "HOSTNAME", "LOGNAME",
    "PYTHON*", "PIP_*", "VIRTUAL_ENV", "LC_*", "XDG_*", "SSH_*", "GIT_*", "CI", "CI_*", "GITLAB_*", "GITHUB_*",
    "RUNNER_*", "FF_*", "DOCKER_*", "COMPOSE", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME",
    "RUN_ID", "CHAOS_TOKEN", "CLOUD_API_KEY", "BATTLE_ARTIFACTS", "BATTLE_RUNS_DIR", "BATTLE_PYTHON",
    "BATTLE_KNOB_SOURCES", "BATTLE_GIT_COMMIT", "BATTLE_IMAGES", "BATTLE_IMAGE_SOURCE", "BATTLE_BUILD_DIR",
    "BATTLE_OBSERVER_GRACE_S",
})
_KNOB_LIKE = re.compile(r"[A-Z][A-Z0-9_]*")
_STRICT_KNOBS_HINT = ("STRICT_KNOBS is on: a variable that looks like a misspelt knob stops the run; rename it to "
                      "the knob or unset it (STRICT_KNOBS=0 only warns); knobs: docs/knobs.md")


def _ignored(name: str) -> bool:
    return name in NOT_KNOBS or any(p.endswith("*") and name.startswith(p[:-1]) for p in NOT_KNOBS)


def _edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment: an adjacent swap counts as one edit)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def _words(name: str) -> list[str]:
    return [w for w in name.split("_") if w]


def meant_knobs(name: str, knobs: Iterable[str]) -> list[str]:
    """The knobs `name` (not itself a knob) is probably a misspelling of, best first; [] when none is close.

    Close means: at most 2 edits from the knob (1 for a knob shorter than 6 characters), an adjacent swap
    counting as one; or the same words in another order or with an underscore missing or extra
    (MINUTES_SOAK, SOAKMINUTES); or the knob without its last words (LINKSHAPE_LATENCY), when only one knob
    starts so."""
    knobs = [k for k in knobs if k != name]
    same_shape = [k for k in knobs if sorted(_words(k)) == sorted(_words(name))
                  or k.replace("_", "") == name.replace("_", "")]
    if same_shape:
        return same_shape
    near = sorted((d, k) for k in knobs
                  if abs(len(k) - len(name)) <= 2 and (d := _edit_distance(name, k)) <= (2 if len(k) >= 6 else 1))
    if near:
        return [k for d, k in near if d == near[0][0]]
    prefixed = [k for k in knobs if k.startswith(name.rstrip("_") + "_")]
    return prefixed if len(prefixed) == 1 else []


def misspelt_knobs(env: Mapping[str, str], cat: Catalogue | None = None) -> list[str]:
    """One line per variable of `env` that is not a knob but looks like a misspelt one, naming the knob it
    probably meant. Only knob-like names (UPPER_CASE) are looked at, and none of NOT_KNOBS."""
    knobs = tuple((cat or load_catalogue()).knobs)
    out = []
    for name in sorted(env):
        if name in knobs or not _KNOB_LIKE.fullmatch(name) or _ignored(name):
            continue
        meant = meant_knobs(name, knobs)
        if meant:
            out.append(f"{name}={env[name]!r:.40} (from the environment) is not a knob and is ignored: did you mean "
                       f"{' or '.join(meant[:3])}?")
    return out


def resolve_checked(env: Mapping[str, str], scenario_override: str | None = None,
                    minutes_override: float | str | None = None, seed_override: int | str | None = None,
                    warn: Callable[[str], None] | None = None) -> RunConfig:
    """`resolve`, plus the check of the environment's names every command that checks or starts a run makes
    (validate, plan, run, compose-env): a variable that looks like a misspelt knob is passed to `warn` as a
    warning, or, with STRICT_KNOBS on, is a ConfigError before anything starts. The containers of a run
    resolve with `resolve`/`RunConfig.from_env` only: their environment was checked on the host."""
    typos = misspelt_knobs(env)
    try:
        config = resolve(env, scenario_override, minutes_override, seed_override)
    except ConfigError:
        for line in typos:  # STRICT_KNOBS unknown yet: say them, then the configuration's own problems
            (warn or _no_warn)(f"warning: {line}")
        raise
    if typos and config.value("STRICT_KNOBS"):
        raise ConfigError(typos, hint=_STRICT_KNOBS_HINT)
    for line in typos:
        (warn or _no_warn)(f"warning: {line} (STRICT_KNOBS=1 makes this an error)")
    return config


def _no_warn(_line: str) -> None:
    return None


# ---------------------------------------------------------------- docs/knobs.md


def render_knobs_markdown(cat: Catalogue | None = None) -> str:
    from battle.chaos.plan import MAX_EVENTS_PER_FAMILY, MIN_STEP_S

    cat = cat or load_catalogue()
    week = format_number(cat.knobs["SOAK_MINUTES"].opt("max"))
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
        "accepted form. The resolved values and where each came from are in `manifest.json`. Every number",
        f"has an upper bound as well as a lower one (a soak is at most {week} minutes).",
        "",
        "A variable that is not a knob but looks like a misspelt one (`SOAK_MINUTE`, `MINUTES_SOAK`,",
        "`SOAKMINUTES`, `LINKSHAPE_LATENCY`) gets a warning on stderr naming the knob it probably meant, from",
        "`battle validate`, `plan`, `run` and `compose-env`; the variable itself is ignored. `STRICT_KNOBS=1`",
        "refuses such a run instead (exit 2). Shell, CI and Docker variables and the harness's own settings",
        "(`RUN_ID`, `COMPOSE`, `BATTLE_ARTIFACTS`, ...) are never taken for a knob (`NOT_KNOBS` in",
        "`battle/config.py`).",
        "",
        "The fault plan (`plan.json`, `battle/chaos/plan.py`) is drawn from the chaos knobs and `SEED`, one",
        "random stream per family. When a soak is shorter than a family's interval, its first event (and the",
        "first of each variant: each power-cut target, each error status) is moved inside the first third",
        "of the soak, so every family a scenario turns on fires. Every fault is restored before a calm tail",
        "of max(10% of the soak, 20 s); faults on one target never overlap. Attrition draws a graceful",
        "`restart` (tool, plc-sim, cloud), a crash (`power`: tool, plc-sim) or a `wipe` (tool) by",
        "`ATTRITION_WEIGHTS`. `DELAY_MS` is constant for the whole run, not an event. A family draws at most",
        f"one event every {format_number(MIN_STEP_S)} s and at most {MAX_EVENTS_PER_FAMILY} in all; a storm dense "
        "enough to draw more over the soak",
        "is refused (exit 2).",
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


def main() -> int:
    """`python -m battle.config > docs/knobs.md`; a broken catalogue is exit 2 naming its line."""
    import sys

    try:
        text = render_knobs_markdown()
    except ConfigError as exc:
        print(f"battle.config: {exc}", file=sys.stderr)
        return 2
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
