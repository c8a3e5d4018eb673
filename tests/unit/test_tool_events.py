"""Structured events: whole JSON lines, flushed, to stdout and the optional file, from many threads."""

import io
import json
import threading

from sut.tool.events import EventLog


def test_each_event_is_one_json_line_with_a_utc_stamp(tmp_path):
    stream = io.StringIO()
    log = EventLog(stream=stream, path=tmp_path / "logs" / "events.jsonl", clock=lambda: 1795320000.123)
    log.emit("plc.restore", written=288, failed=0)
    log.close()
    line = stream.getvalue()
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line) == {"ts": "2026-11-22T04:00:00.123Z", "event": "plc.restore", "written": 288,
                                "failed": 0}
    assert (tmp_path / "logs" / "events.jsonl").read_text() == line


def test_concurrent_writers_never_interleave(tmp_path):
    stream = io.StringIO()
    log = EventLog(stream=stream, path=tmp_path / "e.jsonl")

    def burst(n):
        for k in range(200):
            log.emit("sync.pushed", worker=n, k=k, pad="x" * 300)

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    for text in (stream.getvalue(), (tmp_path / "e.jsonl").read_text()):
        lines = text.splitlines()
        assert len(lines) == 1200
        assert all(json.loads(line)["event"] == "sync.pushed" for line in lines)
