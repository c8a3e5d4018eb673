"""Judge a run directory from its artifacts alone and write verdict.json, junit.xml and report.html.

The observer calls this at the end of a run; `python -m battle judge RUN_DIR`
calls the same function later, so a verdict can always be recomputed.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from battle.chaos.kinds import effects_of
from battle.common.gcpause import no_gc
from battle.common.timefmt import parse_iso
from battle.invariants import JudgeError, get, judge_all, knob_problems
from battle.observer.gather import Gathered, GatherError, collect
from battle.seal import (
    RunShape,
    expected_artifacts,
    is_link,
    measure_all,
    record_kinds_of,
    seal,
    seal_limits,
    verify,
)
from battle.verdict import Verdict, iso, make_verdict, write_junit, write_verdict_json

log = logging.getLogger(__name__)


# manifest.json fields judging reads: (key, required, accepted types, what is accepted). `seal` is checked by
# battle.seal.verify (a malformed seal makes every artifact unverifiable, each named).
_MANIFEST_FIELDS: tuple[tuple[str, bool, tuple[type, ...], str], ...] = (
    ("runId", True, (str,), "a string"),
    ("scenario", True, (str,), "a string"),
    ("seed", True, (int,), "an integer"),
    ("minutes", True, (int, float), "a number"),
    ("startedAt", True, (str,), "a UTC ISO-8601 time"),
    ("gates", True, (list,), 'a list of invariant ids, e.g. ["I1", "I4"]'),
    ("limits", True, (dict,), "an object of knob: number"),
    ("knobs", False, (dict,), "an object of knob: value"),
    ("times", False, (dict,), "an object of name: UTC ISO-8601 time"),
    ("bots", False, (int,), "an integer"),
    ("errors", False, (list,), "a list of strings"),
)


def _manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest, checked for every field judging reads; anything else is a GatherError naming
    manifest.json and what is accepted (the judge then writes an error verdict listing it)."""
    path = run_dir / "manifest.json"
    if is_link(path):
        raise GatherError("manifest.json: is a symlink; input artifacts must be regular files in the run dir "
                          "(refused)")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise GatherError("manifest.json: missing; judge needs the run directory battle wrote, e.g. "
                          "runs/<run id>") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise GatherError(f"manifest.json: unreadable ({type(exc).__name__}: {exc}); judge needs the run directory battle wrote, "
                          "e.g. runs/<run id>") from exc
    if not isinstance(value, dict):
        raise GatherError(f"manifest.json: holds a JSON {type(value).__name__}, expected the run's manifest object")
    for key, required, types, accepted in _MANIFEST_FIELDS:
        if key not in value:
            if required:
                raise GatherError(f"manifest.json: has no {key!r}: it was not written by this version of battle")
            continue
        field = value[key]
        if isinstance(field, bool) or not isinstance(field, types):
            raise GatherError(f"manifest.json: {key} is {field!r:.60}, expected {accepted}")
    if not math.isfinite(value["minutes"]) or value["minutes"] < 0:
        raise GatherError(f"manifest.json: minutes is {value['minutes']!r}, expected a number ≥ 0")
    if not all(isinstance(e, str) for e in value.get("errors", [])):
        raise GatherError(f"manifest.json: errors is {value['errors']!r:.60}, expected a list of strings")
    for gate in value["gates"]:
        try:
            get(gate if isinstance(gate, str) else repr(gate))
        except JudgeError as exc:
            raise GatherError(f"manifest.json: gates: {exc}") from None
    for key, stamp in [("startedAt", value["startedAt"]), *(value.get("times") or {}).items()]:
        try:
            if key == "startedAt" or stamp is not None:
                parse_iso(stamp)
        except ValueError:
            raise GatherError(f"manifest.json: {key if key == 'startedAt' else 'times.' + key} is {stamp!r:.60}, "
                              "expected a UTC ISO-8601 time such as 2026-11-22T04:17:20.101Z") from None
    return dict(value)


def _demoted(manifest: dict[str, Any]) -> dict[str, Any]:
    """The gates this run demoted to report, with reason and cause (a manifest older than them has none)."""
    demoted = manifest.get("demoted") or {}
    if not isinstance(demoted, dict) or not all(isinstance(v, dict) for v in demoted.values()):
        raise GatherError(f"manifest.json: 'demoted' {demoted!r:.80} is not a mapping of id to "
                          "{reason, cause}: it was not written by this version of battle")
    return demoted


def run_shape(run_dir: Path, manifest: dict[str, Any]) -> RunShape:
    """What the run was asked to do, from its manifest and plan: which artifacts it must have left."""
    plan = _plan_faults(run_dir)
    knobs = manifest.get("knobs") or {}
    profiles = {p.strip() for p in str(knobs.get("COMPOSE_PROFILES", "")).split(",")}
    resets = 0
    for fault in plan:
        effects = effects_of(str(fault.get("kind")), str(fault.get("target")))
        resets += bool(effects and effects.resets_tags)
    try:
        bots = int(manifest.get("bots") or knobs.get("BOTS") or 0)
        mutate_period = float(knobs.get("MUTATE_PERIOD_SEC") or 0)
    except (TypeError, ValueError) as exc:
        raise GatherError(f"manifest.json: bots / knobs BOTS, MUTATE_PERIOD_SEC must be numbers ({exc}): which "
                          "artifacts the run must have cannot be told") from None
    return RunShape(bots=bots, backend=str(manifest.get("backend")), planned_faults=len(plan),
                    planned_tag_resets=resets, mutator="mutate" in profiles and mutate_period > 0,
                    record_kinds=record_kinds_of(manifest))


def _plan_faults(run_dir: Path) -> list[dict[str, Any]]:
    """The planned faults; an unusable plan.json counts none here, and the seal check names the file
    (the judges that depend on the fault record then become errors)."""
    path = run_dir / "plan.json"
    if is_link(path):
        return []
    try:
        faults = json.loads(path.read_text(encoding="utf-8")).get("faults")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError, AttributeError):
        return []
    return [f for f in faults if isinstance(f, dict)] if isinstance(faults, list) else []


def seal_run_dir(run_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Measure every artifact the run must have (call once the writers stopped and snapshots are taken)."""
    return seal(run_dir, expected_artifacts(run_shape(run_dir, manifest)), iso(time.time()))


def judge_run_dir(run_dir: Path, errors: Sequence[str] = (), write: bool = True) -> Verdict:
    """Judge, or, when anything inside fails, write an error verdict saying what failed (never a stale one)."""
    if not (run_dir / "manifest.json").exists() and not (run_dir / "verdict.json").exists():
        raise GatherError(f"{run_dir} has no manifest.json: this is not a run directory (expected the folder "
                          "battle wrote, e.g. runs/<run id>); nothing was written")
    try:
        with no_gc():  # (the gathered evidence, the verdict and the report: see no_gc)
            return _judge(run_dir, errors, write)
    except GatherError as exc:  # the evidence every verdict needs is broken: a finding, not a crash
        log.error("cannot judge %s: %s", run_dir, exc)
        return error_verdict(run_dir, f"evidence: {exc}; nothing could be judged", _raw_manifest(run_dir),
                             write=write, evidence_problems=[str(exc)])
    except Exception as exc:  # supervisor: whatever broke, the verdict on disk must say so
        log.exception("judging %s failed", run_dir)
        reason = f"harness: judging failed: {type(exc).__name__}: {exc}"
        return error_verdict(run_dir, reason, _raw_manifest(run_dir), write=write)


def _raw_manifest(run_dir: Path) -> dict[str, Any] | None:
    """The manifest as found, unchecked (error_verdict takes from it only fields of the right type), to name
    an error verdict's run; never a symlink's target."""
    path = run_dir / "manifest.json"
    if is_link(path):
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _judge(run_dir: Path, errors: Sequence[str], write: bool) -> Verdict:
    manifest = _manifest(run_dir)
    demoted = _demoted(manifest)
    expected = expected_artifacts(run_shape(run_dir, manifest))
    sealed = manifest.get("seal")
    limits = seal_limits(run_dir, sorted(set(expected) | set(_sealed_names(sealed))), sealed)
    journals = {name: limit for name, limit in limits.items() if name.startswith("journal-bot")}
    others: dict[str, Any] = {}  # the other artifacts, measured in a thread while the journals are read
    gathered = collect(run_dir, seal_limits=journals, meanwhile=lambda: others.update(measure_all(
        run_dir, {name: limit for name, limit in limits.items() if name not in journals})))
    evidence = gathered.evidence
    # a malformed seal: every artifact is a problem
    check = verify(run_dir, expected, sealed, measured={**others, **gathered.measured})
    outcomes = judge_all(evidence, manifest["limits"], manifest["gates"], broken=check.problems)
    knobs = [f"manifest.json: limits: knob {name} {why} (accepted: a number)"
             for name, why in knob_problems(manifest["limits"]).items()]
    problems = [*check.lines(), *(p for p in evidence.problems if p not in set(check.lines())), *knobs]
    ended = manifest.get("times", {}).get("snapshotted") or iso(time.time())
    verdict = make_verdict(run_id=str(manifest["runId"]), scenario=str(manifest["scenario"]),
                           seed=int(manifest["seed"]), started=str(manifest["startedAt"]), ended=str(ended),
                           soak_minutes=float(manifest["minutes"]), gates=manifest["gates"], outcomes=outcomes,
                           faults=evidence.faults, errors=[*manifest.get("errors", []), *errors],
                           demoted=demoted, sealed=check.sealed, evidence_problems=problems)
    if write:
        write_outputs(run_dir, verdict, gathered)
    return verdict


def _sealed_names(sealed: Any) -> list[str]:
    artifacts = sealed.get("artifacts") if isinstance(sealed, dict) else None
    return [str(name) for name in artifacts] if isinstance(artifacts, dict) else []


def write_outputs(run_dir: Path, verdict: Verdict, gathered: Gathered | None = None) -> None:
    """verdict.json, junit.xml and report.html (from what judging `gathered`, when given: no second read)."""
    write_verdict_json(run_dir / "verdict.json", verdict)
    write_junit(run_dir / "junit.xml", verdict)
    try:
        from battle.report.html import write_run_report

        write_run_report(run_dir, gathered)
    except Exception:  # the report is a reading aid: its failure must never cost the verdict
        log.exception("report.html could not be written for %s", run_dir)


def error_verdict(run_dir: Path, reason: str, manifest: dict[str, Any] | None = None,
                  write: bool = True, evidence_problems: Sequence[str] = ()) -> Verdict:
    """A verdict of `error` when the harness could not judge (never a missing verdict, never 0);
    `evidence_problems` lists what in the run dir made judging impossible (e.g. a broken manifest.json)."""
    manifest = manifest or {}
    now = iso(time.time())
    try:
        demoted = _demoted(manifest)
    except GatherError:
        demoted = {}  # an error verdict is written whatever the manifest holds

    def field(key: str, types: tuple[type, ...], default: Any) -> Any:  # a damaged field is left out
        value = manifest.get(key, default)  # (NaN too: verdict.json could not be written, a stale one would stay)
        sound = isinstance(value, types) and not isinstance(value, bool)
        return value if sound and (not isinstance(value, float) or math.isfinite(value)) else default

    started = field("startedAt", (str,), now)
    try:
        parse_iso(started)
    except ValueError:
        started = now
    verdict = make_verdict(run_id=field("runId", (str,), run_dir.name), scenario=field("scenario", (str,), "unknown"),
                           seed=field("seed", (int,), 0), started=started, ended=now,
                           soak_minutes=float(field("minutes", (int, float), 0.0)), gates=(), outcomes=[],
                           errors=[reason], demoted=demoted, evidence_problems=evidence_problems)
    if write:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_verdict_json(run_dir / "verdict.json", verdict)
        write_junit(run_dir / "junit.xml", verdict)
    return verdict
