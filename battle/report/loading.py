"""Read a run directory for the report, whatever state it was left in.

The row loaders are the observer's own (`battle.observer.gather`), so the report
shows the same probes, ops and faults the judges saw. Unlike `gather`, nothing
here requires the manifest: a run that died before writing it still gets a
report that says so. When the run was just judged, the report is built from
what judging gathered (`load_run(run_dir, gathered)`): the artifacts are read once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from battle.common.timefmt import parse_iso
from battle.evidence import BotTally, DockerEvent, Fault, MemSample, Probe, ToolEvent
from battle.observer.gather import (
    Gathered,
    Problems,
    load_events,
    load_faults,
    load_journals,
    load_memory,
    load_probes,
)
from battle.report.errors import ReportError
from battle.report.verdict_view import VerdictView, read_verdict

# The order the manifest's `times` are marked in during a run (DESIGN.md section 4).
TIME_MARKS = ("soakStart", "soakEnd", "quiesced", "calmed", "settled", "snapshotted", "judged")


@dataclass(frozen=True)
class JsonDoc:
    value: Any
    error: str | None  # None when read; "not recorded" or what was wrong

    @property
    def ok(self) -> bool:
        return self.error is None


def read_json_doc(path: Path) -> JsonDoc:
    if not path.exists():
        return JsonDoc(None, "not recorded")
    try:
        return JsonDoc(json.loads(path.read_text(encoding="utf-8", errors="replace")), None)
    except (OSError, json.JSONDecodeError) as exc:
        return JsonDoc(None, f"damaged: {exc}")


@dataclass(frozen=True)
class RunData:
    run_dir: Path
    manifest: Mapping[str, Any]
    manifest_error: str | None
    verdict: VerdictView
    plan: JsonDoc
    settle: JsonDoc
    queue: JsonDoc
    probes: tuple[Probe, ...] = ()
    memory: tuple[MemSample, ...] = ()
    crew: tuple[BotTally, ...] = ()  # each bot's journal counted (battle.observer.journals)
    faults: tuple[Fault, ...] = ()
    tool_events: tuple[ToolEvent, ...] = ()
    docker_events: tuple[DockerEvent, ...] = ()
    present: frozenset[str] = frozenset()  # artifact file names that exist
    journals: int = 0
    problems: tuple[str, ...] = ()
    origin: float | None = None  # soak start (epoch); charts count time from here
    marks: tuple[tuple[str, float], ...] = ()  # (name, epoch) of the run's phase times

    @property
    def run_id(self) -> str:
        return str(self.manifest.get("runId") or self.verdict.run or self.run_dir.name)

    def has(self, name: str) -> bool:
        return name in self.present


def _time_or_none(value: Any, what: str, problems: list[str]) -> float | None:
    if value in (None, ""):
        return None
    try:
        return parse_iso(str(value))
    except ValueError:
        problems.append(f"manifest.json: {what} {value!r:.40} is not a UTC time")
        return None


def _marks(manifest: Mapping[str, Any], problems: list[str]) -> tuple[tuple[str, float], ...]:
    times = manifest.get("times")
    if not isinstance(times, dict):
        return ()
    marks = []
    for name in TIME_MARKS:
        stamp = _time_or_none(times.get(name), f"times.{name}", problems)
        if stamp is not None:
            marks.append((name, stamp))
    return tuple(marks)


def load_run(run_dir: Path, gathered: Gathered | None = None) -> RunData:
    """The run as the report shows it; from `gathered` (what judging read) when given, else read here."""
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir} is not a directory; pass a run directory such as runs/<run id>")
    problems = Problems()
    present = gathered.present if gathered is not None else frozenset(
        p.name for p in run_dir.iterdir() if p.is_file())
    manifest_doc = read_json_doc(run_dir / "manifest.json")
    manifest = manifest_doc.value if isinstance(manifest_doc.value, dict) else {}
    manifest_error = manifest_doc.error
    if manifest_doc.ok and not isinstance(manifest_doc.value, dict):
        manifest_error = "damaged: not a JSON object"
    if manifest_error and manifest_error != "not recorded":
        problems.append(f"manifest.json {manifest_error}")
    if gathered is not None:
        evidence, found = gathered.evidence, gathered.problems
        # The same problems the loaders below list: a missing CSV or events.jsonl has its own section instead.
        problems.extend(found.get("health", ()) if "health.csv" in present else ())
        problems.extend(found.get("memory", ()) if "memory.csv" in present else ())
        problems.extend(found.get("journals", ()))
        problems.extend(found.get("faults", ()))
        problems.extend(found.get("events", ()) if "events.jsonl" in present else ())
        probes = evidence.probes if "health.csv" in present else ()
        memory = evidence.memory if "memory.csv" in present else ()
        crew, faults = evidence.journal.bots, evidence.faults
        tool_events, docker_events = evidence.events, gathered.logged_docker_events
    else:
        # The loaders note a missing CSV as a problem; here absence is shown in its own section instead.
        probes = load_probes(run_dir / "health.csv", problems) if "health.csv" in present else ()
        memory = load_memory(run_dir / "memory.csv", problems) if "memory.csv" in present else ()
        crew = load_journals(run_dir, problems, comment_targets=()).bots
        faults = load_faults(run_dir / "injected.jsonl", problems)
        tool_events, docker_events = load_events(run_dir / "events.jsonl", problems, missing_ok=True)
    marks = _marks(manifest, problems)
    origin = dict(marks).get("soakStart") or _time_or_none(manifest.get("startedAt"), "startedAt", problems)
    if origin is None and probes:
        origin = min(p.t for p in probes)
    return RunData(
        run_dir=run_dir,
        manifest=manifest,
        manifest_error=manifest_error,
        verdict=read_verdict(run_dir / "verdict.json"),
        plan=read_json_doc(run_dir / "plan.json"),
        settle=read_json_doc(run_dir / "settle.json"),
        queue=read_json_doc(run_dir / "snapshot-queue.json"),
        probes=probes,
        memory=memory,
        crew=crew,
        faults=faults,
        tool_events=tool_events,
        docker_events=docker_events,
        present=present,
        journals=sum(1 for name in present if name.startswith("journal-bot") and name.endswith(".jsonl")),
        problems=tuple(problems),
        origin=origin,
        marks=marks,
    )


def knob_rows(manifest: Mapping[str, Any]) -> list[tuple[str, Any, str]]:
    """(name, resolved value, where it came from) for every knob in the manifest, by name."""
    knobs = manifest.get("knobs")
    sources = manifest.get("knobSources")
    if not isinstance(knobs, dict):
        return []
    sources = sources if isinstance(sources, dict) else {}
    return [(str(name), knobs[name], str(sources.get(name, "?"))) for name in sorted(knobs, key=str)]


# The manifest fields the report header shows, with their labels.
MANIFEST_FIELDS: tuple[tuple[str, str], ...] = (
    ("runId", "run"), ("scenario", "scenario"), ("seed", "seed"), ("minutes", "soak minutes"),
    ("backend", "backend"), ("gitCommit", "git commit"), ("startedAt", "started"),
)
