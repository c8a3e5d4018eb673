"""Merge the verdicts of many runs (a scenario × seed matrix) into one summary, worst first.

Each CI job of the nightly matrix runs one stack and leaves one run directory;
this reads only their `verdict.json` (and `manifest.json` for the names when the
verdict is missing), so it works on artifacts downloaded from any runner.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from battle.report.verdict_view import EXIT_CODES, SEVERITY, VerdictView, read_verdict

SCHEMA = 1


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    run: str
    scenario: str
    seed: Any
    view: VerdictView


def _manifest(run_dir: Path) -> dict[str, Any]:
    try:
        value = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def read_outcome(run_dir: Path) -> RunOutcome:
    view = read_verdict(run_dir / "verdict.json")
    manifest = _manifest(run_dir) if view.scenario is None or view.run is None or view.seed is None else {}
    return RunOutcome(run_dir=run_dir,
                      run=str(view.run or manifest.get("runId") or run_dir.name),
                      scenario=str(view.scenario or manifest.get("scenario") or "?"),
                      seed=view.seed if view.seed is not None else manifest.get("seed"),
                      view=view)


def _seed_key(seed: Any) -> tuple[int, Any]:
    return (0, seed) if isinstance(seed, int) else (1, str(seed))


def _failed_gates(view: VerdictView) -> list[str]:
    return [r.id for r in view.results if r.role == "gate" and (r.shown_status != "pass" or r.evidence == 0)]


def _first_reason(view: VerdictView) -> str:
    if view.problem:
        return view.problem
    if view.errors:
        return view.errors[0]
    for result in sorted(view.results, key=lambda r: (r.role != "gate", r.shown_status == "pass")):
        if result.shown_status != "pass":
            return f"{result.id}: {result.error or result.reason}"
    return ""


def _run_entry(outcome: RunOutcome) -> dict[str, Any]:
    view = outcome.view
    return {
        "run": outcome.run, "scenario": outcome.scenario, "seed": outcome.seed, "dir": str(outcome.run_dir),
        "verdict": view.verdict, "exitCode": view.exit_code if view.exit_code is not None else EXIT_CODES["error"],
        "failedGates": _failed_gates(view), "reason": _first_reason(view), "problem": view.problem,
        "results": {r.id: r.shown_status for r in view.results},
    }


def _worst(verdicts: Sequence[str]) -> str:
    return min(verdicts, key=lambda v: (SEVERITY.get(v, 0), v)) if verdicts else "missing"


def _invariants(outcomes: Sequence[RunOutcome]) -> list[dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for outcome in outcomes:
        for result in outcome.view.results:
            entry = table.setdefault(result.id, {"id": result.id, "name": result.name, "pass": 0, "fail": 0,
                                                 "inconclusive": 0, "other": 0, "gateNotPassed": 0, "gateRuns": 0,
                                                 "failedRuns": []})
            entry["name"] = entry["name"] or result.name
            shown = result.shown_status
            entry[shown if shown in ("pass", "fail", "inconclusive") else "other"] += 1
            if result.role == "gate":
                entry["gateRuns"] += 1
                entry["gateNotPassed"] += shown != "pass" or result.evidence == 0
            if shown != "pass":
                entry["failedRuns"].append(outcome.run)
    return sorted(table.values(), key=lambda e: (-e["gateNotPassed"], -e["fail"], -e["inconclusive"], -e["other"],
                                                 int(e["id"][1:]) if e["id"][1:].isdigit() else 10**6, e["id"]))


def summarize(outcomes: Sequence[RunOutcome], generated_at: str) -> dict[str, Any]:
    """The content of morning.json; runs and invariants are ordered worst first."""
    ordered = sorted(outcomes, key=lambda o: (o.view.severity, -len(_failed_gates(o.view)), o.scenario,
                                              _seed_key(o.seed), o.run))
    cells: dict[tuple[str, Any], list[RunOutcome]] = {}
    for outcome in outcomes:
        cells.setdefault((outcome.scenario, outcome.seed), []).append(outcome)
    matrix = [{"scenario": scenario, "seed": seed, "verdict": _worst([o.view.verdict for o in group]),
               "runs": [o.run for o in group]}
              for (scenario, seed), group in sorted(cells.items(), key=lambda kv: (kv[0][0], _seed_key(kv[0][1])))]
    totals: dict[str, int] = {}
    for outcome in outcomes:
        totals[outcome.view.verdict] = totals.get(outcome.view.verdict, 0) + 1
    overall = _worst([o.view.verdict for o in outcomes])
    return {
        "schema": SCHEMA,
        "generatedAt": generated_at,
        "overall": overall,
        "exitCode": EXIT_CODES.get(overall, EXIT_CODES["error"]),
        "totals": dict(sorted(totals.items(), key=lambda kv: (SEVERITY.get(kv[0], 0), kv[0]))),
        "runs": [_run_entry(o) for o in ordered],
        "invariants": _invariants(ordered),
        "matrix": matrix,
    }
