"""Journal schema 2 names each line's record kind; schema-1 lines (no kind) are read as the IO; a file may mix
the two (a writer of either version appending to one file); any other schema breaks the file, worded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from battle.common.timefmt import IsoParser, iso_utc
from battle.crew.journal import OpJournal
from battle.observer import journals
from battle.observer.journals import JournalFile, stream_journal

T0 = 1_796_000_000.0


def line(op: int, type_: str, schema: int = 2, **extra: Any) -> dict[str, Any]:
    record = {"schema": schema, "ts": iso_utc(T0 + op), "mono": float(op), "bot": 0, "lifetime": "L", "op": op,
              "type": type_, "action": "mark", "target": 10 + op, "value": {"result": "Passed", "comments": ""},
              "hot": False, "status": None, "latencyMs": None, "error": None}
    record.update(extra)
    return record


def read(path: Path, records: list[dict[str, Any]]) -> tuple[JournalFile, list[Any]]:
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    seen: list[Any] = []
    journal = stream_journal(path, IsoParser(), lambda chunk, _: seen.extend(chunk))
    return journal, seen


@pytest.fixture(params=[65536, 1], ids=["one-chunk", "a-chunk-per-line"])
def chunk_lines(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(journals, "CHUNK_LINES", request.param)
    return int(request.param)


def test_the_writer_names_its_kind_on_every_line(tmp_path: Path) -> None:
    journal = OpJournal(tmp_path / "journal-bot0.jsonl", 0, "cell", wall=lambda: T0, mono=lambda: 1.0)
    op = journal.invoke("mark", 5, {"result": "Passed"}, hot=False)
    journal.outcome(op, "ok", "mark", 5, {"result": "Passed"}, False, 200, 3.0)
    journal.close()
    records = [json.loads(text) for text in (tmp_path / "journal-bot0.jsonl").read_text().splitlines()]
    assert [(r["schema"], r["kind"]) for r in records] == [(2, "cell"), (2, "cell")]


def test_schema_2_lines_carry_their_kind(tmp_path: Path, chunk_lines: int) -> None:
    journal, seen = read(tmp_path / "journal-bot0.jsonl",
                         [line(1, "invoke", kind="cell"), line(1, "ok", kind="cell"), line(2, "invoke", kind="io")])
    assert [x.kind for x in seen] == ["cell", "cell", "io"]
    assert not journal.bad_lines and not journal.bad_ops and not journal.schema_broken


def test_schema_1_lines_are_io_and_may_mix_with_schema_2(tmp_path: Path, chunk_lines: int) -> None:
    journal, seen = read(tmp_path / "journal-bot0.jsonl",
                         [line(1, "invoke", schema=1), line(1, "ok", schema=1),
                          line(2, "invoke", kind="cell"), line(2, "ok", kind="cell"),
                          line(3, "invoke", schema=1, kind="cell")])  # schema 1 had no kind: whatever it says, io
    assert [x.kind for x in seen] == ["io", "io", "cell", "cell", "io"]
    assert not journal.bad_ops and not journal.schema_broken


def test_a_schema_2_line_without_a_kind_is_a_worded_bad_op(tmp_path: Path, chunk_lines: int) -> None:
    journal, seen = read(tmp_path / "journal-bot0.jsonl",
                         [line(1, "invoke", kind="io"), line(1, "ok"), line(2, "invoke", kind=""),
                          line(3, "invoke", kind=7)])
    assert [x.op for x in seen] == [1]
    assert len(journal.bad_ops) == 3
    assert "'kind'" in journal.bad_ops[0]
    assert "kind '' is not a record kind's name" in journal.bad_ops[1]
    assert "kind 7 is not a record kind's name" in journal.bad_ops[2]


def test_an_unknown_schema_breaks_the_file_where_it_starts(tmp_path: Path, chunk_lines: int) -> None:
    journal, seen = read(tmp_path / "journal-bot0.jsonl",
                         [line(1, "invoke", kind="io"), line(1, "ok", schema=3, kind="io"), line(2, "invoke", kind="io")])
    assert [x.op for x in seen] == [1]
    assert journal.schema_broken and journal.foreign_schema == 3
