"""Followers: tail a growing file and hand each complete line to a handler.

The tool's structured events arrive as JSON lines mixed with whatever else the
process prints; only objects with an `event` key are kept, tagged with their
source, in `events.jsonl`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from battle.common.jsonl import JsonlWriter, iter_new_lines

log = logging.getLogger(__name__)


class FileFollower:
    def __init__(self, path: Path, on_line: Callable[[str], None], poll_s: float = 0.25) -> None:
        self.path = path
        self.on_line = on_line
        self.poll_s = poll_s
        self.offset = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"follow-{path.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.drain()  # the last lines written before stop still count

    def drain(self) -> None:
        for offset, line in iter_new_lines(self.path, self.offset):
            self.offset = offset
            try:
                self.on_line(line)
            except Exception:  # supervisor loop: one odd line never stops the follower
                self.errors += 1
                log.exception("follower of %s could not handle a line", self.path)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.drain()
            self._stop.wait(self.poll_s)


def parse_event_line(line: str) -> dict[str, Any] | None:
    """The structured event in a log line, or None for ordinary output."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or "event" not in value or "ts" not in value:
        return None
    return value


class EventSink:
    """Writes the events of one source into events.jsonl and keeps counters for progress lines."""

    def __init__(self, writer: JsonlWriter, source: str,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.writer = writer
        self.source = source
        self.on_event = on_event
        self.count = 0

    def __call__(self, line: str) -> None:
        event = parse_event_line(line)
        if event is None:
            return
        event = {"source": self.source, **event}
        self.writer.write(event)
        self.count += 1
        if self.on_event is not None:
            self.on_event(event)
