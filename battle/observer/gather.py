"""Gather the Evidence bundle from a run directory's artifacts alone.

Used by the observer at the end of a run and by `battle judge RUN_DIR`, so a
verdict can always be recomputed without the stack. Damaged lines are reported
in `Evidence.problems`, never fatal.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from battle.chaos.kinds import NO_EFFECTS, effects_of
from battle.chaos.ledger import read_ledger
from battle.common.jsonl import read_jsonl
from battle.common.timefmt import parse_iso
from battle.crew.journal import JOURNAL_SCHEMA
from battle.evidence import (
    DockerEvent,
    Evidence,
    Fault,
    MemSample,
    Mutation,
    Op,
    PlcReadback,
    Probe,
    QueueState,
    ToolEvent,
)
from battle.seal import is_link


class GatherError(Exception):
    """The run directory lacks what every verdict needs (the manifest)."""


class Problems(list[str]):
    """Every evidence problem, in order (damaged lines and whole files), plus the files that could not
    be used at all (`broken`: missing, a symlink, unreadable, the wrong shape or an unknown schema).
    A broken file makes the judges that depend on it errors; a damaged line is listed, and judged around."""

    def __init__(self) -> None:
        super().__init__()
        self.broken: dict[str, str] = {}

    def fatal(self, name: str, reason: str) -> None:
        self.append(f"{name}: {reason}")
        self.broken.setdefault(name, reason)


def _usable(path: Path, problems: Problems, missing_ok: bool = False) -> bool:
    """A regular file that exists and is not a symlink; anything else is recorded (never followed)."""
    if is_link(path):
        problems.fatal(path.name, "is a symlink; input artifacts must be regular files in the run dir (refused)")
        return False
    if not path.is_file():
        if path.exists():  # a directory, a FIFO, ...: never opened (a FIFO would block the judge)
            problems.fatal(path.name, "is not a regular file; input artifacts must be regular files (refused)")
        elif not missing_ok:
            problems.fatal(path.name, "missing")
        return False
    return True


def _check_schema(path: Path, record: dict[str, Any], expected: int, problems: Problems) -> bool:
    if record.get("schema") == expected:
        return True
    problems.fatal(path.name, f"a line of schema {record.get('schema')!r}, expected {expected}: written by another "
                              "version of battle, so its meaning is unknown")
    return False


def _load_json(path: Path, problems: Problems) -> Any:
    if not _usable(path, problems):
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # (nested too deep)
        problems.fatal(path.name, f"unreadable ({type(exc).__name__}: {exc})")
        return None
    if value is None:  # None means "already reported" to every caller: say it here
        problems.fatal(path.name, "holds JSON null, expected the object or list its writer records")
    return value


def _finite(value: Any) -> float:
    """A finite number from CSV text or JSON; NaN, infinities and booleans are damage (ValueError)."""
    number = float(value)
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _time(text: Any) -> float | None:
    if text in (None, ""):
        return None
    return parse_iso(str(text))


def _csv_rows(path: Path, problems: Problems, columns: tuple[str, ...]) -> Iterable[dict[str, str]]:
    if not _usable(path, problems):
        return []
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.DictReader(handle)
        lacking = [c for c in columns if c not in (reader.fieldnames or ())]
        if lacking:
            problems.fatal(path.name, f"no column(s) {', '.join(lacking)} in its header {reader.fieldnames!r}")
            return []
        return list(reader)


def load_probes(path: Path, problems: Problems) -> tuple[Probe, ...]:
    probes = []
    for line_no, row in enumerate(_csv_rows(path, problems, ("epoch", "ok", "latency_ms", "status", "phase")),
                                  start=2):
        try:
            probes.append(Probe(t=_finite(row["epoch"]), ok=row["ok"] == "1",
                                latency_ms=_finite(row["latency_ms"]) if row["latency_ms"] else None,
                                status=int(row["status"]) if row["status"] else None, phase=row["phase"]))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}:{line_no}: bad probe row ({exc})")
    return tuple(probes)


def load_memory(path: Path, problems: Problems) -> tuple[MemSample, ...]:
    samples = []
    for line_no, row in enumerate(_csv_rows(path, problems, ("epoch", "service", "lifetime", "rss_mb")), start=2):
        try:
            samples.append(MemSample(t=_finite(row["epoch"]), service=row["service"], lifetime=row["lifetime"],
                                     rss_mb=_finite(row["rss_mb"])))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}:{line_no}: bad memory row ({exc})")
    return tuple(samples)


def _bot_index(path: Path) -> int:
    match = re.search(r"journal-bot(\d+)\.jsonl$", path.name)
    return int(match.group(1)) if match else -1


def load_ops(run_dir: Path, problems: Problems) -> tuple[Op, ...]:
    ops: list[Op] = []
    for path in sorted(run_dir.glob("journal-bot*.jsonl"), key=_bot_index):
        if not _usable(path, problems):
            continue
        records, bad = read_jsonl(path)
        problems.extend(str(p) for p in bad)
        for record in records:  # file order is append order: never re-sort by time
            if not _check_schema(path, record, JOURNAL_SCHEMA, problems):
                break
            try:
                ops.append(Op(bot=int(record["bot"]), op=int(record["op"]), type=str(record["type"]),
                              target=int(record["target"]), value=dict(record.get("value") or {}),
                              hot=bool(record.get("hot")), t=parse_iso(record["ts"]),
                              status=record.get("status"), latency_ms=record.get("latencyMs"),
                              lifetime=str(record.get("lifetime") or "")))
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(f"{path.name}: bad op {record!r:.80} ({exc})")
    return tuple(ops)


def load_faults(path: Path, problems: Problems) -> tuple[Fault, ...]:
    if not _usable(path, problems, missing_ok=True):  # a scenario without faults writes no ledger
        return ()
    ledger = read_ledger(path)  # validates schema, fields and step; bad lines come back as problems
    problems.extend(ledger.problems)
    if any(" schema " in p or ": schema " in p for p in ledger.problems):
        problems.broken.setdefault(path.name, "lines of an unknown schema: written by another version of battle")
    by_id: dict[str, dict[str, Any]] = {}
    for record in ledger.entries:
        try:
            stamp = parse_iso(record["ts"])  # every line's time, even a step already seen
            entry = by_id.setdefault(str(record["fault"]), {
                "kind": record["kind"], "target": record["target"], "params": record.get("params") or {},
                "planned": None, "intent": None, "applied": None, "restored": None, "failed": None, "duration": None})
            if isinstance(record.get("duration"), int | float) and not isinstance(record["duration"], bool):
                entry["duration"] = _finite(record["duration"])
            if record["step"] == "failed":
                entry["failed"] = str(record.get("error") or "failed")
            else:
                entry[record["step"]] = entry[record["step"]] or stamp
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}: bad ledger line {record!r:.80} ({exc})")
    faults = []
    for fid, e in by_id.items():
        effects = effects_of(str(e["kind"]), str(e["target"]))
        if effects is None:
            problems.append(f"{path.name}: fault {fid} has kind {e['kind']!r}, which this version of battle does not "
                            "know: its effects (planned outages) cannot be derived")
        faults.append(Fault(fault=fid, kind=e["kind"], target=e["target"], params=e["params"],
                            planned_at=e["planned"], applied_at=e["applied"], restored_at=e["restored"],
                            failed=e["failed"], duration=e["duration"], effects=effects or NO_EFFECTS))
    return tuple(faults)


def load_events(path: Path, problems: Problems,
                missing_ok: bool = False) -> tuple[tuple[ToolEvent, ...], tuple[DockerEvent, ...]]:
    if not _usable(path, problems, missing_ok=missing_ok):
        return (), ()
    records, bad = read_jsonl(path)
    problems.extend(str(p) for p in bad)
    tool: list[ToolEvent] = []
    docker: list[DockerEvent] = []
    for record in records:
        try:
            stamp = parse_iso(record["ts"])
            if record.get("source") == "docker":
                docker.append(DockerEvent(t=stamp, service=str(record.get("service")), action=str(record["action"])))
            else:
                fields = {k: v for k, v in record.items() if k not in ("ts", "event", "source")}
                tool.append(ToolEvent(t=stamp, event=str(record["event"]), fields=fields))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}: bad event {record!r:.80} ({exc})")
    return tuple(tool), tuple(docker)


def load_mutations(path: Path, problems: Problems) -> tuple[tuple[Mutation, ...], tuple[float, ...]]:
    if not _usable(path, problems, missing_ok=True):  # no mutator, no file; the seal says when one was due
        return (), ()
    records, bad = read_jsonl(path)
    problems.extend(str(p) for p in bad)
    mutations: list[Mutation] = []
    latencies: list[float] = []
    for record in records:
        if not _check_schema(path, record, 1, problems):
            break
        try:
            stamp, kind = parse_iso(record["ts"]), record["type"]  # every line's time, whatever its type
            if kind == "seen":
                latencies.append(_finite(record["latencyS"]))
            elif kind in ("ok", "fail", "info"):
                io_id = record.get("ioId")
                mutations.append(Mutation(op=int(record["op"]), action=str(record["action"]),
                                          io_id=None if io_id is None else int(io_id),
                                          fields=dict(record.get("fields") or {}), type=kind,
                                          t=stamp))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}: bad mutation {record!r:.80} ({exc})")
    return tuple(mutations), tuple(latencies)


def load_readbacks(path: Path, problems: Problems) -> tuple[PlcReadback, ...]:
    if not _usable(path, problems, missing_ok=True):
        return ()
    records, bad = read_jsonl(path)
    problems.extend(str(p) for p in bad)
    readbacks = []
    for record in records:
        if not _check_schema(path, record, 1, problems):
            break
        try:
            readbacks.append(PlcReadback(fault=str(record["fault"]), returned_at=parse_iso(record["returnedAt"]),
                                         flags_ok_at=_time(record.get("flagsOkAt")),
                                         mismatched=tuple(record.get("mismatched") or ())))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}: bad read-back {record!r:.80} ({exc})")
    return tuple(readbacks)


def check_plan(path: Path, problems: Problems) -> None:
    """plan.json: `{schema: 1, faults: [{id, kind, target, at, ...}]}`; anything else is broken (its judges
    error). Its faults are judged from injected.jsonl; the plan says what had to happen."""
    plan = _load_json(path, problems)
    if plan is None:
        return
    faults = plan.get("faults") if isinstance(plan, dict) else None
    if not isinstance(plan, dict) or not isinstance(faults, list):
        problems.fatal(path.name, f"is a JSON {type(plan).__name__} without a faults list, expected "
                                  f"{{schema: 1, faults: [{{id, kind, target, at, duration, params}}]}}")
    elif plan.get("schema") != 1:
        problems.fatal(path.name, f"schema {plan.get('schema')!r}, expected 1: written by another version of battle")
    else:
        odd = [f for f in faults if not isinstance(f, dict) or not all(k in f for k in ("id", "kind", "target", "at"))]
        if odd:
            problems.fatal(path.name, f"faults must be objects with id, kind, target and at; got {odd[0]!r:.80}")


def _snapshot(path: Path, problems: Problems) -> dict[int, dict[str, Any]] | None:
    """An IO list: a JSON list of objects, each with an integer `id`; anything else is broken."""
    rows = _load_json(path, problems)
    if rows is None:
        return None
    if not isinstance(rows, list):
        problems.fatal(path.name, f"is a JSON {type(rows).__name__}, expected a list of IO rows")
        return None
    by_id: dict[int, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or isinstance(row.get("id"), bool) or not isinstance(row.get("id"), int):
            problems.fatal(path.name, f"row {i} is not an IO object with an integer id: {row!r:.80}")
            return None
        by_id[row["id"]] = row
    return by_id


def _queue(path: Path, problems: Problems) -> QueueState | None:
    raw = _load_json(path, problems)
    if raw is None:
        return None
    counts = [raw.get(key) if isinstance(raw, dict) else None for key in ("active", "parked")]
    rows = raw.get("parkedRows", []) if isinstance(raw, dict) else None
    if (any(isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in counts)
            or not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows)):
        problems.fatal(path.name, f"expected {{active: int, parked: int, parkedRows: [objects]}}, got {raw!r:.120}")
        return None
    return QueueState(active=int(counts[0] or 0), parked=int(counts[1] or 0), parked_rows=tuple(rows))


def _settle_seconds(path: Path, problems: Problems) -> float | None:
    raw = _load_json(path, problems)
    if raw is None:
        return None
    seconds = raw.get("seconds") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not isinstance(raw.get("drained"), bool) or (raw["drained"] and (
            isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds))):
        problems.fatal(path.name, f"expected {{drained: bool, seconds: number}}, got {raw!r:.120}")
        return None
    return float(seconds or 0.0) if raw["drained"] else None


def _merge_docker(events: tuple[DockerEvent, ...], more: tuple[DockerEvent, ...]) -> tuple[DockerEvent, ...]:
    """The Docker backend keeps engine events in docker-events.jsonl too: an OOM kill recorded only
    there must still count when the run is judged again."""
    seen = {(e.t, e.service, e.action) for e in events}
    return events + tuple(e for e in more if (e.t, e.service, e.action) not in seen)


def gather(run_dir: Path) -> Evidence:
    problems = Problems()
    manifest = _load_json(run_dir / "manifest.json", problems)
    if not isinstance(manifest, dict) or "startedAt" not in manifest:
        raise GatherError(f"{run_dir}/manifest.json is missing or has no startedAt: this is not a run directory "
                          "(expected the folder battle wrote, e.g. runs/<run id>)")
    times = manifest.get("times", {})
    started = parse_iso(manifest["startedAt"])
    soak_end = _time(times.get("soakEnd")) or started + float(manifest.get("minutes", 0)) * 60.0
    knobs = manifest.get("knobs", {})
    try:
        warmup_s = _finite(knobs["WARMUP_S"]) if "WARMUP_S" in knobs else 0.0
    except (TypeError, ValueError):
        raise GatherError(f"manifest.json: knobs.WARMUP_S is {knobs['WARMUP_S']!r:.40}, expected a number") from None
    check_plan(run_dir / "plan.json", problems)
    tool_events, docker_events = load_events(run_dir / "events.jsonl", problems)
    _, engine_events = load_events(run_dir / "docker-events.jsonl", problems, missing_ok=True)
    mutations, latencies = load_mutations(run_dir / "mutations.jsonl", problems)
    local = _snapshot(run_dir / "snapshot-local.json", problems)
    cloud = _snapshot(run_dir / "snapshot-cloud.json", problems)
    queue = _queue(run_dir / "snapshot-queue.json", problems)
    settle_s = _settle_seconds(run_dir / "settle.json", problems)
    return Evidence(
        run_id=str(manifest.get("runId")),
        started_at=started,
        soak_end=soak_end,
        warmup_s=warmup_s,
        probes=load_probes(run_dir / "health.csv", problems),
        memory=load_memory(run_dir / "memory.csv", problems),
        ops=load_ops(run_dir, problems),
        faults=load_faults(run_dir / "injected.jsonl", problems),
        events=tool_events,
        docker_events=_merge_docker(docker_events, engine_events),
        mutations=mutations,
        plc_readbacks=load_readbacks(run_dir / "plc-readback.jsonl", problems),
        local=local or {},
        cloud=cloud,
        queue=queue,
        settle_s=settle_s,
        propagation_s=latencies,
        problems=tuple(problems),
        broken=dict(problems.broken),
    )
