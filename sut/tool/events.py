"""Structured events: one JSON object per line on stdout and, optionally, a file.

The harness follows these lines to judge the run, so every line is written whole
(under a lock) and flushed at once: a SIGKILL must not leave half a line or an
unflushed buffer behind.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from sut.tool.timeutil import utc_iso


class EventLog:
    def __init__(self, stream: TextIO | None = None, path: Path | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._file: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        self._clock = clock
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        stamp = utc_iso(self._clock() if self._clock else None)
        line = json.dumps({"ts": stamp, "event": event, **fields}, default=str, separators=(",", ":")) + "\n"
        with self._lock:
            for target in (self._stream, self._file):
                if target is None:
                    continue
                try:
                    target.write(line)
                    target.flush()
                except (OSError, ValueError):
                    # A closed stdout (the harness stopped reading) must not take the tool down.
                    pass

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
