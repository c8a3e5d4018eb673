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

from battle.invariants import judge_all
from battle.observer.gather import GatherError, gather
from battle.verdict import Verdict, iso, make_verdict, write_junit, write_verdict_json

log = logging.getLogger(__name__)


def _manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "manifest.json"
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise GatherError(f"{path} is missing or unreadable ({exc}); judge needs the run directory battle wrote, "
                          "e.g. runs/<run id>") from exc
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


def judge_run_dir(run_dir: Path, errors: Sequence[str] = (), write: bool = True) -> Verdict:
    manifest = _manifest(run_dir)
    evidence = gather(run_dir)
    outcomes = judge_all(evidence, manifest["limits"], manifest["gates"])
    ended = manifest.get("times", {}).get("snapshotted") or iso(time.time())
    verdict = make_verdict(run_id=str(manifest["runId"]), scenario=str(manifest["scenario"]),
                           seed=int(manifest["seed"]), started=str(manifest["startedAt"]), ended=str(ended),
                           soak_minutes=float(manifest["minutes"]), gates=manifest["gates"], outcomes=outcomes,
                           faults=evidence.faults, errors=[*manifest.get("errors", []), *errors],
                           demoted=_demoted(manifest))
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


def error_verdict(run_dir: Path, reason: str, manifest: dict[str, Any] | None = None) -> Verdict:
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
    run_dir.mkdir(parents=True, exist_ok=True)
    write_verdict_json(run_dir / "verdict.json", verdict)
    write_junit(run_dir / "junit.xml", verdict)
    return verdict
