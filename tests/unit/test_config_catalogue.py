"""A broken catalogue is exit 2 naming the file and the line, never a traceback; every number is bounded."""

from __future__ import annotations

import re

import pytest

import battle.config as config_module
from battle import cli
from battle.config import KNOB_TYPES, ConfigError, load_catalogue, parse_catalogue, resolve

GOOD = """\
schema: 1
defaults:
  SCENARIO: {group: run, type: scenario, default: a, doc: "the scenario"}
  SOAK_MINUTES: {group: run, type: float, above: 0, max: 60, default: 5, doc: "minutes"}
  SEED: {group: run, type: int, min: 0, max: 9, default: 1, doc: "seed"}
  BOTS: {group: run, type: int, min: 1, max: 9, default: 2, doc: "bots"}
  STRICT_KNOBS: {group: run, type: bool, default: false, doc: "strict"}
  STORM: {group: chaos, type: range, unit: minutes, optional: true, max: 60, default: "", doc: "a storm"}
scenarios:
  a:
    description: "plain"
    knobs: {}
  b:
    description: "stormy"
    knobs:
      STORM: "1,2"
"""


def problems_of(text: str, source: str = "cat.yml") -> tuple[str, ...]:
    with pytest.raises(ConfigError) as err:
        parse_catalogue(text, source)
    return err.value.problems


def line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def test_the_good_catalogue_reads():
    cat = parse_catalogue(GOOD, "cat.yml")
    assert list(cat.scenarios) == ["a", "b"] and cat.scenarios["b"].knobs == {"STORM": "1,2"}


@pytest.mark.parametrize("broken, needle, what", [
    (GOOD.replace("max: 9, default: 2", "max: 9,, default: 2"), ",, default: 2",
     "not valid YAML: expected the node content, but found ',' (while parsing a flow node)"),
    (GOOD.replace('    description: "stormy"', '\tdescription: "stormy"'), '\tdescription',
     "not valid YAML: found character '\\t' that cannot start any token (while scanning for the next token)"),
    (GOOD.replace('knobs: {}', 'knobs: {"unclosed}'), '  b:',
     "not valid YAML: expected ',' or '}', but got '<scalar>' (while parsing a flow mapping that starts on line 12)"),
    (GOOD.replace('doc: "bots"}', 'doc: !!python/object:os.system "bots"}'), "!!python", "not valid YAML"),
])
def test_a_yaml_syntax_error_names_the_file_and_line(broken, needle, what):
    (problem,) = problems_of(broken)
    match = re.match(r"cat\.yml:(\d+):(\d+): (.*)", problem)
    assert match, problem
    assert int(match.group(1)) in (line_of(broken, needle), line_of(broken, needle) + 1), problem
    assert what in match.group(3)


def test_a_control_character_names_its_line():
    broken = GOOD.replace('doc: "seed"', 'doc: "se\x07ed"')
    (problem,) = problems_of(broken)
    assert problem.startswith(f"cat.yml:{line_of(broken, 'se')}: not valid YAML: character '\\x07'")


@pytest.mark.parametrize("old, new, needle, expected", [
    ("min: 1, max: 9, default: 2", "min: 1, max: nine, default: 2", "max: nine",
     "knob BOTS: max: 'nine' is not a finite number; a bound is a number in the knob's unit, e.g. max: 60"),
    ("min: 1, max: 9, default: 2", "min: 1, maxx: 9, default: 2", "maxx",
     "knob BOTS: unknown key 'maxx'; an int knob has group, type, default, doc and optionally above, max, min, "
     "not_below"),
    ("min: 1, max: 9, default: 2", "min: 10, max: 9, default: 2", "min: 10",
     "knob BOTS: max 9 leaves no value: it must be above min 10"),
    ("min: 1, max: 9, default: 2", "min: 1, max: .inf, default: 2", "max: .inf",
     "knob BOTS: max: inf is not a finite number"),
    ("min: 1, max: 9, default: 2", "min: 1, default: 2", "BOTS:",
     "knob BOTS: a numeric knob needs an upper bound: add 'max: N'"),
    ("optional: true, max: 60,", "optional: true,", "STORM:", "knob STORM: a numeric knob needs an upper bound"),
    ("type: int, min: 1, max: 9, default: 2", "type: [int], min: 1, max: 9, default: 2", "type: [int]",
     "knob BOTS: type must be one of"),
    ("group: run, type: int, min: 1", "group: walk, type: int, min: 1", "group: walk",
     "knob BOTS: group must be one of ['run', 'crew', 'mutator', 'chaos', 'thresholds', 'sut'], got 'walk'"),
    ("max: 9, default: 2,", "max: 9, default: 20,", "default: 20",
     "default of BOTS='20' (the default): expected an integer between 1 and 9"),
    ("unit: minutes,", "unit: hours,", "unit: hours", "knob STORM: unit must be minutes or seconds, got 'hours'"),
    ('doc: "bots"}', "doc: \"bots\"}\n  BOTS: {group: run, type: int, min: 1, max: 5, default: 1, doc: again}",
     "doc: again", "'BOTS' under defaults is given twice (first on line 6); YAML would keep only the last one"),
    ('      STORM: "1,2"', '      STORM: "1,200"', 'STORM: "1,200"',
     "scenario b: STORM='1,200' (from the scenario): expected two numbers 'lo,hi' in minutes with 0 ≤ lo ≤ hi ≤ 60"),
    ('      STORM: "1,2"', '      STROM: "1,2"', "STROM", "scenario b: cannot set 'STROM'"),
    ('    description: "plain"', '    description: "plain"\n    colour: red', "colour",
     "scenario a: unknown key(s) ['colour']"),
    ("    knobs: {}", "    knobs: [STORM]", "knobs: [STORM]", "scenario a: knobs must map knob names to values"),
    ("  a:\n    description: \"plain\"\n    knobs: {}\n", "  a: [plain]\n", "a: [plain]",
     "scenario a: expected a mapping with description, report, knobs"),
    ("  STRICT_KNOBS: {group: run, type: bool, default: false, doc: \"strict\"}\n", "", "defaults:",
     "knob STRICT_KNOBS is missing: the harness reads it directly; declare it with type bool"),
    ("scenarios:", "scenario:", "scenario:", "unknown top-level key 'scenario'; the catalogue has schema, defaults, "
     "scenarios"),
    ("  SEED: {group", "  SEED: 7\n  XSEED: {group", "SEED: 7", "knob SEED: expected a mapping with group, type"),
])
def test_a_semantic_problem_names_the_file_the_line_and_the_fix(old, new, needle, expected):
    assert GOOD.count(old) == 1, old
    broken = GOOD.replace(old, new)
    problems = problems_of(broken)
    line = line_of(broken, needle)
    assert any(p.startswith(f"cat.yml:{line}: {expected}") for p in problems), (line, problems)


def test_the_source_defaults_to_the_packaged_path():
    with pytest.raises(ConfigError) as err:
        parse_catalogue(GOOD.replace("max: 9, default: 2", "max: 9, default: 0"))
    assert err.value.problems[0].startswith("battle/scenarios.yml:6: default of BOTS='0'")
    assert "described at the top of battle/scenarios.yml" in str(err.value)


@pytest.mark.parametrize("text", ["", "[1, 2]", "schema: 2\n", "schema: 1\n", "schema: 1\ndefaults: {}\nscenarios: []\n"])
def test_a_catalogue_without_its_structure_is_refused(text):
    problems = problems_of(text)
    assert problems and all(re.match(r"cat\.yml:\d+: ", p) for p in problems), problems


def test_any_broken_line_of_the_real_catalogue_is_read_or_refused_cleanly():
    """No shape of a broken catalogue reaches a traceback: each is read, or refused with a line number."""
    lines = config_module._catalogue_text().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.lstrip().startswith("#") or not line.strip():
            continue
        # Alternately: the line deleted, or its first value made an unclosed flow sequence.
        edit = lines[:i] + lines[i + 1:] if i % 2 else lines[:i] + [line.replace(": ", ": [", 1)] + lines[i + 1:]
        try:
            parse_catalogue("".join(edit))
        except ConfigError as exc:
            assert all(re.match(r"battle/scenarios\.yml:\d+(:\d+)?: ", p) for p in exc.problems), exc.problems


def test_every_numeric_knob_of_the_catalogue_has_an_upper_bound():
    for spec in load_catalogue().knobs.values():
        if KNOB_TYPES[spec.type].numeric:
            assert spec.opt("max") is not None, spec.name


@pytest.mark.parametrize("knob, value, form", [
    ("SOAK_MINUTES", "1e9", "a number > 0 and ≤ 10080"),
    ("SOAK_MINUTES", "10081", "a number > 0 and ≤ 10080"),
    ("SEED", "9007199254740992", "an integer between 0 and 9007199254740991"),
    ("MUTATE_PERIOD_SEC", "3601", "a number between 0 and 3600"),
    ("DOWNLOAD_STORM", "1,20000", "0 ≤ lo ≤ hi ≤ 10080"),
    ("ATTRITION_PERIOD", "1,1e9", "0 ≤ lo ≤ hi ≤ 10080"),
    ("ATTRITION_RECOVERY_S", "5,100000", "in seconds with 0 ≤ lo ≤ hi ≤ 86400"),
    ("CLOUD_FLAP", "2,20000", "0 < down < period ≤ 10080"),
    ("ATTRITION_WEIGHTS", "1,1,5000", "each ≤ 1000"),
    ("POWER_DOWN_S", "1e6", "a number > 0 and ≤ 86400"),
    ("WARMUP_S", "1e9", "a number between 0 and 86400"),
    ("P95_MS", "1e9", "a number > 0 and ≤ 600000"),
    ("LINKSHAPE_BANDWIDTH_KBPS", "99999999999", "an integer between 0 and 10000000"),
    ("FLAP_BUDGET", "1000000", "an integer between 0 and 100000"),
])
def test_a_value_above_the_upper_bound_is_refused(knob, value, form):
    with pytest.raises(ConfigError) as err:
        resolve({knob: value})
    (problem,) = err.value.problems
    assert problem.startswith(f"{knob}={value!r} (from the environment): expected ") and form in problem, problem


def test_the_largest_values_are_accepted():
    cfg = resolve({"SOAK_MINUTES": "10080", "DOWNLOAD_STORM": "0,10080", "CLOUD_FLAP": "1,10080"})
    assert cfg.minutes == 10080 and cfg.value("DOWNLOAD_STORM") == (0.0, 10080.0)


# ---------------------------------------------------------------- through the command line


@pytest.fixture
def catalogue_text(monkeypatch):
    """Swap the packaged catalogue for a test's text (the load cache is cleared before and after)."""
    original = config_module._catalogue_text()

    def use(edit):
        text = edit(original)
        monkeypatch.setattr(config_module, "_catalogue_text", lambda: text)
        load_catalogue.cache_clear()
        return text

    yield use
    monkeypatch.undo()
    load_catalogue.cache_clear()


def test_validate_with_a_yaml_syntax_error_exits_2_naming_the_line(capsys, catalogue_text):
    text = catalogue_text(lambda t: t.replace("  BOTS: {group: run,", "  BOTS: {group: run,,", 1))
    assert cli.main(["validate"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err and "harness error" not in err
    assert f"battle/scenarios.yml:{line_of(text, '  BOTS:')}:" in err and "not valid YAML" in err
    assert "bad configuration, nothing started" in err


def test_validate_with_a_semantic_error_exits_2_naming_the_line(capsys, catalogue_text):
    text = catalogue_text(lambda t: t.replace("max: 256, default: 8", "max: lots, default: 8", 1))
    assert cli.main(["validate"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert (f"battle/scenarios.yml:{line_of(text, 'max: lots')}: knob BOTS: max: 'lots' is not a finite number"
            in err)


def test_the_docs_generator_exits_2_on_a_broken_catalogue(capsys, catalogue_text):
    catalogue_text(lambda t: t.replace("  BOTS: {group: run,", "  BOTS: [", 1))
    assert config_module.main() == 2
    out, err = capsys.readouterr()
    assert out == "" and re.search(r"battle/scenarios\.yml:\d+:\d+: not valid YAML", err)
