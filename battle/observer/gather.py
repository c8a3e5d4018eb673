"""Gather the Evidence bundle from a run directory's artifacts alone.

Used by the observer at the end of a run and by `battle judge RUN_DIR`, so a
verdict can always be recomputed without the stack. Damaged lines are reported
in `Evidence.problems`, never fatal.

Every artifact is read once (DESIGN.md section 13). The op journals are folded
as they stream (battle/observer/journals.py), in worker processes on a big run
while this process reads the rest; the report is built from what is gathered
here (`collect`), never from a second read.
"""

from __future__ import annotations

import csv
import json
import math
import re
import stat
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from battle.adapters.events import RAW_FIELD, canonical_name, legacy_name
from battle.chaos.kinds import NO_EFFECTS, effects_of
from battle.chaos.ledger import read_ledger
from battle.common.gcpause import no_gc
from battle.common.jsonl import read_jsonl
from battle.common.timefmt import parse_iso
from battle.crew.journal import READABLE_SCHEMAS
from battle.evidence import (
    DockerEvent,
    Evidence,
    Fault,
    JournalDigest,
    MemSample,
    Mutation,
    PlcReadback,
    Probe,
    QueueState,
    ToolEvent,
    Write,
)
from battle.invariants.synced import APPLIED_FIELD, PUSH_EVENT, applied_items
from battle.observer.journals import JournalFile, JournalJob, epoch_micros
from battle.seal import FileSeal, is_link, record_kinds_of, snapshot_name


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


def _csv_rows(path: Path, problems: Problems, columns: tuple[str, ...]) -> list[tuple[str | None, ...]]:
    """The rows' values of `columns`, as csv.DictReader gives them (a header naming a column twice: its last
    one; a short row: None), blank rows skipped; without a dict per row (a night has 28,800 probes)."""
    if not _usable(path, problems):
        return []
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        lacking = [c for c in columns if c not in (header or ())]
        if lacking:
            problems.fatal(path.name, f"no column(s) {', '.join(lacking)} in its header {header!r}")
            return []
        assert header is not None
        rows = [row for row in reader if row]
    at = [len(header) - 1 - header[::-1].index(c) for c in columns]
    if all(len(row) == len(header) for row in rows):
        return list(map(itemgetter(*at), rows)) if len(at) > 1 else [(row[at[0]],) for row in rows]
    return [tuple(row[i] if i < len(row) else None for i in at) for row in rows]


def load_probes(path: Path, problems: Problems) -> tuple[Probe, ...]:
    rows = _csv_rows(path, problems, ("epoch", "ok", "latency_ms", "status", "phase"))
    fast = _probes_by_column(rows)
    if fast is not None:
        return fast
    probes = []
    for line_no, (epoch, ok, latency, status, phase) in enumerate(rows, start=2):
        try:
            probes.append(Probe(_finite(epoch), ok == "1", _finite(latency) if latency else None,
                                int(status) if status else None, phase))  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            problems.append(f"{path.name}:{line_no}: bad probe row ({exc})")
    return tuple(probes)


def _probes_by_column(rows: list[tuple[str | None, ...]]) -> tuple[Probe, ...] | None:
    """The probes converted a column at a time, as the row loop converts each row (a night has 28,800);
    None when a row is damaged (the row loop then words its problem)."""
    if not rows:
        return ()
    epoch, ok, latency, status, phase = zip(*rows, strict=True)
    if any(None in column for column in (epoch, ok, latency, status, phase)):
        return None  # a short row
    try:
        times = list(map(float, epoch))  # type: ignore[arg-type]
        latencies = [float(v) if v else None for v in latency]  # type: ignore[arg-type]
        statuses = [int(v) if v else None for v in status]  # type: ignore[arg-type]
    except ValueError:
        return None
    if not (_all_finite(times) and _all_finite([v for v in latencies if v is not None])):
        return None
    return tuple(map(Probe._make, zip(times, [v == "1" for v in ok], latencies, statuses, phase, strict=True)))


def load_memory(path: Path, problems: Problems) -> tuple[MemSample, ...]:
    rows = _csv_rows(path, problems, ("epoch", "service", "lifetime", "rss_mb"))
    fast = _memory_by_column(rows)
    if fast is not None:
        return fast
    samples = []
    for line_no, (epoch, service, lifetime, rss) in enumerate(rows, start=2):
        try:
            samples.append(MemSample(_finite(epoch), service, lifetime, _finite(rss)))  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            problems.append(f"{path.name}:{line_no}: bad memory row ({exc})")
    return tuple(samples)


def _memory_by_column(rows: list[tuple[str | None, ...]]) -> tuple[MemSample, ...] | None:
    """The samples converted a column at a time, as the row loop converts each row; None when a row is damaged."""
    if not rows:
        return ()
    epoch, service, lifetime, rss = zip(*rows, strict=True)
    if None in epoch or None in rss:
        return None  # a short row
    try:
        times, sizes = list(map(float, epoch)), list(map(float, rss))  # type: ignore[arg-type]
    except ValueError:
        return None
    if not (_all_finite(times) and _all_finite(sizes)):
        return None
    return tuple(map(MemSample._make, zip(times, service, lifetime, sizes, strict=True)))


def _all_finite(numbers: list[float]) -> bool:
    return bool(np.isfinite(np.array(numbers, dtype=np.float64)).all())


def _bot_index(path: Path) -> int:
    match = re.search(r"journal-bot(\d+)\.jsonl$", path.name)
    return int(match.group(1)) if match else -1


def journal_paths(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob("journal-bot*.jsonl"), key=_bot_index)


def _journal_problems(journal: JournalFile, problems: Problems) -> None:
    """One journal's problems as the old loader listed them: unreadable lines, bad ops, then another schema."""
    problems.extend(journal.bad_lines)
    problems.extend(journal.bad_ops)
    if journal.schema_broken:
        problems.fatal(journal.name, f"a line of schema {journal.foreign_schema!r}, expected "
                                     f"{' or '.join(map(str, sorted(READABLE_SCHEMAS)))}: "
                                     "written by another version of battle, so its meaning is unknown")


def start_journals(run_dir: Path, comment_targets: Collection[int] | None = None,
                   seal_limits: Mapping[str, int | None] | None = None,
                   ) -> tuple[JournalJob, list[tuple[Path | None, Problems]]]:
    """Start reading the run's journals (in workers on a big run); each journal's path with the problems found
    before reading it (a symlink, not a regular file: never read)."""
    checked: list[tuple[Path | None, Problems]] = []
    for path in journal_paths(run_dir):
        found = Problems()
        checked.append((path if _usable(path, found) else None, found))
    job = JournalJob.start([p for p, _ in checked if p is not None], comment_targets, seal=dict(seal_limits or {}),
                           alongside_bytes=sum(_size(run_dir / name) for name in READ_WHILE_JOURNALS_ARE))
    return job, checked


READ_WHILE_JOURNALS_ARE = ("events.jsonl", "docker-events.jsonl", "snapshot-local.json", "snapshot-cloud.json",
                           "health.csv", "memory.csv")  # the big artifacts `collect` reads itself meanwhile


def _size(path: Path) -> int:
    """The size of a regular file (0 for anything else: it is not read, or reported when it is)."""
    try:
        status = path.lstat()
    except OSError:
        return 0
    return status.st_size if stat.S_ISREG(status.st_mode) else 0


def finish_journals(job: JournalJob, checked: list[tuple[Path | None, Problems]],
                    problems: Problems) -> tuple[JournalDigest, dict[str, FileSeal]]:
    digest, files = job.result()
    measured = {}
    for path, found in checked:
        _merge(problems, found)
        if path is not None:
            journal = files[path]
            _journal_problems(journal, problems)
            if journal.seal is not None:
                measured[path.name] = journal.seal
    return digest, measured


def load_journals(run_dir: Path, problems: Problems, comment_targets: Collection[int] | None = None) -> JournalDigest:
    """Every journal of the run folded into its digest (battle/observer/journals.py); problems as listed."""
    job, checked = start_journals(run_dir, comment_targets)
    return finish_journals(job, checked, problems)[0]


def _merge(problems: Problems, more: Problems) -> None:
    problems.extend(more)
    for name, reason in more.broken.items():
        problems.broken.setdefault(name, reason)


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


_EVENT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_VALUE = msgspec.json.Decoder()


def load_events(path: Path, problems: Problems, missing_ok: bool = False,
                applied: dict[int, list[tuple[float, Write]]] | None = None,
                ) -> tuple[tuple[ToolEvent, ...], tuple[DockerEvent, ...]]:
    """Tool and Docker events. The `appliedItems` of `records_pushed` events (one per write the cloud applied:
    a night's worth is a million) are not kept in the events' fields: when `applied` is given they go there,
    as ioId -> [(event time, write)] in event order (battle.invariants.synced), else nowhere."""
    if not _usable(path, problems, missing_ok=missing_ok):
        return (), ()
    fast = _objects(path, _EVENT)
    read = None if fast is None else _events_decoded(path, *fast, applied is not None)
    if read is None:  # read line by line, as battle.common.jsonl reads
        records, bad = read_jsonl(path)
        problems.extend(str(p) for p in bad)
        found, tool, docker, pushed = Problems(), [], [], {}  # type: ignore[var-annotated]
        for record in records:
            _event(path, record, tool, docker, pushed if applied is not None else None, found)
        read = (tool, docker, pushed, found)
    tool, docker, pushed, found = read
    problems.extend(found)
    if applied is not None:
        for io, writes in pushed.items():
            applied.setdefault(io, []).extend(writes)
    return tuple(tool), tuple(docker)


def _events_decoded(path: Path, lines: list[dict[str, msgspec.Raw]], raw: Any, keep_applied: bool) -> Any:
    """Events from lines decoded with their fields raw: every field but `appliedItems` decoded in one call, the
    times at once (numpy); each event then made as the old loader made it, from the same values. None if a
    line must be read as before after all."""
    shapes: dict[tuple[str, ...], _Shape] = {}
    of_line: list[_Shape] = []
    raws: list[msgspec.Raw] = []
    for line in lines:
        keys = tuple(line)
        shape = shapes.get(keys) or shapes.setdefault(keys, _Shape.of(keys))
        of_line.append(shape)
        raws.extend(shape.raw_values(line))
    try:
        values = _VALUE.decode(b"[" + b",".join(raws) + b"]")
    except msgspec.DecodeError:
        return None
    rows, at = [], 0
    for shape in of_line:
        rows.append(values[at:at + len(shape.keys)])
        at += len(shape.keys)
    stamps = [None if shape.ts is None else row[shape.ts] for shape, row in zip(of_line, rows, strict=True)]
    canonical = all(type(s) is str and len(s) == 24 for s in stamps)
    micros = epoch_micros(stamps) if canonical else None  # type: ignore[arg-type]
    times = [None] * len(rows) if micros is None else [u / 1_000_000 for u in micros.tolist()]
    found = Problems()
    tool: list[ToolEvent] = []
    docker: list[DockerEvent] = []
    pushed: dict[int, list[tuple[float, Write]]] = {}
    for i, (shape, row, line, stamp) in enumerate(zip(of_line, rows, lines, times, strict=True)):
        event = None if shape.event is None else row[shape.event]
        if type(event) is str and not shape.named:
            event = legacy_name(event)
        if (stamp is not None and type(event) is str and (shape.source is None or row[shape.source] != "docker")
                and (not shape.applied or (event == PUSH_EVENT and not keep_applied))):
            # the usual tool event: what _event makes of it, without a record per line
            tool.append(ToolEvent(stamp, event, dict(zip(shape.fields, shape.field_values(row), strict=True))))
            continue
        record = dict(zip(shape.keys, row, strict=True))
        full: dict[str, Any] | None = record
        if APPLIED_FIELD in line and canonical_name(record) != PUSH_EVENT:
            full = None  # (an appliedItems where none is expected: read as it is written)
        elif APPLIED_FIELD in line and keep_applied:
            try:
                record[APPLIED_FIELD] = _VALUE.decode(line[APPLIED_FIELD])
            except msgspec.DecodeError:
                full = None
        listed = len(found)
        if full is not None:
            _event(path, full, tool, docker, pushed if keep_applied else None, found, stamp)
        if full is None or (len(found) > listed and APPLIED_FIELD in line):
            del found[listed:]  # the problem quotes the record as it was written: read it whole
            try:
                full = json.loads(raw(i))
            except (ValueError, RecursionError):
                return None
            _event(path, full, tool, docker, pushed if keep_applied else None, found)
    return tool, docker, pushed, found


_EVENT_META = ("ts", "event", "source")  # an event's own fields, not kept in ToolEvent.fields


@dataclass(frozen=True)
class _Shape:
    """Where the lines with one sequence of keys hold what (a night has thousands of lines of a few shapes)."""

    keys: tuple[str, ...]  # the keys but appliedItems, in the line's order: the record's
    raw_values: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # their raw values, out of a line
    ts: int | None  # where in `keys`
    event: int | None
    source: int | None
    fields: tuple[str, ...]  # the keys of ToolEvent.fields
    field_values: Callable[[Sequence[Any]], tuple[Any, ...]]  # their values, out of the line's decoded ones
    applied: bool  # whether the line has appliedItems
    named: bool  # whether the line holds battle's event name (it has `raw`), else the reference system's

    @classmethod
    def of(cls, line_keys: tuple[str, ...]) -> _Shape:
        keys = tuple(k for k in line_keys if k != APPLIED_FIELD)
        fields = [i for i, k in enumerate(keys) if k not in _EVENT_META]

        def where(key: str) -> int | None:
            return keys.index(key) if key in keys else None

        return cls(keys=keys, raw_values=_getter(keys), ts=where("ts"), event=where("event"), source=where("source"),
                   fields=tuple(keys[i] for i in fields), field_values=_getter(fields),
                   applied=APPLIED_FIELD in line_keys, named=RAW_FIELD in line_keys)


def _getter(items: Sequence[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving a tuple of these items (keys or indices) of its argument, however many there are."""
    if len(items) == 1:
        one = itemgetter(items[0])
        return lambda of: (one(of),)
    if not items:
        return lambda of: ()
    return itemgetter(*items)


def _event(path: Path, record: Any, tool: list[ToolEvent], docker: list[DockerEvent],
           applied: dict[int, list[tuple[float, Write]]] | None, problems: Problems, stamp: float | None = None) -> None:
    """One event record read as ever (`stamp`: its "ts" already parsed)."""
    try:
        stamp = parse_iso(record["ts"]) if stamp is None else stamp
        if record.get("source") == "docker":
            docker.append(DockerEvent(t=stamp, service=str(record.get("service")), action=str(record["action"])))
        else:
            event = canonical_name(record) if "event" in record else record["event"]  # no name: a bad event
            fields = {k: v for k, v in record.items() if k not in ("ts", "event", "source")}
            items = fields.pop(APPLIED_FIELD, None) if event == PUSH_EVENT else None
            tool.append(ToolEvent(t=stamp, event=event, fields=fields))
            if applied is not None:
                applied_items(items, stamp, applied)
    except (KeyError, TypeError, ValueError) as exc:
        problems.append(f"{path.name}: bad event {record!r:.80} ({exc})")


def _objects(path: Path, decoder: msgspec.json.Decoder) -> tuple[list[Any], Any] | None:
    """Every line of the file decoded by `decoder`, when each line is exactly one such object (else None: read
    it line by line as battle.common.jsonl does), and a function giving line i's bytes."""
    data = path.read_bytes()
    if not data or b"\r" in data:
        return None
    buffer = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buffer == 10)
    count = len(ends) + (0 if data.endswith(b"\n") else 1)
    starts = np.concatenate(([0], ends + 1))[:count]
    if not (buffer[starts] == ord("{")).all():
        return None
    try:
        lines = decoder.decode_lines(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if len(lines) != count:
        return None
    bounds = [*starts.tolist(), len(data)]
    return lines, lambda i: data[bounds[i]:bounds[i + 1]].rstrip(b"\n")


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


class _JudgedRow(msgspec.Struct, gc=False):
    """What I4 and I6 read of every IO row."""

    id: int
    result: Any = None
    comments: Any = None


class _Row(_JudgedRow, gc=False):
    """An IO row with the fields I7 compares too (decoding them costs as much again: only when asked)."""

    name: Any = None
    description: Any = None
    tagName: Any = None  # noqa: N815
    isSpare: Any = None  # noqa: N815


_JUDGED_ROWS = msgspec.json.Decoder(list[_JudgedRow])
_ROWS = msgspec.json.Decoder(list[_Row])
IO_FIELDS = ("name", "description", "tagName", "isSpare")  # what I7 compares, besides comments


def _snapshot(path: Path, problems: Problems, io_rows: Collection[int] = ()) -> dict[int, dict[str, Any]] | None:
    """An IO list: a JSON list of objects, each with an integer `id`; anything else is broken. Rows keep the
    fields judges read: result and comments, and for the IOs in `io_rows` (the mutator's) I7's fields too."""
    if not _usable(path, problems):
        return None
    try:
        rows = (_ROWS if io_rows else _JUDGED_ROWS).decode(path.read_bytes())
    except (msgspec.DecodeError, msgspec.ValidationError):
        rows = None
    except OSError:
        rows = None  # _load_json words it
    if rows is not None:
        if not io_rows:
            return {row.id: {"id": row.id, "result": row.result, "comments": row.comments} for row in rows}
        return {row.id: _slim(row.id, row.result, row.comments, row, io_rows) for row in rows}
    full = _load_json(path, problems)
    if full is None:
        return None
    if not isinstance(full, list):
        problems.fatal(path.name, f"is a JSON {type(full).__name__}, expected a list of IO rows")
        return None
    by_id: dict[int, dict[str, Any]] = {}
    for i, row in enumerate(full):
        if not isinstance(row, dict) or isinstance(row.get("id"), bool) or not isinstance(row.get("id"), int):
            problems.fatal(path.name, f"row {i} is not an IO object with an integer id: {row!r:.80}")
            return None
        by_id[row["id"]] = _slim(row["id"], row.get("result"), row.get("comments"), row, io_rows)
    return by_id


def _slim(io: int, result: Any, comments: Any, row: Any, io_rows: Collection[int]) -> dict[str, Any]:
    if io not in io_rows:
        return {"id": io, "result": result, "comments": comments}
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return {"id": io, "result": result, "comments": comments, **{k: get(k) for k in IO_FIELDS}}


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


@dataclass(frozen=True)
class Gathered:
    """The evidence, with what the seal check and the report need from the same single read."""

    evidence: Evidence
    measured: Mapping[str, FileSeal] = field(default_factory=dict)  # journals measured on the bytes read
    problems: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # artifact -> its problems, in order
    present: frozenset[str] = frozenset()  # artifacts that are regular files (or links to one)
    logged_docker_events: tuple[DockerEvent, ...] = ()  # those of events.jsonl alone (the report lists these)


def gather(run_dir: Path) -> Evidence:
    return collect(run_dir).evidence


def collect(run_dir: Path, seal_limits: Mapping[str, int | None] | None = None,
            meanwhile: Any = None) -> Gathered:
    """Read every artifact once. `seal_limits`: journals to measure for the seal check as they are read
    (name -> first N bytes, None: all); `meanwhile()` runs in a thread while the journals are read."""
    with no_gc():
        return _collect(run_dir, seal_limits, meanwhile)


def _collect(run_dir: Path, seal_limits: Mapping[str, int | None] | None, meanwhile: Any) -> Gathered:
    parts: dict[str, Problems] = {}

    def part(name: str) -> Problems:
        return parts.setdefault(name, Problems())

    manifest = _load_json(run_dir / "manifest.json", part("manifest"))
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
    # Read first what decides how the rest is read: the mutator's IOs (their comments and fields are kept for
    # I7) and whether a fault wiped the tool (then the cloud's applied writes are kept for I4).
    mutations, latencies = load_mutations(run_dir / "mutations.jsonl", part("mutations"))
    mutated = frozenset(m.io_id for m in mutations if m.io_id is not None)
    job, checked = start_journals(run_dir, mutated, seal_limits)
    thread = None
    if meanwhile is not None:
        import threading

        thread = threading.Thread(target=meanwhile, name="seal-measure", daemon=True)
        thread.start()
    try:
        faults = load_faults(run_dir / "injected.jsonl", part("faults"))
        wiped = any(f.target == "tool" and f.effects.loses_data and f.applied_at for f in faults)
        applied: dict[int, list[tuple[float, Write]]] | None = {} if wiped else None
        check_plan(run_dir / "plan.json", part("plan"))
        tool_events, docker_events = load_events(run_dir / "events.jsonl", part("events"), applied=applied)
        _, engine_events = load_events(run_dir / "docker-events.jsonl", part("docker-events"), missing_ok=True)
        local = _snapshot(run_dir / "snapshot-local.json", part("local"), mutated)
        cloud = _snapshot(run_dir / "snapshot-cloud.json", part("cloud"))
        record_kinds = record_kinds_of(manifest)
        other_local = {kind: _snapshot(run_dir / snapshot_name("local", kind, record_kinds), part("local")) or {}
                       for kind in record_kinds[1:]}
        other_cloud = {kind: _snapshot(run_dir / snapshot_name("cloud", kind, record_kinds), part("cloud"))
                       for kind in record_kinds[1:]}
        queue = _queue(run_dir / "snapshot-queue.json", part("queue"))
        settle_s = _settle_seconds(run_dir / "settle.json", part("settle"))
        probes = load_probes(run_dir / "health.csv", part("health"))
        memory = load_memory(run_dir / "memory.csv", part("memory"))
        readbacks = load_readbacks(run_dir / "plc-readback.jsonl", part("readbacks"))
    finally:
        digest, measured = finish_journals(job, checked, part("journals"))
        if thread is not None:
            thread.join()
    problems = Problems()
    for name in ("manifest", "plan", "events", "docker-events", "mutations", "local", "cloud", "queue", "settle",
                 "health", "memory", "journals", "faults", "readbacks"):  # the order they were always listed in
        _merge(problems, part(name))
    evidence = Evidence(
        run_id=str(manifest.get("runId")),
        started_at=started,
        soak_end=soak_end,
        warmup_s=warmup_s,
        probes=probes,
        memory=memory,
        journal=digest,
        faults=faults,
        events=tool_events,
        docker_events=_merge_docker(docker_events, engine_events),
        mutations=mutations,
        plc_readbacks=readbacks,
        local=local or {},
        cloud=cloud,
        record_kinds=record_kinds,
        other_local=other_local,
        other_cloud=other_cloud,
        queue=queue,
        settle_s=settle_s,
        propagation_s=latencies,
        applied={io: tuple(writes) for io, writes in (applied or {}).items()},
        problems=tuple(problems),
        broken=dict(problems.broken),
    )
    present = frozenset(p.name for p in run_dir.iterdir() if p.is_file())
    return Gathered(evidence=evidence, measured=measured, present=present, logged_docker_events=docker_events,
                    problems={name: tuple(found) for name, found in parts.items()})
