"""Damaged evidence is reported by file, never a traceback, never a PASS or FAIL resting on it (the unit side of
tests/integration/test_damaged_run_dirs.py, which damages a real run dir)."""

from __future__ import annotations

import json
import logging

import pytest
from test_gather_judge import write_run

from battle import invariants
from battle.cli import main
from battle.common.jsonl import read_jsonl
from battle.common.timefmt import parse_iso
from battle.evidence import Evidence
from battle.judging import error_verdict, judge_run_dir, seal_run_dir
from battle.observer.gather import Problems, check_plan, gather, load_faults, load_mutations
from battle.seal import RunShape, expected_artifacts, seal, verify

SHAPE = RunShape(bots=1, backend="local", planned_faults=0, planned_tag_resets=0, mutator=False)


def sealed_run(run_dir):
    """write_run's run dir, sealed as a run seals it (its journal has one damaged line: listed, judged around)."""
    write_run(run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["seal"] = seal_run_dir(run_dir, manifest)
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def edit_manifest(run_dir, **changes):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest.update(changes)
    (run_dir / "manifest.json").write_text(json.dumps(manifest))


def no_traceback(caplog):
    return not any(record.exc_info for record in caplog.records)


@pytest.mark.parametrize("value", [1795000000, None, ["2026-11-22T04:17:20.101Z"], "not a time"])
def test_parse_iso_refuses_anything_but_a_time_string_with_value_error(value):
    with pytest.raises(ValueError):
        parse_iso(value)


def test_line_problems_name_the_file_not_the_path_it_was_read_from(tmp_path):
    path = tmp_path / "deep" / "events.jsonl"
    path.parent.mkdir()
    path.write_text('{"a": 1}\n[1, 2]\n')
    _, problems = read_jsonl(path)
    assert [str(p) for p in problems] == ["events.jsonl:2: not a JSON object: '[1, 2]'"]


def test_a_bad_time_is_listed_even_on_a_step_already_seen_or_a_line_not_otherwise_read(tmp_path):
    ledger = tmp_path / "injected.jsonl"
    line = {"schema": 1, "ts": "2026-11-22T04:17:20.101Z", "fault": "f001", "kind": "download", "target": "plc-sim",
            "step": "applied", "params": {}}
    ledger.write_text(json.dumps(line) + "\n" + json.dumps({**line, "ts": 5}) + "\n")
    problems = Problems()
    faults = load_faults(ledger, problems)
    assert faults[0].applied_at == parse_iso(line["ts"])
    assert len(problems) == 1 and problems[0].startswith("injected.jsonl: bad ledger line")
    mutations = tmp_path / "mutations.jsonl"
    mutations.write_text(json.dumps({"schema": 1, "ts": "soon", "type": "seen", "op": 1, "latencyS": 1.0}) + "\n")
    problems = Problems()
    assert load_mutations(mutations, problems) == ((), ())
    assert len(problems) == 1 and "bad mutation" in problems[0] and not problems.broken


@pytest.mark.parametrize(("text", "says"), [
    ("[]", "without a faults list"), ("null", "null"), ('{"schema": 1, "faults": [1]}', "faults must be objects"),
    ('{"schema": 2, "faults": []}', "schema 2"), ('{"schema": 1, "faults": [{"id": "f1"}]}', "kind, target"),
])
def test_a_plan_of_the_wrong_shape_is_broken(tmp_path, text, says):
    (tmp_path / "plan.json").write_text(text)
    problems = Problems()
    check_plan(tmp_path / "plan.json", problems)
    assert "plan.json" in problems.broken and says in problems.broken["plan.json"]


def test_a_sound_plan_is_no_problem(tmp_path):
    (tmp_path / "plan.json").write_text(json.dumps({"schema": 1, "faults": [
        {"id": "f1", "kind": "download", "target": "plc-sim", "at": 1.0, "duration": 5, "params": {}}]}))
    problems = Problems()
    check_plan(tmp_path / "plan.json", problems)
    assert problems == [] and problems.broken == {}


@pytest.mark.parametrize("name", ["snapshot-local.json", "snapshot-cloud.json", "snapshot-queue.json", "settle.json"])
def test_json_null_and_a_directory_are_broken_not_silently_empty(tmp_path, name):
    write_run(tmp_path / "null")
    (tmp_path / "null" / name).write_text("null")
    assert "null" in gather(tmp_path / "null").broken[name]
    write_run(tmp_path / "dir")
    (tmp_path / "dir" / name).unlink()
    (tmp_path / "dir" / name).mkdir()
    assert "not a regular file" in gather(tmp_path / "dir").broken[name]


@pytest.mark.parametrize("block", ["sealed", [], {"artifacts": []}, {"artifacts": {}, "missing": "plan.json"}])
def test_a_malformed_seal_vouches_for_nothing(tmp_path, block):
    for name in expected_artifacts(SHAPE):
        (tmp_path / name).write_text("{}\n")
    check = verify(tmp_path, expected_artifacts(SHAPE), block)
    assert "manifest.json" in check.problems and "no artifact can be verified" in check.problems["manifest.json"]
    assert set(check.problems) == {"manifest.json", *expected_artifacts(SHAPE)}


def test_a_seal_entry_that_is_not_an_object_is_named(tmp_path):
    for name in expected_artifacts(SHAPE):
        (tmp_path / name).write_text("{}\n")
    block = seal(tmp_path, expected_artifacts(SHAPE), "t")
    block["artifacts"]["settle.json"] = "ok"
    assert list(verify(tmp_path, expected_artifacts(SHAPE), block).problems) == ["settle.json"]


def test_shorter_with_as_many_lines_is_altered_not_truncated(tmp_path):
    for name in expected_artifacts(SHAPE):
        (tmp_path / name).write_text('{"long": "value"}\n{"line": 2}\n')
    block = seal(tmp_path, expected_artifacts(SHAPE), "t")
    (tmp_path / "settle.json").write_text('{"v": 1}\n{"line": 2}\n')
    (tmp_path / "health.csv").write_text('{"long": "value"}\n')
    problems = verify(tmp_path, expected_artifacts(SHAPE), block).problems
    assert problems["settle.json"].startswith("altered since the run sealed it (shorter")
    assert problems["health.csv"].startswith("truncated")


@pytest.mark.parametrize(("limits", "why"), [({}, "missing"), ({"P95_MS": "fast"}, "'fast' is not a number")])
def test_a_knob_the_limits_lack_errors_the_invariants_that_need_it_naming_the_manifest(limits, why):
    from test_gather_judge import LIMITS

    evidence = Evidence(run_id="r", started_at=0.0, soak_end=60.0, warmup_s=0.0)
    outcomes = {o.id: o for o in invariants.judge_all(evidence, {**LIMITS, **limits} if limits else
                                                      {k: v for k, v in LIMITS.items() if k != "P95_MS"})}
    assert outcomes["I1"].status == "error" and "manifest.json" in outcomes["I1"].error
    assert f"needs knob P95_MS ({why})" in outcomes["I1"].error
    assert all(outcomes[i].error is None for i in ("I3", "I4", "I5", "I6", "I7"))
    assert invariants.knob_problems({**LIMITS, **limits} if limits else {}).get("P95_MS") == why


def test_judge_lists_a_missing_knob_as_an_evidence_problem(tmp_path):
    from test_gather_judge import LIMITS

    sealed_run(tmp_path / "run")
    edit_manifest(tmp_path / "run", gates=["I1", "I4"], limits={k: v for k, v in LIMITS.items() if k != "P95_MS"})
    verdict = judge_run_dir(tmp_path / "run")
    assert verdict.verdict == "error"
    assert "manifest.json: limits: knob P95_MS missing (accepted: a number)" in verdict.evidence_problems
    assert {o.id: o.status for o in verdict.results}["I1"] == "error"


@pytest.mark.parametrize(("changes", "says"), [
    ({"gates": "I4,I6"}, "gates is 'I4,I6'"), ({"gates": {"I4": True}}, "gates is"),
    ({"gates": ["I99"]}, "unknown invariant 'I99'"), ({"limits": []}, "limits is []"),
    ({"startedAt": "yesterday"}, "startedAt is 'yesterday'"), ({"startedAt": 5}, "startedAt is 5"),
    ({"times": []}, "times is []"), ({"times": {"soakEnd": "later"}}, "times.soakEnd"),
    ({"seed": "one"}, "seed is 'one'"), ({"seed": True}, "seed is True"), ({"minutes": "2"}, "minutes is '2'"),
    ({"knobs": []}, "knobs is []"), ({"bots": "3"}, "bots is '3'"), ({"knobs": {"BOTS": "three"}}, "BOTS"),
    ({"demoted": [1]}, "demoted"), ({"errors": "boom"}, "errors is 'boom'"), ({"errors": [1]}, "errors is [1]"),
    ({"minutes": float("nan")}, "minutes is nan"), ({"minutes": -1}, "minutes is -1"),
    ({"knobs": {"WARMUP_S": "ten"}}, "knobs.WARMUP_S is 'ten'"),
])
def test_a_manifest_that_is_not_what_battle_writes_is_an_error_verdict_naming_it(tmp_path, caplog, changes, says):
    sealed_run(tmp_path / "run")
    (tmp_path / "run" / "verdict.json").write_text(json.dumps({"verdict": "pass"}))  # stale: must be replaced
    edit_manifest(tmp_path / "run", **changes)
    with caplog.at_level(logging.INFO):
        verdict = judge_run_dir(tmp_path / "run")
    assert verdict.verdict == "error" and verdict.exit_code == 2
    assert any(p.startswith("manifest.json:") and says in p for p in verdict.evidence_problems), verdict
    assert json.loads((tmp_path / "run" / "verdict.json").read_text())["verdict"] == "error"
    assert "manifest.json" in (tmp_path / "run" / "junit.xml").read_text()
    assert no_traceback(caplog)


@pytest.mark.parametrize("seal_block", ["sealed", [], {"artifacts": [], "missing": []}])
def test_a_malformed_seal_makes_every_invariant_an_error(tmp_path, seal_block):
    sealed_run(tmp_path / "run")
    edit_manifest(tmp_path / "run", seal=seal_block)
    verdict = judge_run_dir(tmp_path / "run")
    assert verdict.verdict == "error" and {o.status for o in verdict.results} == {"error"}
    assert any(p.startswith("manifest.json: its seal") for p in verdict.evidence_problems)


def test_an_unsealed_run_is_still_judged(tmp_path):
    write_run(tmp_path / "run")  # no seal at all: a killed run, judged as far as its files allow
    verdict = judge_run_dir(tmp_path / "run")
    assert verdict.verdict == "pass" and not verdict.sealed


@pytest.mark.parametrize("minutes", [None, float("nan"), float("inf"), "2"])
def test_an_error_verdict_takes_only_sound_fields_from_a_damaged_manifest(tmp_path, minutes):
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "verdict.json").write_text(json.dumps({"verdict": "pass"}))
    verdict = error_verdict(tmp_path / "r1", "why", {"runId": ["x"], "seed": "one", "minutes": minutes,
                                                      "startedAt": "yesterday", "scenario": 3})
    assert (verdict.run_id, verdict.seed, verdict.scenario, verdict.soak_minutes) == ("r1", 0, "unknown", 0.0)
    parse_iso(verdict.started)
    assert json.loads((tmp_path / "r1" / "verdict.json").read_text())["verdict"] == "error"  # not the stale pass


@pytest.mark.parametrize(("name", "row"), [
    ("health.csv", "2026-11-22T04:17:20.101Z,nan,3.0,200,1,calm\n"),
    ("health.csv", "2026-11-22T04:17:20.101Z,1795000000.0,inf,200,1,calm\n"),
    ("memory.csv", "2026-11-22T04:17:20.101Z,1795000000.0,tool,1@1,nan\n"),
])
def test_a_csv_number_that_is_not_finite_is_a_bad_row(tmp_path, name, row):
    write_run(tmp_path / "run")
    with open(tmp_path / "run" / name, "a") as handle:
        handle.write(row)
    evidence = gather(tmp_path / "run")
    assert any(p.startswith(f"{name}:2: bad") and "not a finite number" in p for p in evidence.problems)
    assert evidence.probes == () and evidence.memory == ()


def test_settle_seconds_that_are_not_finite_break_settle_json(tmp_path):
    write_run(tmp_path / "run")
    (tmp_path / "run" / "settle.json").write_text('{"drained": true, "seconds": NaN}')
    assert "drained" in gather(tmp_path / "run").broken["settle.json"]


def test_json_nested_too_deep_is_unreadable_not_a_crash(tmp_path):
    write_run(tmp_path / "run")
    (tmp_path / "run" / "snapshot-cloud.json").write_text("[" * 100_000)
    with open(tmp_path / "run" / "journal-bot1.jsonl", "a") as handle:
        handle.write("[" * 100_000 + "\n")
    with open(tmp_path / "run" / "injected.jsonl", "a") as handle:
        handle.write("[" * 100_000 + "\n")
    evidence = gather(tmp_path / "run")
    assert "RecursionError" in evidence.broken["snapshot-cloud.json"]
    assert any(p.startswith("journal-bot1.jsonl:") and "nested too deep" in p for p in evidence.problems)
    assert any(p.startswith("injected.jsonl:4: not a JSON line") for p in evidence.problems)
    (tmp_path / "run" / "manifest.json").write_text('{"a": ' * 100_000)
    verdict = judge_run_dir(tmp_path / "run")
    assert verdict.verdict == "error" and verdict.evidence_problems[0].startswith("manifest.json: unreadable")


def test_judge_of_a_folder_that_is_not_a_run_says_so_without_a_traceback(tmp_path, capsys, caplog):
    assert main(["judge", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [] and no_traceback(caplog)


def test_a_symlinked_manifest_is_refused_by_name(tmp_path, caplog):
    sealed_run(tmp_path / "run")
    outside = tmp_path / "manifest-copy.json"
    (tmp_path / "run" / "manifest.json").rename(outside)
    (tmp_path / "run" / "manifest.json").symlink_to(outside)
    verdict = judge_run_dir(tmp_path / "run")
    assert verdict.verdict == "error" and verdict.run_id == "run"
    assert verdict.evidence_problems[0].startswith("manifest.json: is a symlink") and no_traceback(caplog)
