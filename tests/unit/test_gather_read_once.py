"""The artifacts other than the journals, read once by faster means (msgspec, csv.reader, numpy), give the same
evidence and list the same problems as the loaders they replaced (kept here as the definition), damaged or not."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from battle.adapters.events import canonical_name
from battle.common.jsonl import read_jsonl
from battle.common.timefmt import iso_utc, parse_iso
from battle.evidence import DockerEvent, ToolEvent
from battle.invariants.synced import applied_to_cloud
from battle.observer.gather import Problems, _snapshot, load_events, load_memory, load_probes

T0 = 1_796_000_000.0


def old_events(path: Path, problems: list[str]) -> tuple[list[ToolEvent], list[DockerEvent]]:
    records, bad = read_jsonl(path)
    problems.extend(str(p) for p in bad)
    tool, docker = [], []
    for record in records:
        try:
            stamp = parse_iso(record["ts"])
            if record.get("source") == "docker":
                docker.append(DockerEvent(t=stamp, service=str(record.get("service")), action=str(record["action"])))
            else:
                fields = {k: v for k, v in record.items() if k not in ("ts", "event", "source")}
                tool.append(ToolEvent(t=stamp, event=canonical_name(record) if "event" in record else record["event"],
                                      fields=fields))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}: bad event {record!r:.80} ({exc})")
    return tool, docker


def _line(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def events_file(path: Path, damage: str | None) -> None:
    lines = [_line({"source": "tool", "ts": iso_utc(T0), "event": "server.start", "pid": 1, "bugs": []}),
             _line({"source": "docker", "ts": iso_utc(T0 + 1), "service": "tool", "action": "oom"})]
    for i in range(20):
        items = [{"ioId": 10 + i, "result": "Passed", "comments": "", "version": 2},
                 {"ioId": 11 + i, "result": None, "comments": "x", "version": 3}]
        lines.append(_line({"source": "tool", "ts": iso_utc(T0 + 2 + i), "event": "sync.pushed", "applied": 2,
                            "appliedItems": items, "conflicts": 0, "count": 2, "rejected": 0}))
        if i % 5 == 0:
            lines.append(_line({"source": "tool", "ts": iso_utc(T0 + 2.5 + i), "event": "sync.dropped",
                                "ioId": 10 + i, "kind": "transient", "reason": "HTTP 429"}))
    middle = len(lines) // 2
    pushed = json.loads(lines[middle]) if json.loads(lines[middle])["event"] == "sync.pushed" else json.loads(
        lines[middle + 1])
    damaged = {
        None: None,
        "ts-number": _line({**pushed, "ts": 5}),
        "ts-not-a-time": _line({**pushed, "ts": "soon"}),
        "ts-other-form": _line({**pushed, "ts": "2026-12-02T14:20:50Z"}),
        "no-event": _line({k: v for k, v in pushed.items() if k != "event"}),
        "items-not-a-list": _line({**pushed, "appliedItems": {"ioId": 3}}),
        "items-elsewhere": _line({"source": "tool", "ts": iso_utc(T0), "event": "health", "appliedItems": [1]}),
        "list": "[1, 2]",
        "cut": lines[middle][:40],
        "nan": lines[middle].replace('"applied":2', '"applied":NaN'),
        "big-int": lines[middle].replace('"applied":2', '"applied":' + "9" * 40),
        "blank": "",
        "unsorted": json.dumps(pushed),
    }[damage]
    if damaged is not None:
        lines.insert(middle, damaged)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


DAMAGES = [None, "ts-number", "ts-not-a-time", "ts-other-form", "no-event", "items-not-a-list", "items-elsewhere",
           "list", "cut", "nan", "big-int", "blank", "unsorted"]


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("keep_applied", [False, True])
def test_events_are_read_as_the_old_loader_read_them(tmp_path, damage, keep_applied):
    path = tmp_path / "events.jsonl"
    events_file(path, damage)
    old_problems: list[str] = []
    tool, docker = old_events(path, old_problems)
    problems = Problems()
    applied: dict | None = {} if keep_applied else None
    new_tool, new_docker = load_events(path, problems, applied=applied)
    assert list(problems) == old_problems
    assert list(new_docker) == docker
    # the applied items moved out of sync.pushed's fields (into `applied` when asked for), all else as it was
    assert [(e.t, e.event, e.fields) for e in new_tool] == [
        (e.t, e.event, {k: v for k, v in e.fields.items() if not (e.event == "records_pushed" and k == "appliedItems")})
        for e in tool]
    if keep_applied:
        assert applied == applied_to_cloud(tool)


def old_csv(path: Path, problems: list[str], kind: str) -> list[tuple]:
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    out = []
    for line_no, row in enumerate(rows, start=2):
        try:
            if kind == "probe":
                out.append((float(row["epoch"]), row["ok"] == "1",
                            float(row["latency_ms"]) if row["latency_ms"] else None,
                            int(row["status"]) if row["status"] else None, row["phase"]))
            else:
                out.append((float(row["epoch"]), row["service"], row["lifetime"], float(row["rss_mb"])))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}:{line_no}: bad {'probe' if kind == 'probe' else 'memory'} row ({exc})")
    return out


@pytest.mark.parametrize("extra", ["", "\r\n", "1796000000.5,1,2.0\r\n", "a,b,c,d,e,f,g,h\r\n",
                                   "2026-01-01T00:00:00.000Z,x,1.0,200,1,calm\r\n",
                                   "2026-01-01T00:00:00.000Z,1796000000.0,,,0,fault\r\n"])
def test_csv_rows_are_read_as_dict_reader_read_them(tmp_path, extra):
    health = tmp_path / "health.csv"
    rows = "".join(f"{iso_utc(T0 + i)},{T0 + i:.3f},{1.5 + i % 7:.1f},200,1,calm\r\n" for i in range(30))
    health.write_text("utc,epoch,latency_ms,status,ok,phase\r\n" + rows[:200] + extra + rows[200:])
    old: list[str] = []
    expected = old_csv(health, old, "probe")
    problems = Problems()
    assert [tuple(p) for p in load_probes(health, problems)] == expected and list(problems) == old
    memory = tmp_path / "memory.csv"
    memory.write_text("utc,epoch,service,lifetime,rss_mb,rss_mb\r\n"  # a column named twice: its last one
                      f"{iso_utc(T0)},{T0:.3f},tool,1@2,40.5,41.5\r\n{iso_utc(T0)},{T0:.3f},tool,1@2,40.5\r\n" + extra)
    old = []
    expected = old_csv(memory, old, "memory")
    problems = Problems()
    assert [tuple(m) for m in load_memory(memory, problems)] == expected and list(problems) == old


@pytest.mark.parametrize("text", [
    '[{"id": 1, "result": "Passed", "comments": "", "name": "a"}, {"id": 2}]',
    '[{"id": 1, "result": NaN}]', '[{"id": true}]', '[{"id": 1.0}]', '{"id": 1}', "null", "[1]", "[",
    '[{"id": 1, "id": 2, "result": "Failed"}]',
])
def test_snapshot_rows_hold_what_the_judges_read(tmp_path, text):
    path = tmp_path / "snapshot-local.json"
    path.write_text(text)
    problems = Problems()
    rows = _snapshot(path, problems, io_rows={1})
    try:
        full = json.loads(text)
    except json.JSONDecodeError:
        assert rows is None and problems.broken["snapshot-local.json"].startswith("unreadable")
        return
    if not isinstance(full, list) or not all(isinstance(r, dict) and type(r.get("id")) is int for r in full):
        assert rows is None and "snapshot-local.json" in problems.broken
        return
    assert not problems
    for row in full:
        for key in ("result", "comments") + (("name", "description", "tagName", "isSpare") if row["id"] == 1 else ()):
            assert repr(rows[row["id"]].get(key)) == repr(row.get(key))  # (NaN is not NaN)
