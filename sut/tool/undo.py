"""Undo support: what the technician's page looked like before a mark.

The planted `leak` bug lives here: the historic implementation kept, for every
mark, a snapshot of the page of IO rows around the edited one in a module-level
list "so the last edit can be undone", and never trimmed it (~20 KB a request).
The fixed version keeps only the previous value of the last few edits.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

from sut.tool.db import ToolDb

PAGE_ROWS = 64  # rows around the edited IO, as the tablet pages them
RECENT_EDITS = 20

_PAGE_SNAPSHOTS: list[str] = []  # the leak: grows by one page per mark, forever
_RECENT: deque[dict[str, Any]] = deque(maxlen=RECENT_EDITS)
_LOCK = threading.Lock()


def remember(db: ToolDb, previous: dict[str, Any], keep_page: bool) -> None:
    entry = {"ioId": previous["id"], "result": previous["result"], "comments": previous["comments"]}
    with _LOCK:
        _RECENT.append(entry)
    if keep_page:
        low = previous["id"] - PAGE_ROWS // 2
        rows = db.connection().execute("SELECT * FROM Ios WHERE id >= ? ORDER BY id LIMIT ?",
                                       (low, PAGE_ROWS)).fetchall()
        page = json.dumps({"edit": entry, "page": [dict(r) for r in rows]}, indent=2)
        with _LOCK:
            _PAGE_SNAPSHOTS.append(page)


def recent_edits() -> list[dict[str, Any]]:
    with _LOCK:
        return list(_RECENT)


def page_snapshots_held() -> int:
    with _LOCK:
        return len(_PAGE_SNAPSHOTS)
