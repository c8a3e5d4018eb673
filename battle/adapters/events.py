"""battle's own event names, and how a system's log lines are mapped to them.

The judges, the report and the chaos code key only on `BattleEvent`. A system under test logs whatever it
logs; its adapter declares an `EventVocabulary` that turns a line into a battle event:

- a JSON object matched by the value of one field (e.g. `{"event": "..."}`), its fields carried over,
  renamed where the rule says so;
- a plain-text line matched by a regular expression whose named groups become the fields, e.g.
  `DROPPED-PERMANENT ioId=(?P<ioId>\\d+) reason="(?P<reason>[^"]*)"` with the constant `kind="transient"`.

Each line of events.jsonl holds the battle name in `event` and the system's own name (or the text line)
in `raw`. Run dirs written before this vocabulary existed hold the reference system's names in `event`
and no `raw`; `canonical_name` reads those through the reference vocabulary, so they stay judgeable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any, Literal

from battle.adapters.base import AdapterError
from battle.common.timefmt import iso_utc, parse_iso


class BattleEvent(StrEnum):
    """What the judges need to know happened in the system under test; the fields each one carries."""

    TOOL_STARTED = "tool_started"  # a tool process began serving (I5 counts them)
    PLC_CONNECTED = "plc_connected"
    PLC_DISCONNECTED = "plc_disconnected"  # I5 counts flaps
    PLC_RESTORED = "plc_restored"  # written: flags written back after a program download (I3)
    RECORDS_PUSHED = "records_pushed"  # appliedItems: [{ioId, version, result, comments}] the cloud applied (I4)
    # ioId (the record's id, whatever its kind), reason, kind (business | transient | conflict ...: why), and
    # recordKind (absent: the first record kind) (I4, I6)
    RECORD_PARKED = "record_parked"
    RECORD_DROPPED = "record_dropped"
    PULL_APPLIED = "pull_applied"  # cloud changes applied locally
    OTHER = "other"  # a structured event the vocabulary does not map: kept for the reader, never judged


# Fields that are numbers whatever the line says: a regular expression's groups are text.
NUMERIC_FIELDS: Mapping[str, Callable[[str], Any]] = {"ioId": int, "written": int, "failed": int, "count": int}
RAW_FIELD = "raw"
# The record kind a parked or dropped event is about (`kind` there is why: business, transient, ...).
RECORD_KIND_FIELD = "recordKind"
# A text line longer than this is kept cut in `raw`: the line is evidence, not a log archive.
RAW_TEXT_MAX = 300


class VocabularyError(AdapterError):
    """An event vocabulary that cannot work (a pattern that does not compile, a rule without a name)."""


@dataclass(frozen=True)
class JsonEventRule:
    """A JSON log object whose `match_field` equals `match_value` is `event`; `rename` maps the system's
    field names to battle's (e.g. {"id": "ioId"})."""

    event: BattleEvent
    match_value: str
    match_field: str = "event"
    rename: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TextEventRule:
    """A plain-text line that `pattern` finds (re.search) is `event`; its named groups are the fields (a
    group named `ts`, ISO 8601, is the event's time), plus `constants`."""

    event: BattleEvent
    pattern: str
    constants: Mapping[str, Any] = field(default_factory=dict)

    def compiled(self) -> re.Pattern[str]:
        try:
            return re.compile(self.pattern)
        except re.error as exc:
            raise VocabularyError(f"the text rule for {self.event} has a pattern that does not compile: {exc}; "
                                  f"pattern {self.pattern!r}") from exc


LineKind = Literal["mapped", "other", "unmatched", "malformed"]


@dataclass(frozen=True)
class MappedLine:
    """One log line read: `record` is its events.jsonl line (None when unmatched or malformed), `problem`
    says why a line was malformed."""

    kind: LineKind
    record: dict[str, Any] | None = None
    problem: str | None = None


class EventVocabulary:
    """The mapping of one system's log lines to battle events. `time_field` names the JSON time stamp."""

    def __init__(self, json_rules: Sequence[JsonEventRule] = (), text_rules: Sequence[TextEventRule] = (),
                 name_field: str = "event", time_field: str = "ts") -> None:
        self.json_rules = tuple(json_rules)
        self.text_rules = tuple(text_rules)
        self.name_field = name_field
        self.time_field = time_field
        self._by_value = {(rule.match_field, rule.match_value): rule for rule in self.json_rules}
        self._match_fields = tuple(dict.fromkeys(rule.match_field for rule in self.json_rules)) or (name_field,)
        self._patterns = tuple((rule, rule.compiled()) for rule in self.text_rules)

    def raw_names(self) -> dict[str, BattleEvent]:
        """The system's JSON event names and the battle events they become."""
        return {rule.match_value: rule.event for rule in self.json_rules}

    def map_line(self, line: str, now: Callable[[], float]) -> MappedLine:
        """The battle event in one log line. Never raises: a line that cannot be read is `malformed`."""
        text = line.strip()
        if not text:
            return MappedLine("unmatched")
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except (ValueError, RecursionError) as exc:
                value = exc
            if isinstance(value, dict):
                return self._map_json(value)
            if not self._patterns:
                return MappedLine("malformed", problem=f"a line that starts like JSON does not parse: {text[:80]!r}")
        return self._map_text(text, now)

    def _map_json(self, value: dict[str, Any]) -> MappedLine:
        rule = next((self._by_value[key] for key in ((f, value.get(f)) for f in self._match_fields)
                     if isinstance(key[1], str) and key in self._by_value), None)
        name = value.get(rule.match_field if rule else self.name_field)
        if name is None:
            return MappedLine("unmatched")  # a JSON object that is no event: ordinary output
        stamp = value.get(self.time_field)
        if not isinstance(stamp, str):
            return MappedLine("malformed", problem=f"event {name!r} has no text {self.time_field!r} time stamp")
        try:
            parse_iso(stamp)
        except (ValueError, TypeError) as exc:
            return MappedLine("malformed", problem=f"event {name!r} has time stamp {stamp!r}: {exc}")
        skip = {self.time_field, rule.match_field if rule else self.name_field}
        fields = {(rule.rename.get(k, k) if rule else k): v for k, v in value.items() if k not in skip}
        event = rule.event if rule else BattleEvent.OTHER
        record = {"ts": stamp, **fields, "event": str(event), RAW_FIELD: str(name)}
        return MappedLine("mapped" if rule else "other", record)

    def _map_text(self, text: str, now: Callable[[], float]) -> MappedLine:
        for rule, pattern in self._patterns:
            found = pattern.search(text)
            if found is None:
                continue
            groups = {k: v for k, v in found.groupdict().items() if v is not None}
            stamp = groups.pop("ts", None)
            try:
                stamp = iso_utc(parse_iso(stamp)) if stamp is not None else iso_utc(now())
                fields = {k: NUMERIC_FIELDS[k](v) if k in NUMERIC_FIELDS else v for k, v in groups.items()}
            except (ValueError, TypeError) as exc:
                return MappedLine("malformed", problem=f"{rule.event} line {text[:80]!r}: {exc}")
            record = {"ts": stamp, **rule.constants, **fields, "event": str(rule.event),
                      RAW_FIELD: text[:RAW_TEXT_MAX]}
            return MappedLine("mapped", record)
        return MappedLine("unmatched")


def canonical_name(record: Mapping[str, Any]) -> str:
    """The battle event name of an events.jsonl line: lines with `raw` already hold it; older lines hold the
    reference system's name, read through the reference vocabulary (a name it does not map stays as it is)."""
    name = str(record.get("event"))
    if RAW_FIELD in record:
        return name
    return legacy_name(name)


def legacy_name(name: str) -> str:
    """Battle's name for an event name of a line written before the vocabulary (a line without `raw`)."""
    return _legacy_names().get(name, name)


@cache
def _legacy_names() -> dict[str, str]:
    # Older run dirs were written by the reference system only; imported late, it imports this module.
    from battle.adapters.reference_events import REFERENCE_VOCABULARY

    return {raw: str(event) for raw, event in REFERENCE_VOCABULARY.raw_names().items()}
