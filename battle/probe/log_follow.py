"""Follow the tool's log file and keep the battle events its lines map to, through the adapter's vocabulary."""

from __future__ import annotations

import time
from pathlib import Path

from battle.adapters.events import EventVocabulary


class ToolLogFollower:
    """Reads the file from its start (a tool logs its start once), then whatever was appended since the last
    call; a half-written last line waits for its end."""

    def __init__(self, path: Path, vocabulary: EventVocabulary) -> None:
        self.path = path
        self.vocabulary = vocabulary
        self.offset = 0
        self.partial = ""
        self.events: set[str] = set()

    def seen(self) -> set[str]:
        with self.path.open("r", encoding="utf-8", errors="replace") as log:
            log.seek(self.offset)
            text = log.read()
            self.offset = log.tell()
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        for line in lines:
            mapped = self.vocabulary.map_line(line, time.time)
            if mapped.kind == "mapped" and mapped.record is not None:
                self.events.add(str(mapped.record["event"]))
        return set(self.events)
