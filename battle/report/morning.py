"""The morning report: every run of the night on one page, worst first, plus `morning.json`.

`out` is either the HTML file to write (`…/morning.html`; the JSON goes beside it
with the same stem) or a directory that receives `morning.html` and `morning.json`.
Links to each run's own `report.html` are relative, so the folder can be moved as a whole.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from battle.common.jsonl import write_json_atomic
from battle.common.timefmt import iso_utc
from battle.report.errors import ReportError
from battle.report.htmlkit import (
    Markup,
    css_token,
    esc,
    note,
    page,
    section,
    status,
    table,
    tag,
    truncate,
    write_text_atomic,
)
from battle.report.morning_summary import read_outcome, summarize

HTML_NAME = "morning.html"
JSON_NAME = "morning.json"


def _run_link(entry: dict[str, Any], out: Path) -> Markup:
    report = Path(entry["dir"]) / "report.html"
    if not report.exists():
        return esc(entry["run"])
    href = Path(os.path.relpath(report, out)).as_posix()
    return Markup(f'<a href="{esc(href)}">{esc(entry["run"])}</a>')


def _matrix(summary: dict[str, Any]) -> Markup:
    seeds: list[Any] = []
    for cell in summary["matrix"]:
        if cell["seed"] not in seeds:
            seeds.append(cell["seed"])
    by_cell = {(c["scenario"], str(c["seed"])): c for c in summary["matrix"]}
    scenarios = sorted({c["scenario"] for c in summary["matrix"]})
    rows = []
    for scenario in scenarios:
        row: list[object] = [scenario]
        for seed in seeds:
            cell = by_cell.get((scenario, str(seed)))
            row.append(status(cell["verdict"]) if cell else "–")
        rows.append(row)
    return table(["scenario", *[f"seed {s}" for s in seeds]], rows, class_="grid matrix")


def _runs(summary: dict[str, Any], out: Path) -> Markup:
    rows = [[_run_link(e, out), e["scenario"], e["seed"], status(e["verdict"]), e["exitCode"],
             ", ".join(e["failedGates"]) or "–", truncate(e["reason"], 240)] for e in summary["runs"]]
    classes = [f"run-{css_token(e['run'])} row-{css_token(e['verdict'])}" for e in summary["runs"]]
    return table(["run", "scenario", "seed", "verdict", "exit", "gates not passed", "first reason"], rows,
                 row_classes=classes)


def _invariants(summary: dict[str, Any]) -> Markup:
    rows = [[e["id"], e["name"], e["pass"], e["fail"], e["inconclusive"], f"{e['gateNotPassed']} of {e['gateRuns']}",
             truncate(", ".join(e["failedRuns"]), 240) or "–"] for e in summary["invariants"]]
    classes = [f"inv-{css_token(e['id'])}" + (" row-fail" if e["gateNotPassed"] else "") for e in summary["invariants"]]
    return table(["id", "invariant", "pass", "fail", "inconclusive", "gate not passed", "runs not passing"], rows,
                 row_classes=classes, empty="no invariant results in any run")


def render_morning(summary: dict[str, Any], out: Path) -> str:
    totals = ", ".join(f"{n} {v}" for v, n in summary["totals"].items())
    overall = summary["overall"]
    banner = Markup(f'<div class="banner v-{css_token(overall)}" id="overall">'
                    + tag("div", overall.upper(), class_="big")
                    + tag("div", f"{len(summary['runs'])} runs: {totals} · exit code {summary['exitCode']}",
                          class_="sub") + "</div>")
    return page(f"battle morning {overall} · {summary['generatedAt']}", [
        tag("h1", f"battle morning report, {summary['generatedAt']}"),
        banner,
        section("Scenario × seed", _matrix(summary), "matrix"),
        section("Runs, worst first", _runs(summary, out), "runs"),
        section("Invariants, worst first", [_invariants(summary),
                                            note("gate not passed: runs where it gated and did not pass",
                                                 class_="muted")], "invariants"),
    ])


def morning_paths(out: Path) -> tuple[Path, Path]:
    """(HTML path, JSON path) for the `out` argument: an .html file, or a directory."""
    if out.suffix.lower() in (".html", ".htm"):
        return out, out.with_suffix(".json")
    return out / HTML_NAME, out / JSON_NAME


def write_morning_report(run_dirs: Sequence[Path], out: Path, clock: Callable[[], float] = time.time) -> Path:
    """Merge the runs' verdicts into the morning HTML and JSON (see `morning_paths`); returns the HTML path.

    A run whose verdict is missing or damaged is listed as such (worst), never skipped.
    The summary's `exitCode` is the worst run's, for a CI job that should go red with it.
    """
    if not run_dirs:
        raise ReportError("no run directories given; pass one or more runs/<run id> folders")
    not_dirs = [str(d) for d in run_dirs if not Path(d).is_dir()]
    if not_dirs:
        raise ReportError(f"not run directories: {', '.join(not_dirs)}; pass folders such as runs/<run id>")
    html_path, json_path = morning_paths(out)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    summary = summarize([read_outcome(Path(d)) for d in run_dirs], iso_utc(clock()))
    write_json_atomic(json_path, summary)
    write_text_atomic(html_path, render_morning(summary, html_path.parent))
    return html_path
