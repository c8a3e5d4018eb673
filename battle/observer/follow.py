"""Followers: tail a growing file and hand each complete line to a handler.

The tool's events arrive mixed with whatever else the process prints. The
adapter's event vocabulary (battle.adapters.events) says which lines are events
and what battle calls them; those are kept, tagged with their source, in
`events.jsonl`. Lines that are no event are counted, and so are lines that look
like one but cannot be read (never a traceback: the tool's output is data).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from battle.adapters.events import EventVocabulary
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


class EventSink:
    """Maps the lines of one source through the vocabulary into events.jsonl, and counts what it saw."""

    # The first few malformed lines are kept as evidence for the manifest's notes.
    SAMPLE_PROBLEMS = 3

    def __init__(self, writer: JsonlWriter, source: str, vocabulary: EventVocabulary,
                 on_event: Callable[[dict[str, Any]], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.writer = writer
        self.source = source
        self.vocabulary = vocabulary
        self.on_event = on_event
        self.clock = clock
        self.count = 0  # lines written to events.jsonl (mapped and unmapped structured events)
        self.unmatched = 0
        self.malformed = 0
        self.problems: list[str] = []

    def __call__(self, line: str) -> None:
        mapped = self.vocabulary.map_line(line, self.clock)
        if mapped.record is None:
            if mapped.kind == "malformed":
                self.malformed += 1
                if len(self.problems) < self.SAMPLE_PROBLEMS:
                    self.problems.append(str(mapped.problem))
            else:
                self.unmatched += 1
            return
        event = {"source": self.source, **mapped.record}
        self.writer.write(event)
        self.count += 1
        if self.on_event is not None:
            self.on_event(event)

    def note(self) -> str | None:
        """A line for the manifest's notes when the source printed lines that looked like events but were not."""
        if not self.malformed:
            return None
        return (f"the {self.source}'s log had {self.malformed} line(s) that look like events but could not be read "
                f"(first: {'; '.join(self.problems)}); check the adapter's event vocabulary")
