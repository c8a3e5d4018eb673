"""Which writes the tool's own events say the cloud applied, and when: evidence for judging wipes.

The tool reports every push batch with a `records_pushed` event whose `appliedItems` lists the IOs
the cloud applied, with the version and the values it stored. A write lost in a planned wipe is
excused only when neither these events nor the cloud's snapshot show that it reached the cloud.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from battle.adapters.events import BattleEvent
from battle.evidence import ToolEvent

from .targets import Write, norm_write

PUSH_EVENT = BattleEvent.RECORDS_PUSHED
APPLIED_FIELD = "appliedItems"


def applied_to_cloud(events: Iterable[ToolEvent]) -> dict[int, list[tuple[float, Write]]]:
    """ioId -> [(event time, the write the cloud applied)], in event order, from events that still hold their
    `appliedItems` (gathering moves them to `Evidence.applied`, through `applied_items`)."""
    applied: dict[int, list[tuple[float, Write]]] = {}
    for e in events:
        if e.event == PUSH_EVENT:
            applied_items(e.fields.get(APPLIED_FIELD), e.t, applied)
    return applied


def applied_items(items: Any, t: float, into: dict[int, list[tuple[float, Write]]]) -> None:
    """Add one `records_pushed` event's applied items (at time t) to ioId -> [(t, write)]."""
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("ioId"), int):
            into.setdefault(item["ioId"], []).append((t, norm_write(item)))


def reached_cloud(target: int, writes: Iterable[Write], since: float,
                  applied: Mapping[int, Sequence[tuple[float, Write]]],
                  cloud: Mapping[int, Mapping[str, Any]] | None) -> str | None:
    """How the artifacts show that one of `writes` reached the cloud after `since`; None if they do not."""
    wanted = set(writes)
    for t, write in applied.get(target, ()):
        if t >= since and write in wanted:
            return f"the tool's {PUSH_EVENT} event at {t:.3f} says the cloud applied it"
    row = None if cloud is None else cloud.get(target)
    if row is not None and norm_write(dict(row)) in wanted:
        return "the cloud's snapshot holds it"
    return None
