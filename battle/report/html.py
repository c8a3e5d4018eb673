"""The run report: one self-contained `report.html` an engineer reads the next morning.

No scripts, no fonts or styles from anywhere: the file is opened from a CI
artifact browser or a laptop offline. Every artifact may be missing or damaged;
each section then says what was not recorded instead of failing the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from battle.report.activity_sections import events_section, health_section, memory_section, ops_section
from battle.report.htmlkit import Markup, page, tag, write_text_atomic
from battle.report.loading import RunData, load_run
from battle.report.verdict_sections import (
    banner,
    coverage_section,
    facts_section,
    gates_section,
    knobs_section,
    problems_section,
)

if TYPE_CHECKING:
    from battle.observer.gather import Gathered

REPORT_NAME = "report.html"
_CONTENTS = (("gates", "invariants"), ("coverage", "coverage"), ("health", "health"), ("memory", "memory"),
             ("ops", "ops"), ("events", "events"), ("problems", "problems"), ("knobs", "knobs"), ("run", "run"))


def render_run_report(data: RunData) -> str:
    scenario = data.manifest.get("scenario") or data.verdict.scenario or "?"
    links = " · ".join(f'<a href="#{anchor}">{label}</a>' for anchor, label in _CONTENTS)
    return page(f"battle {data.verdict.verdict} · {data.run_id} · {scenario}", [
        tag("h1", f"battle run {data.run_id}"),
        banner(data),
        Markup(f'<nav class="muted">{links}</nav>'),
        gates_section(data.verdict),
        coverage_section(data),
        health_section(data),
        memory_section(data),
        ops_section(data),
        events_section(data),
        problems_section(data),
        knobs_section(data),
        facts_section(data),
    ])


def write_run_report(run_dir: Path, gathered: Gathered | None = None) -> Path:
    """Write `run_dir/report.html` from the run's artifacts alone (or from what judging `gathered` of them: no
    second read); returns its path.

    Raises ReportError only when `run_dir` is not a directory.
    """
    data = load_run(run_dir, gathered)
    out = run_dir / REPORT_NAME
    write_text_atomic(out, render_run_report(data))
    return out
