"""A tolerant reading of `verdict.json` for the reports.

The verdict file is written atomically by battle/verdict.py, but a report must
still say something useful when it is missing (the harness died before judging)
or damaged (hand-edited, truncated copy, older schema). Nothing here raises:
what could not be read becomes `problem` (the verdict as a whole) or `notes`
(one damaged part).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERDICTS = ("pass", "fail", "inconclusive", "error")
EXIT_CODES = {"pass": 0, "fail": 1, "error": 2, "inconclusive": 3}
# Worst first; a run without a readable verdict is as bad as a harness error: someone must look at it.
SEVERITY = {"missing": 0, "unreadable": 0, "error": 0, "fail": 1, "inconclusive": 2, "pass": 3}
COVERAGE_STEPS = ("planned", "applied", "restored", "failed")


@dataclass(frozen=True)
class ResultRow:
    id: str
    name: str
    status: str
    role: str  # gate | report
    evidence: int | None
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None  # the judge crashed: its status means nothing

    @property
    def shown_status(self) -> str:
        return "error" if self.error else self.status


@dataclass(frozen=True)
class Demoted:
    """A gate demoted to report before the run (battle/gating.py): why, and whether the soak could not judge
    it (`infeasible`) or the scenario said so (`scenario`)."""

    reason: str
    cause: str


@dataclass(frozen=True)
class VerdictView:
    verdict: str  # one of VERDICTS, or "missing" / "unreadable"
    exit_code: int | None
    run: str | None = None
    scenario: str | None = None
    seed: Any = None
    gates: tuple[str, ...] = ()
    demoted: Mapping[str, Demoted] = field(default_factory=dict)  # gates demoted to report before the run
    results: tuple[ResultRow, ...] = ()
    coverage: Mapping[str, Mapping[str, int]] | None = None
    errors: tuple[str, ...] = ()
    times: Mapping[str, Any] = field(default_factory=dict)  # startedAt, endedAt, soakMinutes
    problem: str | None = None  # why there is no verdict at all
    notes: tuple[str, ...] = ()  # parts of the file that were damaged

    @property
    def readable(self) -> bool:
        return self.problem is None

    @property
    def severity(self) -> int:
        return SEVERITY.get(self.verdict, 0)


def read_verdict(path: Path) -> VerdictView:
    if not path.exists():
        return VerdictView("missing", None, problem=f"{path.name} not recorded (the run ended before judging?)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, json.JSONDecodeError) as exc:
        return VerdictView("unreadable", None, problem=f"{path.name} is damaged: {exc}")
    return parse_verdict(raw, path.name)


def parse_verdict(raw: Any, source: str = "verdict.json") -> VerdictView:
    if not isinstance(raw, dict):
        return VerdictView("unreadable", None, problem=f"{source} is not a JSON object (got {type(raw).__name__})")
    notes: list[str] = []
    verdict = raw.get("verdict")
    if verdict not in VERDICTS:
        return VerdictView("unreadable", None, run=_run_id(raw), scenario=_opt_str(raw.get("scenario")),
                           seed=raw.get("seed"),
                           problem=f"{source}: verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    exit_code = raw.get("exitCode")
    if not isinstance(exit_code, int) or isinstance(exit_code, bool):
        notes.append(f"exitCode {exit_code!r} is not a number; shown as the code of {verdict!r}")
        exit_code = EXIT_CODES[verdict]
    elif exit_code != EXIT_CODES[verdict]:
        notes.append(f"exitCode {exit_code} does not match verdict {verdict!r} (expected {EXIT_CODES[verdict]})")
    gates = raw.get("gates")
    if not isinstance(gates, list):
        notes.append(f"gates {gates!r:.60} is not a list")
        gates = []
    gate_ids = tuple(str(g) for g in gates)
    return VerdictView(
        verdict=verdict,
        exit_code=exit_code,
        run=_run_id(raw),
        scenario=_opt_str(raw.get("scenario")),
        seed=raw.get("seed"),
        gates=gate_ids,
        demoted=_demoted(raw.get("demoted"), notes),
        results=_results(raw.get("results"), gate_ids, notes),
        coverage=_coverage(raw.get("coverage"), notes),
        errors=_errors(raw.get("errors"), notes),
        times={key: raw[key] for key in ("startedAt", "endedAt", "soakMinutes") if key in raw},
        notes=tuple(notes),
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _run_id(raw: Mapping[str, Any]) -> str | None:
    return _opt_str(raw.get("runId", raw.get("run")))  # battle/verdict.py writes runId


def _results(raw: Any, gates: tuple[str, ...], notes: list[str]) -> tuple[ResultRow, ...]:
    if raw is None:
        notes.append("no results in the verdict")
        return ()
    if not isinstance(raw, list):
        notes.append(f"results is not a list: {raw!r:.80}")
        return ()
    rows = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or "id" not in entry:
            notes.append(f"result #{index + 1} is not an invariant result: {entry!r:.80}")
            continue
        rid = str(entry["id"])
        evidence = entry.get("evidence")
        if not isinstance(evidence, int) or isinstance(evidence, bool):
            notes.append(f"{rid}: evidence {evidence!r:.40} is not a count")
            evidence = None
        status = str(entry.get("status"))
        if status not in ("pass", "fail", "inconclusive"):
            notes.append(f"{rid}: status {status!r:.40} is not pass, fail or inconclusive")
        details = entry.get("details")
        role = entry.get("role")
        rows.append(ResultRow(id=rid, name=str(entry.get("name") or ""), status=status,
                              role=str(role) if role in ("gate", "report") else ("gate" if rid in gates else "report"),
                              evidence=evidence, reason=str(entry.get("reason") or ""),
                              details=details if isinstance(details, dict) else {},
                              error=str(entry["error"]) if entry.get("error") else None))
    return tuple(rows)


def _demoted(raw: Any, notes: list[str]) -> dict[str, Demoted]:
    if raw is None:
        return {}  # a verdict older than the gate decision
    if not isinstance(raw, dict):
        notes.append(f"demoted is not an object: {raw!r:.80}")
        return {}
    out = {}
    for rid, entry in raw.items():
        if not isinstance(entry, dict):
            notes.append(f"demoted {rid!r:.20} is not an object with reason and cause: {entry!r:.60}")
            continue
        out[str(rid)] = Demoted(reason=str(entry.get("reason") or ""), cause=str(entry.get("cause") or "?"))
    return out


def _coverage(raw: Any, notes: list[str]) -> dict[str, dict[str, int]] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        notes.append(f"coverage is not an object: {raw!r:.80}")
        return None
    coverage: dict[str, dict[str, int]] = {}
    for kind, counts in raw.items():
        if not isinstance(counts, dict):
            notes.append(f"coverage of {kind!r} is not an object: {counts!r:.60}")
            continue
        coverage[str(kind)] = {step: int(counts[step]) if isinstance(counts.get(step), int) else 0
                               for step in COVERAGE_STEPS}
    return coverage


def _errors(raw: Any, notes: list[str]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, list):
        return tuple(str(e) for e in raw)
    notes.append("errors is not a list; shown as one error")
    return (str(raw),)
