"""The event vocabulary: JSON events matched by a field, plain-text lines by regular expressions, and
events.jsonl written before the vocabulary existed still read with battle's names."""

import json

import pytest

from battle.adapters.events import (
    BattleEvent,
    EventVocabulary,
    JsonEventRule,
    TextEventRule,
    VocabularyError,
    canonical_name,
)
from battle.adapters.reference_events import REFERENCE_VOCABULARY
from battle.common.jsonl import JsonlWriter
from battle.common.timefmt import iso_utc
from battle.observer.follow import EventSink
from battle.observer.gather import Problems, load_events

NOW = 1_800_000_000.0

PLAIN_TEXT = EventVocabulary(
    json_rules=[JsonEventRule(BattleEvent.TOOL_STARTED, "boot", match_field="msg", rename={"proc": "pid"})],
    text_rules=[
        TextEventRule(BattleEvent.RECORD_DROPPED,
                      r'DROPPED-PERMANENT ioId=(?P<ioId>\d+) reason="(?P<reason>[^"]*)"', {"kind": "transient"}),
        TextEventRule(BattleEvent.PULL_APPLIED, r"^(?P<ts>\S+) \[AutoSync\] delta (?P<count>\d+)"),
        TextEventRule(BattleEvent.PLC_RESTORED, r"restored (?P<written>\w+) flags"),
    ])


def map_line(vocabulary, line):
    return vocabulary.map_line(line, lambda: NOW)


def test_a_json_event_is_matched_by_its_field_and_keeps_its_fields_renamed():
    mapped = map_line(PLAIN_TEXT, '{"ts": "2026-01-01T00:00:00.000Z", "msg": "boot", "proc": 7}')
    assert mapped.kind == "mapped"
    assert mapped.record == {"ts": "2026-01-01T00:00:00.000Z", "pid": 7, "event": "tool_started", "raw": "boot"}


def test_a_plain_text_line_is_matched_by_a_regex_with_named_groups():
    mapped = map_line(PLAIN_TEXT, 'W 12:00:01 DROPPED-PERMANENT ioId=123 reason="HTTP 429"\n')
    assert mapped.kind == "mapped"
    assert mapped.record == {"ts": iso_utc(NOW), "kind": "transient", "ioId": 123, "reason": "HTTP 429",
                             "event": "record_dropped", "raw": 'W 12:00:01 DROPPED-PERMANENT ioId=123 reason="HTTP 429"'}


def test_a_ts_group_gives_the_time_of_a_text_event():
    mapped = map_line(PLAIN_TEXT, "2026-03-04T05:06:07.250Z [AutoSync] delta 5 rows")
    assert mapped.record is not None
    assert (mapped.record["ts"], mapped.record["count"], mapped.record["event"]) == (
        "2026-03-04T05:06:07.250Z", 5, "pull_applied")


@pytest.mark.parametrize("line", ["", "Serving on http://0.0.0.0:8080", '{"level": "info", "text": "no event"}',
                                  "[AutoSync] delta without a time"])
def test_lines_that_match_nothing_are_unmatched(line):
    assert map_line(PLAIN_TEXT, line).kind == "unmatched"


@pytest.mark.parametrize("line, why", [
    ("restored many flags", "many"),  # a numeric field that is no number
    ("yesterday [AutoSync] delta 3", "yesterday"),  # a ts group that is no time
    ('{"msg": "boot"}', "time stamp"),  # a JSON event without its time
    ('{"ts": "soon", "msg": "boot"}', "soon"),
])
def test_malformed_lines_say_why_and_never_raise(line, why):
    mapped = map_line(PLAIN_TEXT, line)
    assert mapped.kind == "malformed" and mapped.record is None
    assert why in str(mapped.problem)


def test_broken_json_is_malformed_when_no_text_rule_could_read_it():
    assert map_line(REFERENCE_VOCABULARY, '{"ts": "2026-01-01T00:00:00.000Z", "event": ').kind == "malformed"
    assert map_line(REFERENCE_VOCABULARY, "[" * 100_000).kind == "unmatched"


def test_an_unmapped_json_event_is_kept_as_other_with_its_own_name():
    mapped = map_line(REFERENCE_VOCABULARY, '{"ts": "2026-01-01T00:00:00.000Z", "event": "worker.error", "e": 1}')
    assert mapped.kind == "other"
    assert mapped.record == {"ts": "2026-01-01T00:00:00.000Z", "e": 1, "event": "other", "raw": "worker.error"}


def test_a_pattern_that_does_not_compile_is_refused_with_the_pattern():
    with pytest.raises(VocabularyError, match=r"\(\?P<id"):
        EventVocabulary(text_rules=[TextEventRule(BattleEvent.RECORD_PARKED, r"(?P<id")])


def test_the_sink_counts_what_it_saw(tmp_path):
    writer = JsonlWriter(tmp_path / "events.jsonl")
    sink = EventSink(writer, "tool", PLAIN_TEXT, clock=lambda: NOW)
    for line in ['DROPPED-PERMANENT ioId=9 reason="x"', "noise", "restored lots flags", "restored 4 flags"]:
        sink(line + "\n")
    writer.close()
    assert (sink.count, sink.unmatched, sink.malformed) == (2, 1, 1)
    events = [json.loads(line)["event"] for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert events == ["record_dropped", "plc_restored"]


def test_old_events_jsonl_with_the_reference_names_reads_with_battle_names(tmp_path):
    """Run dirs written before the vocabulary hold the reference system's names and no `raw`."""
    assert canonical_name({"event": "plc.restore"}) == BattleEvent.PLC_RESTORED
    assert canonical_name({"event": "server.stop"}) == "server.stop"  # unmapped names stay as they were
    # A new line is taken as written: a tool whose own name happens to be a reference name is not renamed.
    assert canonical_name({"event": "other", "raw": "plc.restore"}) == "other"
    old = [{"source": "tool", "ts": "2026-01-01T00:00:00.000Z", "event": "server.start", "pid": 1},
           {"source": "tool", "ts": "2026-01-01T00:00:01.000Z", "event": "sync.dropped", "ioId": 4,
            "reason": "HTTP 429", "kind": "transient"},
           {"source": "tool", "ts": "2026-01-01T00:00:02.000Z", "event": "plc.restore", "written": 3},
           {"source": "tool", "ts": "2026-01-01T00:00:03.000Z", "event": "records_pushed", "raw": "sync.pushed",
            "appliedItems": []}]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in old), encoding="utf-8")
    problems = Problems()
    tool, _ = load_events(path, problems)
    assert not problems
    assert [(e.event, e.fields) for e in tool] == [
        ("tool_started", {"pid": 1}),
        ("record_dropped", {"ioId": 4, "reason": "HTTP 429", "kind": "transient"}),
        ("plc_restored", {"written": 3}),
        ("records_pushed", {"raw": "sync.pushed"}),
    ]


def test_the_report_counts_an_unmapped_event_under_the_tools_own_name():
    from battle.evidence import ToolEvent
    from battle.report.figures import event_counts

    events = [ToolEvent(1.0, "other", {"raw": "health"}), ToolEvent(2.0, "other", {"raw": "health"}),
              ToolEvent(3.0, "tool_started", {"raw": "server.start"})]
    assert event_counts(events) == [("other (health)", 2, 1.0, 2.0), ("tool_started", 1, 3.0, 3.0)]
