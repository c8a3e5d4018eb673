"""The reference tool's structured events, in battle's vocabulary.

The reference tool prints one JSON object per event, named by its `event` field, with the fields the
judges read already named as battle names them (`ioId`, `reason`, `kind`, `written`, `appliedItems`), but
for a sheet cell's: it names its id `cellId` (battle's `ioId`, the record's id) and carries
`recordKind: "cell"` (battle's field of the same name); its `kind` is, as for an IO, why.
"""

from __future__ import annotations

from battle.adapters.events import BattleEvent, EventVocabulary, JsonEventRule

REFERENCE_EVENT_NAMES: dict[str, BattleEvent] = {
    "server.start": BattleEvent.TOOL_STARTED,
    "plc.connected": BattleEvent.PLC_CONNECTED,
    "plc.disconnected": BattleEvent.PLC_DISCONNECTED,
    "plc.restore": BattleEvent.PLC_RESTORED,
    "sync.pushed": BattleEvent.RECORDS_PUSHED,
    "sync.parked": BattleEvent.RECORD_PARKED,
    "sync.dropped": BattleEvent.RECORD_DROPPED,
    "pull.applied": BattleEvent.PULL_APPLIED,
}

_RECORD_ID_RENAME = {"cellId": "ioId"}
_ABOUT_ONE_RECORD = (BattleEvent.RECORD_PARKED, BattleEvent.RECORD_DROPPED)

REFERENCE_VOCABULARY = EventVocabulary(
    json_rules=[JsonEventRule(event=event, match_value=raw,
                              rename=_RECORD_ID_RENAME if event in _ABOUT_ONE_RECORD else {})
                for raw, event in REFERENCE_EVENT_NAMES.items()])
