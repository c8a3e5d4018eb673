"""Gather the Evidence bundle from a run directory's artifacts alone.

Used by the observer at the end of a run and by `battle judge RUN_DIR`, so a
verdict can always be recomputed without the stack. Damaged lines are reported
in `Evidence.problems`, never fatal.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from battle.chaos.kinds import NO_EFFECTS, effects_of
from battle.chaos.ledger import read_ledger
from battle.common.jsonl import read_jsonl
from battle.common.timefmt import parse_iso
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


class GatherError(Exception):
    """The run directory lacks what every verdict needs (the manifest)."""


def _load_json(path: Path, problems: list[str]) -> Any:
    if not path.exists():
        problems.append(f"{path.name}: missing")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        problems.append(f"{path.name}: unreadable ({exc})")
        return None


def _time(text: Any) -> float | None:
    if text in (None, ""):
        return None
    return parse_iso(str(text))


def _csv_rows(path: Path, problems: list[str]) -> Iterable[dict[str, str]]:
    if not path.exists():
        problems.append(f"{path.name}: missing")
        return []
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        return list(csv.DictReader(handle))


def load_probes(path: Path, problems: list[str]) -> tuple[Probe, ...]:
    probes = []
    for line_no, row in enumerate(_csv_rows(path, problems), start=2):
        try:
            probes.append(Probe(t=float(row["epoch"]), ok=row["ok"] == "1",
                                latency_ms=float(row["latency_ms"]) if row["latency_ms"] else None,
                                status=int(row["status"]) if row["status"] else None, phase=row["phase"]))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}:{line_no}: bad probe row ({exc})")
    return tuple(probes)


def load_memory(path: Path, problems: list[str]) -> tuple[MemSample, ...]:
    samples = []
    for line_no, row in enumerate(_csv_rows(path, problems), start=2):
        try:
            samples.append(MemSample(t=float(row["epoch"]), service=row["service"], lifetime=row["lifetime"],
                                     rss_mb=float(row["rss_mb"])))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}:{line_no}: bad memory row ({exc})")
    return tuple(samples)


def _bot_index(path: Path) -> int:
    match = re.search(r"journal-bot(\d+)\.jsonl$", path.name)
    return int(match.group(1)) if match else -1


def load_ops(run_dir: Path, problems: list[str]) -> tuple[Op, ...]:
    ops: list[Op] = []
    for path in sorted(run_dir.glob("journal-bot*.jsonl"), key=_bot_index):
        records, bad = read_jsonl(path)
        problems.extend(str(p) for p in bad)
        for record in records:  # file order is append order: never re-sort by time
            try:
                ops.append(Op(bot=int(record["bot"]), op=int(record["op"]), type=str(record["type"]),
                              target=int(record["target"]), value=dict(record.get("value") or {}),
                              hot=bool(record.get("hot")), t=parse_iso(record["ts"]),
                              status=record.get("status"), latency_ms=record.get("latencyMs")))
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(f"{path.name}: bad op {record!r:.80} ({exc})")
    return tuple(ops)


def load_faults(path: Path, problems: list[str]) -> tuple[Fault, ...]:
    if not path.exists():  # a scenario without faults writes no ledger
        return ()
    ledger = read_ledger(path)  # validates schema, fields and step; bad lines come back as problems
    problems.extend(ledger.problems)
    by_id: dict[str, dict[str, Any]] = {}
    for record in ledger.entries:
        try:
            entry = by_id.setdefault(str(record["fault"]), {
                "kind": record["kind"], "target": record["target"], "params": record.get("params") or {},
                "planned": None, "intent": None, "applied": None, "restored": None, "failed": None, "duration": None})
            if isinstance(record.get("duration"), int | float) and not isinstance(record["duration"], bool):
                entry["duration"] = float(record["duration"])
            if record["step"] == "failed":
                entry["failed"] = str(record.get("error") or "failed")
            else:
                entry[record["step"]] = entry[record["step"]] or parse_iso(record["ts"])
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


def load_events(path: Path, problems: list[str]) -> tuple[tuple[ToolEvent, ...], tuple[DockerEvent, ...]]:
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


def load_mutations(path: Path, problems: list[str]) -> tuple[tuple[Mutation, ...], tuple[float, ...]]:
    records, bad = read_jsonl(path)
    problems.extend(str(p) for p in bad)
    mutations: list[Mutation] = []
    latencies: list[float] = []
    for record in records:
        try:
            kind = record["type"]
            if kind == "seen":
                latencies.append(float(record["latencyS"]))
            elif kind in ("ok", "fail", "info"):
                io_id = record.get("ioId")
                mutations.append(Mutation(op=int(record["op"]), action=str(record["action"]),
                                          io_id=None if io_id is None else int(io_id),
                                          fields=dict(record.get("fields") or {}), type=kind,
                                          t=parse_iso(record["ts"])))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}: bad mutation {record!r:.80} ({exc})")
    return tuple(mutations), tuple(latencies)


def load_readbacks(path: Path, problems: list[str]) -> tuple[PlcReadback, ...]:
    records, bad = read_jsonl(path)
    problems.extend(str(p) for p in bad)
    readbacks = []
    for record in records:
        try:
            readbacks.append(PlcReadback(fault=str(record["fault"]), returned_at=parse_iso(record["returnedAt"]),
                                         flags_ok_at=_time(record.get("flagsOkAt")),
                                         mismatched=tuple(record.get("mismatched") or ())))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}: bad read-back {record!r:.80} ({exc})")
    return tuple(readbacks)


def _by_id(rows: Any) -> dict[int, dict[str, Any]]:
    return {int(row["id"]): row for row in rows}


def gather(run_dir: Path) -> Evidence:
    problems: list[str] = []
    manifest = _load_json(run_dir / "manifest.json", problems)
    if not isinstance(manifest, dict) or "startedAt" not in manifest:
        raise GatherError(f"{run_dir}/manifest.json is missing or has no startedAt: this is not a run directory "
                          "(expected the folder battle wrote, e.g. runs/<run id>)")
    times = manifest.get("times", {})
    started = parse_iso(manifest["startedAt"])
    soak_end = _time(times.get("soakEnd")) or started + float(manifest.get("minutes", 0)) * 60.0
    knobs = manifest.get("knobs", {})
    tool_events, docker_events = load_events(run_dir / "events.jsonl", problems)
    mutations, latencies = load_mutations(run_dir / "mutations.jsonl", problems)
    local_rows = _load_json(run_dir / "snapshot-local.json", problems)
    cloud_rows = _load_json(run_dir / "snapshot-cloud.json", problems)
    queue_raw = _load_json(run_dir / "snapshot-queue.json", problems)
    settle_raw = _load_json(run_dir / "settle.json", problems) or {}
    queue = None
    if isinstance(queue_raw, dict):
        queue = QueueState(active=int(queue_raw["active"]), parked=int(queue_raw["parked"]),
                           parked_rows=tuple(queue_raw.get("parkedRows", ())))
    return Evidence(
        run_id=str(manifest.get("runId")),
        started_at=started,
        soak_end=soak_end,
        warmup_s=float(knobs["WARMUP_S"]) if "WARMUP_S" in knobs else 0.0,
        probes=load_probes(run_dir / "health.csv", problems),
        memory=load_memory(run_dir / "memory.csv", problems),
        ops=load_ops(run_dir, problems),
        faults=load_faults(run_dir / "injected.jsonl", problems),
        events=tool_events,
        docker_events=docker_events,
        mutations=mutations,
        plc_readbacks=load_readbacks(run_dir / "plc-readback.jsonl", problems),
        local=_by_id(local_rows) if isinstance(local_rows, list) else {},
        cloud=_by_id(cloud_rows) if isinstance(cloud_rows, list) else None,
        queue=queue,
        settle_s=settle_raw.get("seconds") if settle_raw.get("drained") else None,
        propagation_s=latencies,
        problems=tuple(problems),
    )
