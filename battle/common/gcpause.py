"""Cyclic garbage collection paused while a bounded piece of work runs."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_gc() -> Iterator[None]:
    """Judging makes millions of short-lived objects and no cycle worth collecting: with a million live
    objects (the evidence), each full collection would scan them all again, and only cost time. Any cycle
    made meanwhile is collected after (collection resumes as it was)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
