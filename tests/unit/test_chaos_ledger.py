"""The fault ledger: one flushed JSON line per step, and a reader that reports bad lines instead of crashing."""

from __future__ import annotations

import json
import threading

import pytest

from battle.chaos.errors import ChaosError
from battle.chaos.ledger import Ledger, read_ledger

FAULT = {
    "id": "f001",
    "kind": "delay",
    "target": "plc-sim",
    "at": 3.0,
    "duration": 5.0,
    "params": {"delayMs": 250},
}


def test_line_has_the_contract_fields_and_is_on_disk_before_close(tmp_path):
    path = tmp_path / "injected.jsonl"
    ledger = Ledger(path, now_iso=lambda: "2026-11-22T04:10:00.123Z")
    ledger.record(FAULT, "applied")
    line = json.loads(path.read_text().splitlines()[0])  # flushed: readable while the writer is open
    assert line == {
        "schema": 1,
        "ts": "2026-11-22T04:10:00.123Z",
        "fault": "f001",
        "kind": "delay",
        "target": "plc-sim",
        "step": "applied",
        "params": {"delayMs": 250},
        "error": None,
        "duration": 5.0,  # the declared length of the outage, which I1 excuses (plus the restart grace)
    }
    ledger.record(FAULT, "failed", "restore failed: boom")
    ledger.close()
    assert json.loads(path.read_text().splitlines()[1])["error"] == "restore failed: boom"


def test_unknown_step_is_refused(tmp_path):
    with pytest.raises(ChaosError, match="accepted: planned"):
        Ledger(tmp_path / "x.jsonl").record(FAULT, "exploded")


def test_concurrent_writers_never_interleave_lines(tmp_path):
    path = tmp_path / "injected.jsonl"
    ledger = Ledger(path)
    big = {**FAULT, "params": {"blob": "x" * 5000}}

    def write(n: int) -> None:
        for i in range(50):
            ledger.record({**big, "id": f"t{n}-{i}"}, "planned")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    read = read_ledger(path)
    assert read.problems == () and len(read.entries) == 400
    assert len({e["fault"] for e in read.entries}) == 400


def test_reader_reports_bad_lines_and_keeps_the_good_ones(tmp_path):
    path = tmp_path / "injected.jsonl"
    good = json.dumps(
        {"schema": 1, "ts": "t", "fault": "f1", "kind": "power", "target": "tool", "step": "applied"}
    )
    lines = [
        good,
        "{not json",
        "[1, 2]",
        json.dumps(
            {"schema": 2, "ts": "t", "fault": "f1", "kind": "power", "target": "tool", "step": "applied"}
        ),
        json.dumps({"schema": 1, "fault": "f1", "step": "applied"}),
        json.dumps(
            {"schema": 1, "ts": "t", "fault": "f1", "kind": "power", "target": "tool", "step": "exploded"}
        ),
        "",
        good.replace("applied", "restored"),
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"schema": 1, "ts": "trunc\xff')
    read = read_ledger(path)
    assert [e["step"] for e in read.entries] == ["applied", "restored"]
    assert [p.split(":")[1] for p in read.problems] == ["2", "3", "4", "5", "6", "9"]
    assert "missing ts, kind, target" in read.problems[3]
    assert all(p.startswith("injected.jsonl:") for p in read.problems)


def test_reader_on_a_missing_file_reports_it(tmp_path):
    read = read_ledger(tmp_path / "injected.jsonl")
    assert read.entries == () and "missing" in read.problems[0]


def test_intent_step_is_written_and_read_back(tmp_path):
    path = tmp_path / "injected.jsonl"
    ledger = Ledger(path)
    ledger.record({**FAULT, "duration": 12.5}, "intent")
    ledger.close()
    read = read_ledger(path)
    assert read.problems == ()
    assert read.entries[0]["step"] == "intent" and read.entries[0]["duration"] == 12.5


def test_unknown_step_names_the_accepted_ones_including_intent(tmp_path):
    with pytest.raises(ChaosError, match="planned, intent, applied, restored, failed"):
        Ledger(tmp_path / "injected.jsonl").record(FAULT, "exploded")
