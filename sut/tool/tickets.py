"""Maintenance-ticket references (`#123`) in the comments of failed points.

A Failed result that cites a ticket is linked to it. The planted `crash` bug
lives here: the historic linker looked tickets up in a per-digit table that
had no slot for the last digit 7, and the lookup took the process down (a hard
exit, like a crash in native code) for IO ids ending in 7. Only Failed results
with a `#` take this path, so it is rare.
"""

from __future__ import annotations

import os
import re
import sys

_TICKET = re.compile(r"#(\d+)")
_MISSING_SLOT = 7  # the historic table had no slot for this last digit


def ticket_refs(io_id: int, result: str, comments: str, *, crash_bug: bool) -> list[int]:
    if result != "Failed" or "#" not in comments:
        return []
    if crash_bug and io_id % 10 == _MISSING_SLOT:
        sys.stderr.write(f"fatal: ticket slot {io_id % 10} out of range for IO {io_id}; aborting\n")
        sys.stderr.flush()
        os._exit(134)
    return [int(number) for number in _TICKET.findall(comments)]
