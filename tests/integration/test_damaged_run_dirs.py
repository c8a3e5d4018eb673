"""Damaged and adversarial run dirs, built from ONE real local run: `battle judge RUN_DIR` never says PASS or
FAIL on missing or untrustworthy evidence, never tracebacks, and lists every evidence problem in verdict.json
(`evidence.problems`) and junit.xml.

The rule the cases check (DESIGN.md section 5, docs/artifacts.md):

- a broken *file* (missing, a symlink, not a regular file, truncated, unreadable, the wrong shape, a line of an
  unknown schema, different from its seal) makes every invariant whose `artifacts` match it `error` naming the
  file; the verdict is `error`, exit 2;
- a damaged *line* inside an otherwise sound file is listed (`file:line`) and judged around. Damaging a line in
  place also breaks the seal (the file is "altered"), so in place it is an error like any broken file; a bad
  line *appended* after the seal to an append-only log (.jsonl/.csv may grow while the run judges) leaves the
  sealed prefix intact: it is listed and the rest is judged exactly as the undamaged copy is;
- a broken manifest (the one file that carries the seal) is an error verdict naming manifest.json.

Each case copies the real run dir, damages the copy, runs `python -m battle judge COPY` as a subprocess (so a
traceback or a wrong exit code shows) and records its outcome; the last test prints and checks the count.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from battle.invariants import all_specs
from battle.seal import RunShape, expected_artifacts

REPO = Path(__file__).resolve().parents[2]
RUN_ID = "damaged-source"
RUN_ARGS = ["run", "--backend", "local", "--scenario", "all", "--minutes", "2", "--seed", "1", "--run-id", RUN_ID]
RUN_ENV = {"WARMUP_S": "10", "BOTS": "3"}  # `all` at seed 1 plans every fault family, a download and the mutator
# What the `all` run above must leave, so that the cases can be parametrized before it runs; the fixture checks
# that the real run's seal lists exactly these.
SEALED = expected_artifacts(RunShape(bots=3, backend="local", planned_faults=10, planned_tag_resets=1,
                                     mutator=True))
SCHEMA_JSONL = ("injected.jsonl", "journal-bot0.jsonl", "journal-bot1.jsonl", "journal-bot2.jsonl",
                "mutations.jsonl", "plc-readback.jsonl")
ERROR, LISTED = "error naming the file", "judged, problem listed"

RESULTS: list[dict[str, Any]] = []  # one row per case, for the summary


def _battle(args: list[str], cwd: Path, timeout: float, env_extra: dict[str, str] | None = None):
    env = {**os.environ, **(env_extra or {}), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "battle", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


@dataclass(frozen=True)
class Source:
    run_dir: Path
    verdict: dict[str, Any]  # the run's own verdict
    rejudged: dict[str, Any]  # `battle judge` of an undamaged copy: what a line judged around must still give
    seconds: float


@pytest.fixture(scope="session")
def source(tmp_path_factory) -> Source:
    root = tmp_path_factory.mktemp("damaged-source")
    started = time.monotonic()
    done = _battle([*RUN_ARGS, "--runs-dir", str(root / "runs")], root, 420, RUN_ENV)
    seconds = time.monotonic() - started
    run_dir = root / "runs" / RUN_ID
    assert (run_dir / "verdict.json").is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert done.returncode == verdict["exitCode"], done.stdout[-3000:]
    # An error baseline would prove nothing: the cases show damage turning a judged verdict into an error.
    assert verdict["verdict"] in ("pass", "fail", "inconclusive"), done.stdout[-3000:]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    seal = manifest["seal"]
    assert isinstance(seal, dict) and seal["missing"] == [], seal
    assert sorted(seal["artifacts"]) == sorted(SEALED), "the run's shape changed: update SEALED"
    assert verdict["coverage"]["download"]["applied"] >= 1 and len(verdict["coverage"]) >= 5
    assert seal["artifacts"]["plc-readback.jsonl"]["lines"] >= 1  # a download was read back
    mutations = [json.loads(line) for line in (run_dir / "mutations.jsonl").read_text().splitlines()]
    assert any(m["type"] == "ok" for m in mutations)  # the mutator edited the cloud
    assert verdict["evidence"] == {"sealed": True, "problems": []}
    copy = root / "undamaged"
    shutil.copytree(run_dir, copy, symlinks=True)
    again = _battle(["judge", str(copy)], root, 120)
    rejudged = json.loads((copy / "verdict.json").read_text())
    assert again.returncode == rejudged["exitCode"] and "Traceback" not in again.stderr, again.stderr[-3000:]
    assert rejudged["evidence"]["problems"] == [] and rejudged["verdict"] == verdict["verdict"]
    print(f"\nsource run: {seconds:.0f} s, verdict {verdict['verdict']}", flush=True)
    return Source(run_dir, verdict, rejudged, seconds)


@dataclass(frozen=True)
class Judged:
    returncode: int
    stdout: str
    stderr: str
    verdict: dict[str, Any] | None
    junit: str | None

    def results(self) -> dict[str, dict[str, Any]]:
        assert self.verdict is not None
        return {r["id"]: r for r in self.verdict["results"]}


def _copy(source: Source, tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    shutil.copytree(source.run_dir, run_dir, symlinks=True)
    return run_dir


def _judge(run_dir: Path) -> Judged:
    done = _battle(["judge", str(run_dir)], run_dir.parent, 120)
    verdict_path, junit_path = run_dir / "verdict.json", run_dir / "junit.xml"
    verdict = json.loads(verdict_path.read_text()) if verdict_path.is_file() else None
    junit = junit_path.read_text() if junit_path.is_file() else None
    return Judged(done.returncode, done.stdout, done.stderr, verdict, junit)


def _record(category: str, case: str, name: str, judged: Judged, file_broken: bool) -> None:
    verdict = judged.verdict or {}
    problems = (verdict.get("evidence") or {}).get("problems", [])
    named = any(name in p for p in problems)
    if verdict.get("verdict") == "error" and named:
        outcome = ERROR
    elif verdict and named:
        outcome = LISTED
    else:
        outcome = f"unexpected ({verdict.get('verdict')}, exit {judged.returncode})"
    RESULTS.append({"category": category, "case": case, "outcome": outcome,
                    "traceback": "Traceback" in judged.stderr,
                    "judged_on_broken": file_broken and verdict.get("verdict") in ("pass", "fail")})


def _assert_error_naming(judged: Judged, name: str, says: str = "") -> None:
    """Exit 2, verdict error; every invariant depending on `name` is an error naming it; the problem is listed
    in verdict.json and junit.xml."""
    assert "Traceback" not in judged.stderr, judged.stderr[-3000:]
    assert judged.returncode == 2, judged.stdout + judged.stderr[-2000:]
    assert judged.verdict is not None and judged.verdict["verdict"] == "error" and judged.verdict["exitCode"] == 2
    dependents = [s for s in all_specs() if s.depends_on(name)]
    if name != "manifest.json":
        assert dependents, f"no invariant declares {name} among its artifacts"
    results = judged.results()
    for spec in dependents:
        result = results[spec.id]
        assert result["status"] == "error", (spec.id, result)
        assert name in f"{result['reason']} {result['error']}", (spec.id, result)
    problems = judged.verdict["evidence"]["problems"]
    assert any(name in p and says in p for p in problems), (name, says, problems)
    assert judged.junit is not None and name in judged.junit


def _assert_listed_and_judged_around(judged: Judged, source: Source, name: str, says: str) -> None:
    """The damaged line is listed (file:line) and everything else judged as in the undamaged copy."""
    assert "Traceback" not in judged.stderr, judged.stderr[-3000:]
    assert judged.verdict is not None
    problems = judged.verdict["evidence"]["problems"]
    assert any(p.startswith(f"{name}:") and says in p for p in problems), (name, says, problems)
    assert judged.returncode == judged.verdict["exitCode"]
    assert judged.verdict["verdict"] == source.rejudged["verdict"]
    before = {r["id"]: (r["status"], r["evidence"]) for r in source.rejudged["results"]}
    assert {r["id"]: (r["status"], r["evidence"]) for r in judged.verdict["results"]} == before
    assert judged.junit is not None and name in judged.junit


# -- damage helpers ---------------------------------------------------------------------------------------------

def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _replace_middle_line(path: Path, make: Callable[[str], str]) -> None:
    lines = _lines(path)
    middle = len(lines) // 2
    lines[middle] = make(lines[middle].rstrip("\n")) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def _append_line(path: Path, make: Callable[[str], str]) -> None:
    last = _lines(path)[-1].rstrip("\n")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(make(last) + "\n")


def _json_line(make: Callable[[dict[str, Any]], Any]) -> Callable[[str], str]:
    """A JSONL line edited as its object (the result may be any JSON value)."""
    return lambda line: json.dumps(make(json.loads(line)))


def _csv_field(column: int, value: str) -> Callable[[str], str]:
    def edit(line: str) -> str:
        cells = line.split(",")
        cells[column] = value
        return ",".join(cells)
    return edit


def _edit_json(path: Path, edit: Callable[[Any], Any]) -> None:
    path.write_text(json.dumps(edit(json.loads(path.read_text(encoding="utf-8")))), encoding="utf-8")


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


def _with(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**data, **changes}


def _write(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text, encoding="utf-8")


def _limits_without(knob: str) -> Callable[[Path], None]:
    return lambda path: _edit_json(path, lambda m: _with(m, limits=_without(m["limits"], knob)))


def _seal_entry(value: Any) -> Callable[[Path], None]:
    def edit(manifest: dict[str, Any]) -> dict[str, Any]:
        seal = manifest["seal"]
        return _with(manifest, seal=_with(seal, artifacts=_with(seal["artifacts"], **{"settle.json": value})))
    return lambda path: _edit_json(path, edit)


def _symlink_outside(path: Path) -> None:
    outside = path.parent.parent / f"outside-{path.name}"
    shutil.copyfile(path, outside)
    path.unlink()
    path.symlink_to(outside)


def _dir_instead(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside").write_text("{}")


# -- 1. each sealed artifact deleted, truncated, replaced by a symlink ----------------------------------------

@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", SEALED)
def test_each_artifact_deleted_is_an_error_naming_it(source, tmp_path, name):
    run_dir = _copy(source, tmp_path)
    (run_dir / name).unlink()
    judged = _judge(run_dir)
    _record("deleted", name, name, judged, file_broken=True)
    _assert_error_naming(judged, name, "missing")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", SEALED)
def test_each_artifact_truncated_is_an_error_naming_it(source, tmp_path, name):
    run_dir = _copy(source, tmp_path)
    path = run_dir / name
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    judged = _judge(run_dir)
    _record("truncated", name, name, judged, file_broken=True)
    _assert_error_naming(judged, name, "truncated")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", SEALED)
def test_each_artifact_as_a_symlink_is_refused_by_name(source, tmp_path, name):
    run_dir = _copy(source, tmp_path)
    outside = tmp_path / "outside" / name
    outside.parent.mkdir()
    shutil.copyfile(run_dir / name, outside)  # the same bytes: only the link itself is wrong
    (run_dir / name).unlink()
    (run_dir / name).symlink_to(outside)
    judged = _judge(run_dir)
    _record("symlink", name, name, judged, file_broken=True)
    _assert_error_naming(judged, name, "symlink")


# -- 2. a line of an unknown schema appended to each JSONL artifact that has a schema field -------------------

@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", SCHEMA_JSONL)
def test_a_line_of_unknown_schema_appended_breaks_the_file(source, tmp_path, name):
    """Appended after the seal, the sealed prefix still verifies (the file "grew"); gather's schema check must
    still refuse the file, so its dependents are errors."""
    run_dir = _copy(source, tmp_path)
    _append_line(run_dir / name, _json_line(lambda last: _with(last, schema=99)))
    judged = _judge(run_dir)
    _record("unknown schema appended", name, name, judged, file_broken=True)
    _assert_error_naming(judged, name, "schema")


# -- 3. odd shapes, whole files -------------------------------------------------------------------------------

SHAPES: list[tuple[str, str, Callable[[Path], None], str]] = [
    ("local-object", "snapshot-local.json", _write("{}"), "expected a list"),
    ("local-ints", "snapshot-local.json", _write("[1, 2]"), "integer id"),
    ("local-string-id", "snapshot-local.json", _write('[{"id": "x"}]'), "integer id"),
    ("queue-no-active", "snapshot-queue.json", lambda p: _edit_json(p, lambda q: _without(q, "active")), "active"),
    ("queue-active-string", "snapshot-queue.json", lambda p: _edit_json(p, lambda q: _with(q, active="3")), "active"),
    ("queue-list", "snapshot-queue.json", _write("[0, 0]"), "active"),
    ("settle-list", "settle.json", _write("[]"), "drained"),
    ("settle-drained-string", "settle.json", _write('{"drained": "yes"}'), "drained"),
    ("plan-list", "plan.json", _write("[]"), "faults"),
    ("plan-faults-not-objects", "plan.json", lambda p: _edit_json(p, lambda d: _with(d, faults=[1])), "faults"),
    ("local-null", "snapshot-local.json", _write("null"), "null"),
    ("cloud-null", "snapshot-cloud.json", _write("null"), "null"),
    ("queue-null", "snapshot-queue.json", _write("null"), "null"),
    ("settle-null", "settle.json", _write("null"), "null"),
    ("plan-null", "plan.json", _write("null"), "null"),
    ("local-nested-too-deep", "snapshot-local.json", _write("[" * 100_000), "RecursionError"),
    ("plan-schema-2", "plan.json", lambda p: _edit_json(p, lambda d: _with(d, schema=2)), "schema"),
    ("settle-directory", "settle.json", _dir_instead, "not a regular file"),
    ("journal-not-utf8", "journal-bot1.jsonl", lambda p: p.write_bytes(b"\xff\xfe" + p.read_bytes()), ""),
    ("manifest-gates-string", "manifest.json", lambda p: _edit_json(p, lambda m: _with(m, gates="I1,I3")),
     "gates"),
    ("manifest-gates-object", "manifest.json", lambda p: _edit_json(p, lambda m: _with(m, gates={"I1": True})),
     "gates"),
    ("manifest-gates-unknown-id", "manifest.json", lambda p: _edit_json(p, lambda m: _with(m, gates=["I99"])),
     "I99"),
    ("manifest-limits-list", "manifest.json", lambda p: _edit_json(p, lambda m: _with(m, limits=[])), "limits"),
    ("manifest-seal-string", "manifest.json", lambda p: _edit_json(p, lambda m: _with(m, seal="sealed")), "seal"),
    ("manifest-seal-list", "manifest.json", lambda p: _edit_json(p, lambda m: _with(m, seal=[])), "seal"),
    ("manifest-seal-artifacts-list", "manifest.json",
     lambda p: _edit_json(p, lambda m: _with(m, seal=_with(m["seal"], artifacts=[]))), "seal"),
    ("manifest-seal-entry-string", "settle.json", _seal_entry("ok"), "seal"),
    ("manifest-times-list", "manifest.json", lambda p: _edit_json(p, lambda m: _with(m, times=[])), "times"),
    ("manifest-started-not-a-time", "manifest.json",
     lambda p: _edit_json(p, lambda m: _with(m, startedAt="yesterday")), "startedAt"),
    ("manifest-started-number", "manifest.json", lambda p: _edit_json(p, lambda m: _with(m, startedAt=5)),
     "startedAt"),
    ("manifest-seed-string", "manifest.json", lambda p: _edit_json(p, lambda m: _with(m, seed="one")), "seed"),
    ("manifest-knobs-list", "manifest.json", lambda p: _edit_json(p, lambda m: _with(m, knobs=[])), "knobs"),
    ("manifest-warmup-string", "manifest.json",
     lambda p: _edit_json(p, lambda m: _with(m, knobs=_with(m["knobs"], WARMUP_S="ten"))), "WARMUP_S"),
    ("manifest-minutes-nan", "manifest.json", lambda p: _edit_json(p, lambda m: _with(m, minutes=float("nan"))),
     "minutes"),
    ("manifest-errors-numbers", "manifest.json", lambda p: _edit_json(p, lambda m: _with(m, errors=[1])),
     "errors"),
    ("manifest-limit-nan", "manifest.json",
     lambda p: _edit_json(p, lambda m: _with(m, limits=_with(m["limits"], RESTORE_MAX_S=float("nan")))),
     "RESTORE_MAX_S"),
    ("settle-seconds-nan", "settle.json", lambda p: _edit_json(p, lambda d: _with(d, seconds=float("nan"))),
     "drained"),
    ("manifest-not-json", "manifest.json", _write("{not json"), "unreadable"),
    ("manifest-list", "manifest.json", _write("[]"), "list"),
    ("manifest-nested-too-deep", "manifest.json", _write('{"a": ' * 100_000), "unreadable"),
    ("manifest-deleted", "manifest.json", lambda p: p.unlink(), "missing"),
    ("manifest-symlink", "manifest.json", _symlink_outside, "symlink"),
    ("manifest-demoted-list", "manifest.json", lambda p: _edit_json(p, lambda m: _with(m, demoted=[1])),
     "demoted"),
]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("case", "name", "damage", "says"), SHAPES, ids=[c[0] for c in SHAPES])
def test_odd_json_shapes_are_errors_naming_the_file(source, tmp_path, case, name, damage, says):
    """A file of the wrong shape is broken: its dependents are errors naming it, exit 2 (a manifest that is not
    what battle writes: an error verdict naming manifest.json). A file that is damaged in place also no
    longer matches its seal, which alone would make it an error; the shape message must be listed too."""
    run_dir = _copy(source, tmp_path)
    target = "manifest.json" if case.startswith("manifest-") else name
    damage(run_dir / target)
    judged = _judge(run_dir)
    _record("odd shape", case, name, judged, file_broken=True)
    _assert_error_naming(judged, name, says)


@pytest.mark.timeout(600)
def test_limits_missing_a_knob_errors_the_invariants_that_need_it(source, tmp_path):
    run_dir = _copy(source, tmp_path)
    _limits_without("P95_MS")(run_dir / "manifest.json")
    judged = _judge(run_dir)
    _record("odd shape", "manifest-limits-missing-knob", "manifest.json", judged, file_broken=True)
    _assert_error_naming(judged, "manifest.json", "P95_MS")
    results = judged.results()
    for spec in all_specs():
        if "P95_MS" in spec.knobs:
            assert results[spec.id]["status"] == "error" and "P95_MS" in results[spec.id]["error"]
        else:  # the others are judged as before
            before = next(r for r in source.rejudged["results"] if r["id"] == spec.id)
            assert results[spec.id]["status"] == before["status"], spec.id


# -- 4. damaged lines: in place (the seal breaks) and appended after the seal (judged around) -------------------

def _ts_not_a_time(record: dict[str, Any]) -> dict[str, Any]:
    return _with(record, ts="not a time")


def _ts_number(record: dict[str, Any]) -> dict[str, Any]:
    return _with(record, ts=1795000000)


def _as_list(record: dict[str, Any]) -> list[Any]:
    return list(record.items())


LINES: list[tuple[str, str, Callable[[str], str], str]] = [
    ("journal-line-list", "journal-bot0.jsonl", _json_line(_as_list), "not a JSON object"),
    ("journal-line-no-target", "journal-bot1.jsonl", _json_line(lambda r: _without(r, "target")), "target"),
    ("journal-line-target-string", "journal-bot2.jsonl", _json_line(lambda r: _with(r, target="eleven")), "bad op"),
    ("journal-line-ts-number", "journal-bot0.jsonl", _json_line(_ts_number), "bad op"),
    ("journal-line-cut", "journal-bot1.jsonl", lambda line: line[:len(line) // 2], "not JSON"),
    ("journal-line-nested-too-deep", "journal-bot2.jsonl", lambda line: "[" * 100_000, "nested too deep"),
    ("injected-line-nested-too-deep", "injected.jsonl", lambda line: "[" * 100_000, "not a JSON line"),
    ("events-ts-not-a-time", "events.jsonl", _json_line(_ts_not_a_time), "bad event"),
    ("events-ts-number", "events.jsonl", _json_line(_ts_number), "bad event"),
    ("events-line-list", "events.jsonl", _json_line(_as_list), "not a JSON object"),
    ("injected-line-no-step", "injected.jsonl", _json_line(lambda r: _without(r, "step")), "step"),
    ("injected-ts-number", "injected.jsonl", _json_line(_ts_number), "bad ledger line"),
    ("mutations-ts-not-a-time", "mutations.jsonl", _json_line(_ts_not_a_time), "bad mutation"),
    ("readback-no-fault", "plc-readback.jsonl", _json_line(lambda r: _without(r, "fault")), "bad read-back"),
    ("health-epoch-not-a-number", "health.csv", _csv_field(1, "soon"), "bad probe row"),
    ("memory-rss-not-a-number", "memory.csv", _csv_field(4, "lots"), "bad memory row"),
    ("health-latency-nan", "health.csv", _csv_field(2, "nan"), "bad probe row"),
    ("mutations-latency-infinite", "mutations.jsonl",
     _json_line(lambda r: _with(r, type="seen", latencyS=float("inf"))), "bad mutation"),
]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("case", "name", "make", "says"), LINES, ids=[c[0] for c in LINES])
def test_a_damaged_line_in_place_breaks_the_seal(source, tmp_path, case, name, make, says):
    """In place: the file no longer matches its seal, so it is broken (error naming it), and the line itself is
    listed too."""
    run_dir = _copy(source, tmp_path)
    _replace_middle_line(run_dir / name, make)
    judged = _judge(run_dir)
    _record("damaged line in place", case, name, judged, file_broken=True)
    _assert_error_naming(judged, name, "altered")
    assert any(p.startswith(f"{name}:") and says in p for p in judged.verdict["evidence"]["problems"])


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("case", "name", "make", "says"), LINES, ids=[c[0] for c in LINES])
def test_a_damaged_line_appended_is_listed_and_judged_around(source, tmp_path, case, name, make, says):
    """Appended after the seal: the sealed prefix verifies, the bad line is skipped and listed, the rest is
    judged exactly as the undamaged copy is (never an extra PASS or FAIL from the bad line)."""
    run_dir = _copy(source, tmp_path)
    _append_line(run_dir / name, make)
    judged = _judge(run_dir)
    _record("damaged line appended", case, name, judged, file_broken=False)
    _assert_listed_and_judged_around(judged, source, name, says)


# -- 5. a stale verdict, and a folder that is not a run dir ----------------------------------------------------

@pytest.mark.timeout(600)
def test_a_stale_pass_verdict_is_replaced_by_the_error(source, tmp_path):
    run_dir = _copy(source, tmp_path)
    stale = _with(source.verdict, verdict="pass", exitCode=0, errors=[],
                  results=[_with(r, status="pass", error=None) for r in source.verdict["results"]])
    (run_dir / "verdict.json").write_text(json.dumps(stale))
    (run_dir / "junit.xml").write_text('<testsuites name="stale"/>')
    _edit_json(run_dir / "snapshot-queue.json", lambda q: _with(q, active="3"))
    judged = _judge(run_dir)
    _record("stale verdict", "pass-verdict-queue-broken", "snapshot-queue.json", judged, file_broken=True)
    _assert_error_naming(judged, "snapshot-queue.json", "active")
    assert judged.verdict != stale and "stale" not in (judged.junit or "")
    assert judged.verdict["endedAt"] and judged.results()["I6"]["status"] == "error"


@pytest.mark.timeout(600)
def test_a_folder_that_is_not_a_run_dir_is_refused_and_nothing_is_written(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    done = _battle(["judge", str(empty)], tmp_path, 60)
    RESULTS.append({"category": "not a run dir", "case": "empty folder",
                    "outcome": "refused, nothing written" if done.returncode == 2 and not any(empty.iterdir())
                    else f"unexpected (exit {done.returncode})",
                    "traceback": "Traceback" in done.stderr, "judged_on_broken": False})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "not a run directory" in done.stderr and "manifest.json" in done.stderr
    assert list(empty.iterdir()) == []


# -- summary ---------------------------------------------------------------------------------------------------

def test_zz_summary(request, source):
    """Every selected case ran and recorded an outcome; none tracebacked, none said PASS or FAIL on a broken
    file, and every outcome is one of the documented ones."""
    module = request.node.module
    selected = [item for item in request.session.items if item.module is module and item is not request.node]
    table = Counter((r["category"], r["outcome"]) for r in RESULTS)
    width = max((len(c) for c, _ in table), default=10)
    print(f"\ndamaged run dirs: {len(RESULTS)} cases (source run {source.seconds:.0f} s)")
    for (category, outcome), count in sorted(table.items()):
        print(f"  {category:<{width}}  {count:>3}  {outcome}")
    tracebacks = sum(r["traceback"] for r in RESULTS)
    judged_on_broken = sum(r["judged_on_broken"] for r in RESULTS)
    errors = sum(r["outcome"] == ERROR for r in RESULTS)
    listed = sum(r["outcome"] == LISTED for r in RESULTS)
    print(f"  error naming the file: {errors}; judged with the problem listed: {listed}; "
          f"PASS/FAIL on a broken file: {judged_on_broken}; tracebacks: {tracebacks}")
    assert len(RESULTS) == len(selected)
    assert tracebacks == 0 and judged_on_broken == 0
    unexpected = [r for r in RESULTS if r["outcome"] not in (ERROR, LISTED, "refused, nothing written")]
    assert unexpected == []
