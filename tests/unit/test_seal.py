"""The evidence seal: what a run must have, measured at the end, and every way a file can go wrong."""

from __future__ import annotations

import os

import pytest

from battle.seal import RunShape, expected_artifacts, measure, seal, verify

SHAPE = RunShape(bots=2, backend="local", planned_faults=1, planned_tag_resets=0, mutator=False)


def _run_dir(tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name in expected_artifacts(SHAPE):
        (tmp_path / name).write_text(f'{{"name": "{name}"}}\n{{"line": 2}}\n', encoding="utf-8")
    return tmp_path


def test_expected_artifacts_follow_the_run_shape():
    names = expected_artifacts(SHAPE)
    assert "journal-bot0.jsonl" in names and "journal-bot1.jsonl" in names and "journal-bot2.jsonl" not in names
    assert "injected.jsonl" in names and "mutations.jsonl" not in names and "plc-readback.jsonl" not in names
    docker = expected_artifacts(RunShape(1, "docker", 0, 2, True))
    assert {"docker-events.jsonl", "plc-readback.jsonl", "mutations.jsonl"} <= set(docker)
    assert "injected.jsonl" not in docker


def test_a_sealed_untouched_run_dir_verifies_clean(tmp_path):
    run_dir = _run_dir(tmp_path)
    block = seal(run_dir, expected_artifacts(SHAPE), "2026-12-02T00:00:00.000Z")
    assert block["missing"] == [] and block["artifacts"]["health.csv"]["lines"] == 2
    check = verify(run_dir, expected_artifacts(SHAPE), block)
    assert check.sealed and check.problems == {}


@pytest.mark.parametrize(("damage", "expected"), [
    (lambda p: p.unlink(), "missing"),
    (lambda p: p.write_bytes(p.read_bytes()[:10]), "truncated"),
    (lambda p: p.write_text(p.read_text().replace("2", "3")), "altered"),
])
def test_each_kind_of_damage_is_named_by_file(tmp_path, damage, expected):
    run_dir = _run_dir(tmp_path)
    block = seal(run_dir, expected_artifacts(SHAPE), "t")
    damage(run_dir / "journal-bot1.jsonl")
    problems = verify(run_dir, expected_artifacts(SHAPE), block).problems
    assert list(problems) == ["journal-bot1.jsonl"] and problems["journal-bot1.jsonl"].startswith(expected)


def test_a_symlinked_input_is_refused_by_name(tmp_path):
    run_dir = _run_dir(tmp_path / "run")
    block = seal(run_dir, expected_artifacts(SHAPE), "t")
    target = tmp_path / "elsewhere.csv"
    target.write_text((run_dir / "health.csv").read_text())
    (run_dir / "health.csv").unlink()
    os.symlink(target, run_dir / "health.csv")
    assert "symlink" in verify(run_dir, expected_artifacts(SHAPE), block).problems["health.csv"]
    with pytest.raises(OSError):
        measure(run_dir / "health.csv")  # never followed


def test_an_unsealed_run_dir_is_checked_for_missing_files_only(tmp_path):
    run_dir = _run_dir(tmp_path)
    (run_dir / "snapshot-local.json").unlink()
    (run_dir / "events.jsonl").write_text("anything")
    check = verify(run_dir, expected_artifacts(SHAPE), None)
    assert not check.sealed and check.problems == {"snapshot-local.json": "missing"}


def test_a_file_missing_at_seal_time_stays_a_problem(tmp_path):
    run_dir = _run_dir(tmp_path)
    (run_dir / "settle.json").unlink()
    block = seal(run_dir, expected_artifacts(SHAPE), "t")
    assert block["missing"] == ["settle.json"]
    assert "already missing" in verify(run_dir, expected_artifacts(SHAPE), block).problems["settle.json"]


def test_an_append_only_log_may_grow_after_the_seal_but_not_change_what_was_sealed(tmp_path):
    run_dir = _run_dir(tmp_path)
    block = seal(run_dir, expected_artifacts(SHAPE), "t")
    with open(run_dir / "health.csv", "a") as handle:
        handle.write("probe,while,judging\n")  # the observer keeps probing during judging
    assert verify(run_dir, expected_artifacts(SHAPE), block).problems == {}
    (run_dir / "health.csv").write_text("rewritten from the start\n" * 5)
    assert verify(run_dir, expected_artifacts(SHAPE), block).problems["health.csv"].startswith("altered")
    (run_dir / "snapshot-local.json").write_text((run_dir / "snapshot-local.json").read_text() + " ")
    assert "snapshot-local.json" in verify(run_dir, expected_artifacts(SHAPE), block).problems
