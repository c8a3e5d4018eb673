"""Judge a run directory from its artifacts alone and write verdict.json, junit.xml and report.html.

The observer calls this at the end of a run; `python -m battle judge RUN_DIR`
calls the same function later, so a verdict can always be recomputed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from battle.chaos.kinds import effects_of
from battle.invariants import judge_all
from battle.observer.gather import GatherError, gather
from battle.seal import RunShape, expected_artifacts, is_link, seal, verify
from battle.verdict import Verdict, iso, make_verdict, write_junit, write_verdict_json

log = logging.getLogger(__name__)


def _manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "manifest.json"
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GatherError(f"{path} is missing or unreadable ({exc}); judge needs the run directory battle wrote, "
                          "e.g. runs/<run id>") from exc
    if not isinstance(value, dict):
        raise GatherError(f"{path} holds a JSON {type(value).__name__}, expected the run's manifest object")
    for key in ("runId", "scenario", "seed", "gates", "limits", "startedAt", "minutes"):
        if key not in value:
            raise GatherError(f"{path} has no {key!r}: it was not written by this version of battle")
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
    return RunShape(bots=int(manifest.get("bots") or knobs.get("BOTS") or 0), backend=str(manifest.get("backend")),
                    planned_faults=len(plan), planned_tag_resets=resets,
                    mutator="mutate" in profiles and float(knobs.get("MUTATE_PERIOD_SEC") or 0) > 0)


def _plan_faults(run_dir: Path) -> list[dict[str, Any]]:
    """The planned faults; an unusable plan.json counts none here, and the seal check names the file
    (the judges that depend on the fault record then become errors)."""
    path = run_dir / "plan.json"
    if is_link(path):
        return []
    try:
        faults = json.loads(path.read_text(encoding="utf-8")).get("faults")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
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
        return _judge(run_dir, errors, write)
    except Exception as exc:  # supervisor: whatever broke, the verdict on disk must say so
        log.exception("judging %s failed", run_dir)
        reason = f"harness: judging failed: {type(exc).__name__}: {exc}"
        manifest = None
        try:
            manifest = _manifest(run_dir)
        except Exception:  # noqa: BLE001 - the manifest may be what broke; the error verdict needs none
            pass
        if not write:
            return error_verdict(run_dir, reason, manifest, write=False)
        return error_verdict(run_dir, reason, manifest)


def _judge(run_dir: Path, errors: Sequence[str], write: bool) -> Verdict:
    if is_link(run_dir / "manifest.json"):
        raise GatherError(f"{run_dir / 'manifest.json'} is a symlink; refused")
    manifest = _manifest(run_dir)
    expected = expected_artifacts(run_shape(run_dir, manifest))
    sealed = manifest.get("seal") if isinstance(manifest.get("seal"), dict) else None
    check = verify(run_dir, expected, sealed)
    evidence = gather(run_dir)
    outcomes = judge_all(evidence, manifest["limits"], manifest["gates"], broken=check.problems)
    problems = [*check.lines(), *(p for p in evidence.problems if p not in set(check.lines()))]
    ended = manifest.get("times", {}).get("snapshotted") or iso(time.time())
    verdict = make_verdict(run_id=str(manifest["runId"]), scenario=str(manifest["scenario"]),
                           seed=int(manifest["seed"]), started=str(manifest["startedAt"]), ended=str(ended),
                           soak_minutes=float(manifest["minutes"]), gates=manifest["gates"], outcomes=outcomes,
                           faults=evidence.faults, errors=[*manifest.get("errors", []), *errors],
                           demoted=_demoted(manifest), sealed=check.sealed, evidence_problems=problems)
    if write:
        write_outputs(run_dir, verdict)
    return verdict


def write_outputs(run_dir: Path, verdict: Verdict) -> None:
    write_verdict_json(run_dir / "verdict.json", verdict)
    write_junit(run_dir / "junit.xml", verdict)
    try:
        from battle.report.html import write_run_report

        write_run_report(run_dir)
    except Exception:  # the report is a reading aid: its failure must never cost the verdict
        log.exception("report.html could not be written for %s", run_dir)


def error_verdict(run_dir: Path, reason: str, manifest: dict[str, Any] | None = None,
                  write: bool = True) -> Verdict:
    """A verdict of `error` when the harness could not judge (never a missing verdict, never 0)."""
    manifest = manifest or {}
    now = iso(time.time())
    try:
        demoted = _demoted(manifest)
    except GatherError:
        demoted = {}  # an error verdict is written whatever the manifest holds
    verdict = make_verdict(run_id=str(manifest.get("runId", run_dir.name)),
                           scenario=str(manifest.get("scenario", "unknown")), seed=int(manifest.get("seed", 0)),
                           started=str(manifest.get("startedAt", now)), ended=now,
                           soak_minutes=float(manifest.get("minutes", 0.0)), gates=(), outcomes=[],
                           errors=[reason], demoted=demoted)
    if write:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_verdict_json(run_dir / "verdict.json", verdict)
        write_junit(run_dir / "junit.xml", verdict)
    return verdict
