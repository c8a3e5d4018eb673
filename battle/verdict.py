"""The run's verdict: overall outcome, exit code, coverage, and its two files.

`EXIT_CODES` / `exit_code` are the one place a verdict becomes a process exit
code. A gate demoted before the run (battle/gating.py: infeasible, or by the scenario) is simply
role `report`; the verdict carries `demoted` ({id: {reason, cause}}) so every reader can say why. `verdict.json` (schema 1) is written atomically so a reader never sees half
a verdict; `junit.xml` has one test case per invariant for GitLab.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from battle.common.atomic import write_bytes_atomic
from battle.evidence import Fault
from battle.invariants import Outcome

SCHEMA = 1
VERDICTS = ("pass", "fail", "error", "inconclusive")
EXIT_CODES = {"pass": 0, "fail": 1, "error": 2, "inconclusive": 3}
FAULT_STEPS = ("planned", "applied", "restored", "failed")
JUNIT_CLASSNAME = "battle.invariants"


class VerdictError(Exception):
    """A verdict file that cannot be read or written as schema 1."""


@dataclass(frozen=True)
class Verdict:
    run_id: str
    scenario: str
    seed: int
    started: str  # UTC ISO-8601 with ms and Z
    ended: str
    soak_minutes: float
    verdict: str  # pass | fail | error | inconclusive
    gates: tuple[str, ...]
    results: tuple[Outcome, ...]
    coverage: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    demoted: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # id -> {reason, cause}
    sealed: bool = True  # False: the run ended before it sealed its evidence (killed); judged as far as it goes
    evidence_problems: tuple[str, ...] = ()  # damaged lines (file:line), broken files, seal mismatches

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise VerdictError(f"verdict {self.verdict!r} is not one of {VERDICTS}")

    @property
    def exit_code(self) -> int:
        return exit_code(self.verdict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "runId": self.run_id,
            "scenario": self.scenario,
            "seed": self.seed,
            "startedAt": self.started,
            "endedAt": self.ended,
            "soakMinutes": self.soak_minutes,
            "verdict": self.verdict,
            "exitCode": self.exit_code,
            "gates": list(self.gates),
            "demoted": {k: dict(v) for k, v in self.demoted.items()},
            "results": [o.to_dict() for o in self.results],
            "coverage": {k: dict(v) for k, v in self.coverage.items()},
            "errors": list(self.errors),
            "evidence": {"sealed": self.sealed, "problems": list(self.evidence_problems)},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        if data.get("schema") != SCHEMA:
            raise VerdictError(f"verdict schema {data.get('schema')!r} is not supported; this reader knows {SCHEMA}")
        try:
            return cls(
                run_id=str(data["runId"]),
                scenario=str(data["scenario"]),
                seed=int(data["seed"]),
                started=str(data["startedAt"]),
                ended=str(data["endedAt"]),
                soak_minutes=float(data["soakMinutes"]),
                verdict=str(data["verdict"]),
                gates=tuple(data["gates"]),
                results=tuple(Outcome.from_dict(r) for r in data["results"]),
                coverage={k: dict(v) for k, v in data.get("coverage", {}).items()},
                errors=tuple(data.get("errors", ())),
                demoted=_demoted(data.get("demoted") or {}),
                sealed=bool((data.get("evidence") or {}).get("sealed", True)),
                evidence_problems=tuple(str(p) for p in (data.get("evidence") or {}).get("problems", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise VerdictError(f"verdict is missing or has a malformed field: {exc!r}") from exc


def _demoted(raw: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """{id: {reason, cause}} in id order, as the manifest and the verdict record demoted gates."""
    return {str(k): {"reason": str(dict(v).get("reason", "")), "cause": str(dict(v).get("cause", ""))}
            for k, v in sorted(raw.items(), key=lambda kv: (len(str(kv[0])), str(kv[0])))}


def demotion_line(gate_id: str, reason: str, cause: str = "infeasible") -> str:
    """The one wording of a demotion (battle/gating.py), wherever it is printed."""
    by = {"scenario": " by the scenario", "adapter": " by the adapter"}.get(cause, "")
    return f"gate {gate_id} demoted to report{by}: {reason}"


def exit_code(verdict: Verdict | str) -> int:
    """The process exit code for a verdict; anything unrecognised is a harness error (2)."""
    name = verdict.verdict if isinstance(verdict, Verdict) else verdict
    return EXIT_CODES.get(name, EXIT_CODES["error"])


def _effective(result: Any) -> str:
    if result.status == "pass" and result.evidence == 0:
        return "inconclusive"  # a gate with no evidence is never a pass
    return result.status


def overall(results: Iterable[Any], gates: Collection[str], errors: Sequence[str] = ()) -> str:
    """error > fail > inconclusive > pass, decided by gate results only.

    `results` are Outcomes (or Results: anything with id, status, evidence). Report-only
    results never change the verdict; a crashed judge (an Outcome with `error`) does,
    because then the harness itself failed. A gate with no result is an error; no
    gates at all is inconclusive, since nothing was checked.
    """
    results = list(results)
    if errors or any(getattr(r, "error", None) for r in results):
        return "error"
    by_id = {r.id: r for r in results}
    if any(g not in by_id for g in gates):
        return "error"
    statuses = {_effective(by_id[g]) for g in gates}
    if "fail" in statuses:
        return "fail"
    if "inconclusive" in statuses or not statuses:
        return "inconclusive"
    return "pass"


def coverage(faults: Iterable[Fault]) -> dict[str, dict[str, int]]:
    """Per fault kind: how many were planned, applied, restored, failed."""
    out: dict[str, dict[str, int]] = {}
    for f in faults:
        row = out.setdefault(f.kind, dict.fromkeys(FAULT_STEPS, 0))
        row["planned"] += 1  # every fault in the ledger was planned, even if its planned line is missing
        row["applied"] += f.applied_at is not None
        row["restored"] += f.restored_at is not None
        row["failed"] += f.failed is not None
    return dict(sorted(out.items()))


def fault_errors(faults: Iterable[Fault]) -> list[str]:
    """Faults the harness could not undo: the run's state is no longer what it claims (exit 2)."""
    errors = []
    for f in faults:
        if f.applied_at is not None and f.restored_at is None:
            why = f" ({f.failed})" if f.failed else ""
            errors.append(f"fault {f.fault} ({f.kind} on {f.target}) was applied but never restored{why}")
    return errors


def iso(t: float | str) -> str:
    if isinstance(t, str):
        return t
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_verdict(
    *, run_id: str, scenario: str, seed: int, started: float | str, ended: float | str,
    soak_minutes: float, gates: Collection[str], outcomes: Sequence[Outcome],
    faults: Sequence[Fault] = (), errors: Sequence[str] = (), demoted: Mapping[str, Mapping[str, str]] | None = None,
    sealed: bool = True, evidence_problems: Sequence[str] = (),
) -> Verdict:
    """Assemble a verdict: judge crashes and unrestored faults become errors. `demoted` (from the manifest)
    explains the gates demoted to report; an id that is both a gate and demoted is a harness error."""
    gate_list = tuple(sorted(gates, key=lambda g: (len(g), g)))
    demotions = _demoted(demoted or {})
    all_errors = list(errors) + [o.error for o in outcomes if o.error] + fault_errors(faults) + [
        f"{g} is both a gate and demoted to report: the manifest's gate decision contradicts itself"
        for g in gate_list if g in demotions]
    return Verdict(
        run_id=run_id, scenario=scenario, seed=seed, started=iso(started), ended=iso(ended),
        soak_minutes=soak_minutes, verdict=overall(outcomes, gate_list, all_errors), gates=gate_list,
        results=tuple(outcomes), coverage=coverage(faults), errors=tuple(all_errors), sealed=sealed,
        evidence_problems=tuple(evidence_problems), demoted=demotions,
    )


def _write_atomic(path: Path, data: bytes) -> None:
    write_bytes_atomic(path, data)


def write_verdict_json(path: str | os.PathLike[str], verdict: Verdict) -> None:
    text = json.dumps(verdict.to_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"
    _write_atomic(Path(path), text.encode("utf-8"))


def load_verdict(path: str | os.PathLike[str]) -> Verdict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VerdictError(f"cannot read verdict {path}: {exc}; is it a verdict.json of schema {SCHEMA}?") from exc
    if not isinstance(data, dict):
        raise VerdictError(f"{path} holds {type(data).__name__}, expected a JSON object")
    return Verdict.from_dict(data)


def junit_xml(verdict: Verdict) -> bytes:
    failures = sum(1 for o in verdict.results if o.status == "fail" and not o.error)
    skipped = sum(1 for o in verdict.results if o.status == "inconclusive" and not o.error)
    errors = sum(1 for o in verdict.results if o.error) + (1 if _harness_errors(verdict) else 0)
    evidence_case = bool(verdict.evidence_problems) or not verdict.sealed
    tests = len(verdict.results) + (1 if _harness_errors(verdict) else 0) + evidence_case
    root = ET.Element("testsuites", name="battle", tests=str(tests), failures=str(failures),
                      errors=str(errors), skipped=str(skipped))
    suite = ET.SubElement(root, "testsuite", name=f"battle {verdict.scenario} {verdict.run_id}",
                          tests=str(tests), failures=str(failures), errors=str(errors),
                          skipped=str(skipped), timestamp=verdict.started)
    props = ET.SubElement(suite, "properties")
    for name, value in (("verdict", verdict.verdict), ("seed", str(verdict.seed)),
                        ("soakMinutes", f"{verdict.soak_minutes:g}"), ("gates", ",".join(verdict.gates)),
                        ("demoted", ",".join(verdict.demoted)), ("sealed", str(verdict.sealed).lower()),
                        ("evidenceProblems", str(len(verdict.evidence_problems)))):
        ET.SubElement(props, "property", name=name, value=value)
    for o in verdict.results:
        case = ET.SubElement(suite, "testcase", classname=JUNIT_CLASSNAME, name=o.title, time="0")
        case_props = ET.SubElement(case, "properties")
        ET.SubElement(case_props, "property", name="role", value=o.role)
        demotion = verdict.demoted.get(o.id)
        said = ""
        if demotion is not None:
            ET.SubElement(case_props, "property", name="demoted", value=demotion["reason"])
            ET.SubElement(case_props, "property", name="demotedCause", value=demotion["cause"])
            said = f"gate {o.id} demoted to report ({demotion['cause']}): {demotion['reason']}\n"
        message = f"[{o.role}] {o.result.reason}"
        if o.error:
            ET.SubElement(case, "error", message=o.error, type="JudgeCrash").text = o.result.details.get(
                "traceback", "")
        elif o.status == "fail":
            ET.SubElement(case, "failure", message=message, type="InvariantFailed")
        elif o.status == "inconclusive":
            ET.SubElement(case, "skipped", message=message)
        ET.SubElement(case, "system-out").text = (
            f"{said}{o.result.reason}\nevidence: {o.evidence}\n"
            + json.dumps(o.result.details, indent=2, sort_keys=True)
        )
    if evidence_case:
        # Listed where GitLab shows it, not only in the report: what the verdict's evidence lacked.
        case = ET.SubElement(suite, "testcase", classname="battle.evidence", name="evidence", time="0")
        lines = ([] if verdict.sealed else ["unsealed: the run ended before it sealed its evidence"]) + list(
            verdict.evidence_problems)
        ET.SubElement(case, "system-out").text = "\n".join(lines)
    harness = _harness_errors(verdict)
    if harness:
        case = ET.SubElement(suite, "testcase", classname="battle.verdict", name="harness", time="0")
        ET.SubElement(case, "error", message=harness[0], type="HarnessError").text = "\n".join(harness)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _harness_errors(verdict: Verdict) -> list[str]:
    # Judge crashes already show on their own test case.
    crashes = {o.error for o in verdict.results if o.error}
    return [e for e in verdict.errors if e not in crashes]


def write_junit(path: str | os.PathLike[str], verdict: Verdict) -> None:
    _write_atomic(Path(path), junit_xml(verdict))
