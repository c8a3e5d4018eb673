"""Run report sections about the outcome: banner, gates, coverage, problems, knobs, run facts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from battle.common.timefmt import iso_utc
from battle.report.figures import coverage_from_ledger
from battle.report.htmlkit import (
    Markup,
    bullet_list,
    compact,
    css_token,
    esc,
    kv_table,
    not_recorded,
    note,
    section,
    status,
    table,
    tag,
    truncate,
)
from battle.report.loading import MANIFEST_FIELDS, RunData, knob_rows
from battle.report.verdict_view import COVERAGE_STEPS, ResultRow, VerdictView

_BANNER_WORDS = {"missing": "NO VERDICT", "unreadable": "VERDICT UNREADABLE"}


def banner(data: RunData) -> Markup:
    view = data.verdict
    word = _BANNER_WORDS.get(view.verdict, view.verdict.upper())
    code = f"exit code {view.exit_code}" if view.exit_code is not None else "exit code unknown"
    scenario = data.manifest.get("scenario") or view.scenario or "?"
    seed = data.manifest.get("seed", view.seed)
    sub = f"{code} · run {data.run_id} · scenario {scenario} · seed {seed}"
    gated = [r for r in view.results if r.role == "gate"]
    counts = ", ".join(f"{n} {s}" for s in ("error", "fail", "inconclusive", "pass")
                       if (n := sum(1 for r in gated if r.shown_status == s)))
    parts = [tag("div", word, class_="big"), tag("div", sub, class_="sub")]
    if counts:
        parts.append(tag("div", f"gates: {counts}", class_="sub"))
    if view.demoted:
        parts.append(tag("div", f"demoted to report: {' '.join(view.demoted)}", class_="sub"))
    body = Markup(f'<div class="banner v-{css_token(view.verdict)}" id="verdict">'
                  + "".join(parts) + "</div>")
    if view.problem:
        body = Markup(body + tag("p", view.problem, class_="error-box"))
    return body


def _details(details: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in details.items() if k != "traceback"}  # a crash's traceback is in junit.xml
    return compact(shown, limit=300) if shown else ""


def _evidence(result: ResultRow) -> str:
    if result.evidence is None:
        return "–"
    if result.evidence == 0 and result.role == "gate" and result.status == "pass":
        return "0 (a gate with no evidence counts as inconclusive)"
    return str(result.evidence)


def _reason(result: ResultRow) -> str:
    reason = truncate(result.reason, 300)
    return f"judge crashed: {truncate(result.error, 300)}" + (f" ({reason})" if reason else "") if result.error \
        else reason


def gates_section(view: VerdictView) -> Markup:
    if not view.readable:
        return section("Invariants", not_recorded("invariant results", view.problem), "gates")
    entries = [(r.role != "gate", _id_order(r.id),
                [r.id, r.name, _role(r, view), status(r.shown_status), _evidence(r), _reason(r), _details(r.details)],
                f"row-{css_token(r.shown_status)} gate-{css_token(r.id)}") for r in view.results]
    judged = {r.id for r in view.results}
    for gate in view.gates:  # a gate the verdict names but never judged is worth a row of its own
        if gate not in judged:
            entries.append((False, _id_order(gate), [gate, "", "gate", status("missing"), "–",
                                                     "no result recorded for this gate", ""],
                            f"row-error gate-{css_token(gate)}"))
    entries.sort(key=lambda e: (e[0], e[1]))
    rows = [e[2] for e in entries]
    classes = [e[3] for e in entries]
    parts: list[object] = [table(["id", "invariant", "role", "status", "evidence", "reason", "key details"], rows,
                                 row_classes=classes, empty="no invariant results in the verdict")]
    if view.gates:
        parts.append(note(f"gates of this run: {', '.join(view.gates)}; other invariants are reported only",
                          class_="muted"))
    if view.demoted:
        parts.append(note("demoted to report before the run (they do not change the verdict):", class_="muted"))
        parts.append(bullet_list([f"{rid} ({d.cause}): {truncate(d.reason, 300)}" for rid, d in view.demoted.items()],
                                 class_="demoted"))
    return section("Invariants", parts, "gates")


def _role(result: ResultRow, view: VerdictView) -> str:
    return f"{result.role} (demoted)" if result.id in view.demoted and result.role == "report" else result.role


def _id_order(rid: str) -> tuple[int, str]:
    digits = rid[1:]
    return (int(digits), rid) if digits.isdigit() else (10**6, rid)


def coverage_section(data: RunData) -> Markup:
    coverage = data.verdict.coverage
    source = "from verdict.json"
    if coverage is None:
        if not data.faults:
            why = "no fault ledger either" if "injected.jsonl" not in data.present else "the ledger is empty"
            return section("Fault coverage", not_recorded("coverage", why), "coverage")
        coverage, source = coverage_from_ledger(data.faults), "recomputed from injected.jsonl (the verdict has none)"
    rows, classes = [], []
    for kind, counts in sorted(coverage.items()):
        values = [counts.get(step, 0) for step in COVERAGE_STEPS]
        planned, applied, restored, failed = values
        warn = failed > 0 or restored < applied or (planned > 0 and applied == 0)
        rows.append([kind, *values])
        classes.append(f"coverage-{css_token(kind)}" + (" row-warn" if warn else ""))
    parts: list[object] = [table(["fault kind", *COVERAGE_STEPS], rows, row_classes=classes,
                                 empty="no faults in this run"), note(source, class_="muted")]
    if data.faults:
        parts.append(_fault_list(data))
    return section("Fault coverage", parts, "coverage")


def _fault_list(data: RunData, limit: int = 200) -> Markup:
    origin = data.origin

    def rel(t: float | None) -> str:
        if t is None:
            return "–"
        return f"{t - origin:+.1f} s" if origin is not None else f"{t:.1f}"

    faults = sorted(data.faults, key=lambda f: (f.applied_at or f.planned_at or 0.0, f.fault))
    rows = [[f.fault, f.kind, f.target, rel(f.applied_at), rel(f.restored_at),
             f"{f.restored_at - f.applied_at:.1f} s" if f.applied_at and f.restored_at else "–",
             compact(f.params, 120) if f.params else "", truncate(f.failed or "", 200)] for f in faults[:limit]]
    classes = ["row-fail" if f.failed or (f.applied_at and not f.restored_at) else "" for f in faults[:limit]]
    more = note(f"… {len(faults) - limit} more faults in injected.jsonl") if len(faults) > limit else ""
    return Markup(tag("h3", "Faults (ledger)")
                  + table(["fault", "kind", "target", "applied", "restored", "down", "params", "error"], rows,
                          row_classes=classes) + esc(more))


def problems_section(data: RunData) -> Markup:
    view = data.verdict
    parts: list[object] = []
    if view.problem:
        parts += [tag("h3", "Verdict"), tag("p", view.problem, class_="error-box")]
    if view.errors:
        parts += [tag("h3", "Errors reported by the verdict"), bullet_list(list(view.errors))]
    if view.notes:
        parts += [tag("h3", "Damaged parts of verdict.json"), bullet_list(list(view.notes))]
    manifest_errors = data.manifest.get("errors")
    if isinstance(manifest_errors, list):  # the verdict usually repeats them; show only the ones it lacks
        unseen = [str(e) for e in manifest_errors if str(e) not in view.errors]
        if unseen:
            parts += [tag("h3", "Errors recorded in the manifest"), bullet_list(unseen)]
    notes = data.manifest.get("notes")
    if isinstance(notes, list) and notes:
        parts += [tag("h3", "Run notes (manifest)"), bullet_list([str(n) for n in notes])]
    elif isinstance(notes, str) and notes:
        parts += [tag("h3", "Run notes (manifest)"), bullet_list([notes])]
    if data.problems:
        parts += [tag("h3", "Artifact problems"), bullet_list(list(data.problems))]
    missing = [name for name in ("manifest.json", "plan.json", "health.csv", "memory.csv", "events.jsonl",
                                 "injected.jsonl", "verdict.json", "snapshot-local.json", "snapshot-cloud.json")
               if name not in data.present]
    if data.journals == 0:
        missing.append("journal-bot*.jsonl")
    if missing:
        parts += [tag("h3", "Artifacts not recorded"), bullet_list(missing)]
    if not parts:
        parts.append(note("no problems recorded", class_="muted"))
    return section("Problems and notes", parts, "problems")


def knobs_section(data: RunData) -> Markup:
    if data.manifest_error:
        return section("Resolved knobs", not_recorded("knobs", f"manifest.json {data.manifest_error}"), "knobs")
    rows = knob_rows(data.manifest)
    classes = [f"source-{css_token(source)}" for _, _, source in rows]
    body = table(["knob", "value", "from"], [[name, _knob_text(value), source] for name, value, source in rows],
                 row_classes=classes, empty="knobs: not recorded in the manifest")
    return section("Resolved knobs", [body, note("from: cli = a command-line flag, env = the environment, "
                                                  "scenario = the scenario's value, default = battle/scenarios.yml",
                                                  class_="muted")], "knobs")


def _knob_text(value: Any) -> str:
    """Close to how the knob is written in the environment: ranges as "lo,hi", unset as off."""
    if value is None or value == "":
        return "(off)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_knob_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return compact(value, 160)


def facts_section(data: RunData) -> Markup:
    manifest = data.manifest
    pairs: list[tuple[object, object]] = []
    if data.manifest_error:
        pairs.append(("manifest.json", data.manifest_error))
    for key, label in MANIFEST_FIELDS:
        if key in manifest:
            pairs.append((label, compact(manifest[key], 120)))
    pairs.append(("run directory", str(data.run_dir)))
    gates = manifest.get("gates")
    if gates is not None:
        pairs.append(("gates (manifest)", compact(gates, 200)))
    for name, stamp in data.marks:
        offset = f" ({stamp - data.origin:+.1f} s)" if data.origin is not None else ""
        pairs.append((f"time: {name}", f"{iso_utc(stamp)}{offset}"))
    images = manifest.get("images")
    if isinstance(images, dict):
        pairs += [(f"image: {name}", truncate(str(ref), 120)) for name, ref in sorted(images.items())]
    pairs.append(("settle", _settle_text(data)))
    pairs.append(("queue after settle", _queue_text(data)))
    pairs.append(("fault plan", _plan_text(data)))
    return section("Run", kv_table(pairs), "run")


def _settle_text(data: RunData) -> str:
    doc = data.settle
    if not doc.ok or not isinstance(doc.value, dict):
        return f"settle.json {doc.error or 'is not an object'}"
    value = doc.value
    if value.get("drained"):
        return f"drained after {value.get('seconds')} s"
    return f"NOT drained (last queue {compact(value.get('lastQueue'), 80)}, last error {value.get('lastError')!s:.120})"


def _queue_text(data: RunData) -> str:
    doc = data.queue
    if not doc.ok or not isinstance(doc.value, dict):
        return f"snapshot-queue.json {doc.error or 'is not an object'}"
    return f"active {doc.value.get('active')}, parked {doc.value.get('parked')}"


def _plan_text(data: RunData) -> str:
    doc = data.plan
    if not doc.ok or not isinstance(doc.value, dict):
        return f"plan.json {doc.error or 'is not an object'}"
    faults = doc.value.get("faults")
    count = len(faults) if isinstance(faults, list) else "?"
    return f"{count} faults planned over {doc.value.get('soakSeconds')} s (seed {doc.value.get('seed')})"
