"""The gate decision on the command line: validate, plan, run and the summary say every demotion."""

from __future__ import annotations

import json
import os
import re

import pytest

import battle.config as config_module
from battle import cli
from battle.chaos.plan import generate_plan, plan_to_json
from battle.config import load_catalogue, meant_knobs, resolve


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Only what a test sets: no knob (nor a variable that looks like a misspelt one) leaks in from the shell."""
    knobs = tuple(load_catalogue().knobs)
    for name in [*knobs, *(n for n in os.environ if meant_knobs(n, knobs))]:
        monkeypatch.delenv(name, raising=False)


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_prints_the_demotions_of_the_15_minute_nightly(capsys, monkeypatch):
    monkeypatch.setenv("SCENARIO", "all")
    monkeypatch.setenv("SOAK_MINUTES", "15")
    code, out, err = run_cli(capsys, "validate")
    assert code == 0
    lines = err.strip().splitlines()
    assert lines[0] == "battle: scenario all, 15 min, seed 1: gates I1 I3 I4 I5 I6 I7; demoted to report: I2"
    assert len(lines) == 2 and lines[1].startswith(
        "battle: gate I2 demoted to report: longest planned tool lifetime ")
    answer = json.loads(out)
    assert answer["gates"] == ["I1", "I3", "I4", "I5", "I6", "I7"]
    assert set(answer["demoted"]) == {"I2"} and answer["demoted"]["I2"]["cause"] == "infeasible"


def test_validate_of_a_short_s1_names_each_demoted_gate(capsys):
    code, out, err = run_cli(capsys, "validate", "--scenario", "s1", "--minutes", "4")
    assert code == 0
    demoted = [line for line in err.splitlines() if "demoted to report:" in line and "gate I" in line]
    assert [line.split(":")[1].strip() for line in demoted] == [
        "gate I2 demoted to report", "gate I3 demoted to report", "gate I7 demoted to report"]
    assert json.loads(out)["gates"] == ["I1", "I4", "I5", "I6"]


def test_validate_refuses_an_infeasible_gate_under_strict_gates(capsys, monkeypatch):
    monkeypatch.setenv("STRICT_GATES", "1")
    code, out, err = run_cli(capsys, "validate", "--scenario", "s1", "--minutes", "4")
    assert code == 2 and out == ""
    assert "bad configuration, nothing started" in err
    for rid in ("I2", "I3", "I7"):
        assert f"STRICT_GATES is on and gate {rid} cannot be judged by this soak" in err


def test_run_refuses_an_infeasible_gate_before_a_run_dir_exists(capsys, monkeypatch, tmp_path):
    import battle.backends.local as local

    def never(*args, **kwargs):
        raise AssertionError("the stack must not be built")

    monkeypatch.setattr(local, "build_local_stack", never)
    monkeypatch.setenv("STRICT_GATES", "1")
    runs = tmp_path / "runs"
    code, _out, err = run_cli(capsys, "run", "--backend", "local", "--scenario", "s1", "--minutes", "4",
                              "--runs-dir", str(runs), "--run-id", "strict")
    assert code == 2 and "STRICT_GATES is on and gate I2" in err
    assert not runs.exists()


def test_plan_keeps_stdout_the_exact_plan_and_says_demotions_on_stderr(capsys):
    code, out, err = run_cli(capsys, "plan", "--scenario", "all", "--minutes", "15")
    assert code == 0
    assert out == plan_to_json(generate_plan(resolve({}, "all", 15)))
    assert "battle: gate I2 demoted to report: " in err


@pytest.fixture
def catalogue_text(monkeypatch):
    """Swap the packaged catalogue for a test's text (the load cache is cleared before and after)."""
    original = config_module._catalogue_text()

    def use(edit):
        monkeypatch.setattr(config_module, "_catalogue_text", lambda: edit(original))
        load_catalogue.cache_clear()

    yield use
    monkeypatch.undo()
    load_catalogue.cache_clear()


def _line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def test_a_catalogue_that_demotes_i4_stops_validate_with_exit_2(capsys, catalogue_text):
    edited = []
    catalogue_text(lambda text: edited.append(text.replace(
        '  mutate:\n', '  mutate:\n    report: {I4: "edits race the crew"}\n', 1)) or edited[-1])
    code, out, err = run_cli(capsys, "validate", "--scenario", "s1")
    assert code == 2 and out == ""
    line = _line_of(edited[-1], "    report: {I4:")
    assert f"battle/scenarios.yml:{line}: scenario mutate: cannot demote I4 to report" in err


def test_a_catalogue_with_an_empty_reason_or_the_old_gates_list_is_refused(capsys, catalogue_text):
    catalogue_text(lambda text: text.replace('  s2:\n', '  s2:\n    report: {I3: ""}\n', 1)
                   .replace('  s3:\n', '  s3:\n    gates: [I4, I6]\n', 1))
    code, _out, err = run_cli(capsys, "validate")
    assert code == 2
    assert re.search(r"battle/scenarios\.yml:\d+: scenario s2: report I3 needs a one-line reason", err)
    assert re.search(r"battle/scenarios\.yml:\d+: scenario s3: 'gates:' is no longer read", err)


def test_the_summary_prints_each_demoted_gate(capsys):
    verdict = {"verdict": "pass", "exitCode": 0, "runId": "r", "scenario": "s1", "seed": 1,
               "results": [{"id": "I3", "role": "report", "status": "inconclusive", "evidence": 0,
                            "reason": "nothing applied"}],
               "demoted": {"I3": {"reason": "no planned fault resets the PLC's tags", "cause": "infeasible"}}}
    cli._print_summary(verdict)
    out = capsys.readouterr().out
    assert "  gate I3 demoted to report: no planned fault resets the PLC's tags" in out


def test_a_local_run_says_each_demoted_gate_before_the_stack_starts(tmp_path, monkeypatch):
    import battle.backends.local as local

    said: list[str] = []

    def no_stack(*args, **kwargs):
        said.append("<stack>")
        raise RuntimeError("no stack in a unit test")

    monkeypatch.setattr(local, "build_local_stack", no_stack)
    verdict = local.run_local(resolve({}, "all", 15), local.LocalRunOptions(tmp_path, "all-x", said.append))
    assert said[:3] == ["run all-x: gates I1 I3 I4 I5 I6 I7; demoted to report: I2",
                        said[1], "<stack>"]
    assert said[1].startswith("gate I2 demoted to report: longest planned tool lifetime")
    manifest = json.loads((tmp_path / "all-x" / "manifest.json").read_text())
    assert list(manifest["demoted"]) == ["I2"] and manifest["feasibility"]["I2"]["feasible"] is False
    assert verdict.verdict == "error" and list(verdict.demoted) == ["I2"]
