"""Bad values stop the run with one error naming every bad knob, its value and the accepted form."""

import pathlib
import re

import pytest

from battle.config import ConfigError, load_catalogue, parse_catalogue, render_knobs_markdown, resolve

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "knobs.md"


def test_unknown_scenario_names_the_accepted_ones():
    with pytest.raises(ConfigError) as err:
        resolve({"SCENARIO": "s5"})
    text = str(err.value)
    assert "SCENARIO='s5'" in text and "from the environment" in text
    assert "one of s1, s2, s3, s4, s6, mutate, attrition, all" in text


def test_bad_storm_names_knob_value_and_form():
    with pytest.raises(ConfigError) as err:
        resolve({"DOWNLOAD_STORM": "abc"})
    assert err.value.problems == (
        "DOWNLOAD_STORM='abc' (from the environment): expected two numbers 'lo,hi' in minutes "
        "with 0 ≤ lo ≤ hi ≤ 10080 and hi > 0, or '' to turn it off",)


@pytest.mark.parametrize("minutes", ["-5", "0", "abc", "nan", "inf", ""])
def test_non_positive_or_garbage_minutes_refused(minutes):
    if minutes == "":  # empty means unset for a number: the default applies
        assert resolve({"SOAK_MINUTES": minutes}).minutes > 0
        return
    with pytest.raises(ConfigError, match=r"SOAK_MINUTES=.*expected a number > 0"):
        resolve({"SOAK_MINUTES": minutes})


def test_negative_minutes_from_the_cli_refused_too():
    with pytest.raises(ConfigError, match=r"SOAK_MINUTES='-1' \(from a command-line flag\)"):
        resolve({}, minutes_override=-1)
    with pytest.raises(ConfigError, match="SCENARIO='nope'"):
        resolve({}, scenario_override="nope")


def test_every_problem_is_reported_at_once():
    env = {"SCENARIO": "bogus", "DOWNLOAD_STORM": "abc", "SOAK_MINUTES": "-3", "BOTS": "0",
           "CLOUD_FLAP": "6,2", "THINK_MIN_MS": "2000"}
    with pytest.raises(ConfigError) as err:
        resolve(env)
    names = [p.split("=", 1)[0] for p in err.value.problems]
    assert names == ["SCENARIO", "SOAK_MINUTES", "BOTS", "DOWNLOAD_STORM", "CLOUD_FLAP", "THINK_MAX_MS"]
    assert "6 problems" in str(err.value) and "docs/knobs.md" in str(err.value)


@pytest.mark.parametrize("knob, value, form", [
    ("BOTS", "2.5", "an integer between 1 and 256"),
    ("SEED", "-1", "an integer between 0 and 9007199254740991"),
    ("HOT_FRACTION", "1.5", "a number between 0 and 1"),
    ("DOWNLOAD_STORM", "40,20", "0 ≤ lo ≤ hi"),
    ("DOWNLOAD_STORM", "1,2,3", "two numbers 'lo,hi'"),
    ("POWER_STORM", "0,0", "hi > 0"),
    ("CLOUD_ERRORS", "-1,3", "0 ≤ lo ≤ hi"),
    ("CLOUD_FLAP", "6,6", "0 < down < period"),
    ("ATTRITION", "maybe", "true or false"),
    ("ATTRITION_PERIOD", "", None),  # not optional: '' means unset, so it is accepted as the default
    ("ATTRITION_RECOVERY_S", "30,5", "in seconds"),
    ("CLOUD_ERRORS_STATUS", "429,200", "each between 400 and 599"),
    ("CLOUD_ERRORS_STATUS", "429,x", "a comma list of integers"),
    ("ATTRITION_WEIGHTS", "1,2", "3 non-negative numbers 'graceful,crash,wipe'"),
    ("ATTRITION_WEIGHTS", "0,0,0", "not all zero"),
    ("MAX_DEAD", "4", "between 1 and 3"),
    ("DELAY_MS", "-10", "between 0 and 60000"),
    ("P99_MS", "100", "≥ P95_MS"),
    ("COMPOSE_PROFILES", "mutate;rm -rf", "compose profile names"),
])
def test_bad_value_is_named_with_its_accepted_form(knob, value, form):
    if form is None:
        resolve({knob: value})
        return
    with pytest.raises(ConfigError) as err:
        resolve({knob: value})
    (problem,) = err.value.problems
    assert problem.startswith(f"{knob}={value!r}") and form in problem


def test_mutator_needs_a_period_when_its_profile_is_on():
    assert resolve({"MUTATE_PERIOD_SEC": "0"}).value("MUTATE_PERIOD_SEC") == 0  # mutator off: fine
    with pytest.raises(ConfigError, match="MUTATE_PERIOD_SEC='0'.*> 0 while COMPOSE_PROFILES includes 'mutate'"):
        resolve({"MUTATE_PERIOD_SEC": "0"}, "mutate")


def test_the_sut_checks_bug_names_not_the_config():
    assert resolve({"BATTLE_SUT_BUGS": "no_such_bug"}).value("BATTLE_SUT_BUGS") == "no_such_bug"


def test_bool_spellings():
    for text, want in [("true", True), ("1", True), ("YES", True), ("on", True), ("false", False), ("0", False),
                       ("No", False), ("off", False)]:
        assert resolve({"ATTRITION": text}).value("ATTRITION") is want


BROKEN = """
schema: 1
defaults:
  SCENARIO: {group: run, type: scenario, default: a, doc: d}
  N: {group: run, type: int, min: 1, max: 9, default: 0, doc: d}
  W: {group: run, type: wobbly, default: 1, doc: d}
  R: {group: chaos, type: range, unit: minutes, optional: true, max: 60, default: "", doc: d}
  STRICT_KNOBS: {group: run, type: bool, default: false, doc: d}
  SOAK_MINUTES: {group: run, type: float, above: 0, max: 60, default: 1, doc: d}
  SEED: {group: run, type: int, min: 0, max: 9, default: 1, doc: d}
  BOTS: {group: run, type: int, min: 1, max: 9, default: 1, doc: d}
scenarios:
  a: {description: ok, report: {I3: "no PLC here"}, knobs: {R: "x,y"}}
  b: {description: ok, gates: [I9], knobs: {NOT_A_KNOB: 1, SCENARIO: a}}
  c: {description: ok, report: {I9: "x", I2: "", I4: "loss is boring", I6: "so is divergence"}, colour: red}
  d: {description: ok, report: [I3]}
"""


def test_a_broken_catalogue_reports_every_problem():
    with pytest.raises(ConfigError) as err:
        parse_catalogue(BROKEN)
    problems = err.value.problems
    assert all(re.match(r"battle/scenarios\.yml:\d+: ", p) for p in problems), problems
    text = "\n".join(problems)
    assert "battle/scenarios.yml:5: default of N='0' (the default): expected an integer between 1 and 9" in text
    assert "battle/scenarios.yml:6: knob W: type must be one of" in text
    assert "battle/scenarios.yml:13: scenario a: R='x,y'" in text
    assert "battle/scenarios.yml:14: scenario b: 'gates:' is no longer read" in text
    assert "knob W: type must be one of" in text
    assert "scenario a: R='x,y'" in text
    assert "scenario a: report" not in text  # a demotion with its reason is fine
    assert "scenario b: 'gates:' is no longer read" in text and "report: {I3:" in text
    assert "cannot set 'NOT_A_KNOB'" in text and "cannot set 'SCENARIO'" in text
    assert "scenario c: report names unknown invariant 'I9'; known: I1, I2, I3, I4, I5, I6, I7" in text
    assert "scenario c: report I2 needs a one-line reason" in text
    assert "scenario c: cannot demote I4 to report" in text and "scenario c: cannot demote I6 to report" in text
    assert "scenario c: unknown key(s) ['colour']" in text
    assert "scenario d: report must map invariant ids to a reason" in text


def test_a_scenario_demotion_is_read_in_id_order_with_its_reason():
    cat = parse_catalogue(BROKEN.split("scenarios:")[0].replace("default: 0", "default: 1")
                          .replace("type: wobbly", "type: int, max: 9") + """scenarios:
  a: {description: ok, report: {I7: " edits are elsewhere ", I3: "no PLC here"}}
""")
    assert list(cat.scenarios["a"].report_only.items()) == [("I3", "no PLC here"), ("I7", "edits are elsewhere")]


def test_a_catalogue_that_is_not_yaml_is_refused():
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_catalogue("defaults: [unclosed")
    with pytest.raises(ConfigError, match="schema: 1"):
        parse_catalogue("schema: 2\n")


def test_docs_name_every_knob_and_scenario():
    docs = DOCS.read_text(encoding="utf-8")
    cat = load_catalogue()
    for name in cat.knobs:
        assert f"`{name}`" in docs, f"{name} missing from docs/knobs.md"
    for name in cat.scenarios:
        assert f"`{name}`" in docs


def test_docs_are_exactly_what_the_catalogue_generates():
    assert DOCS.read_text(encoding="utf-8") == render_knobs_markdown(), \
        "docs/knobs.md is stale: run `python -m battle.config > docs/knobs.md`"
