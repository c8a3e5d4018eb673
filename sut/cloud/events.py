"""Structured log: one JSON object per line on stdout, `{"ts", "event", ...}`."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, TextIO

from .store import utc_now_iso

_lock = threading.Lock()


def emit(event: str, stream: TextIO | None = None, **fields: Any) -> None:
    line = json.dumps({"ts": utc_now_iso(), "event": event, **fields}, default=str)
    out = stream if stream is not None else sys.stdout
    # Lines from waitress threads must not interleave; flush so `docker logs` sees them at once.
    with _lock:
        out.write(line + "\n")
        out.flush()
