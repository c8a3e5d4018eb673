"""Which record kinds a run's loss and convergence judges judge, and how their findings name a record."""

from __future__ import annotations

from battle.adapters.events import RECORD_KIND_FIELD
from battle.evidence import Evidence, ToolEvent

# How findings have always named a record of the first kind of the reference tool: kept so that a run dir
# written before record kinds keeps a verdict with the very same words.
_LEGACY_LABEL = {"io": "IO"}


def judged_kinds(evidence: Evidence) -> tuple[str, ...]:
    """The run's record kinds (manifest order), then any other kind a bot wrote or a drop event named."""
    kinds = dict.fromkeys(evidence.record_kinds)
    kinds.update(dict.fromkeys(evidence.journal.targets))
    return tuple(kinds)


def record_kind_of(event: ToolEvent, evidence: Evidence) -> str:
    """The record kind an event is about: its `recordKind`, else the run's first kind (events before kinds)."""
    kind = event.fields.get(RECORD_KIND_FIELD)
    return kind if isinstance(kind, str) and kind else evidence.record_kinds[0]


def record_label(kind: str, record_id: object) -> str:
    return f"{_LEGACY_LABEL.get(kind, kind)} {record_id}"


def kind_label(kind: str, several: bool) -> str:
    """The kind before the word `targets` when a run judges several kinds (one kind: as before kinds)."""
    return f"{kind} " if several else ""
