"""Tag-file parsing, configuration and event formatting of the PLC simulator (no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sut.plcsim.__main__ import build_config
from sut.plcsim.config import PlcSimConfig
from sut.plcsim.errors import PlcSimError, TagFileError
from sut.plcsim.events import format_event
from sut.plcsim.server import build_cpppo_tags
from sut.plcsim.tags import TagSpec, load_tag_file, parse_tag_document


def tag(name: str, tag_type: str = "BOOL", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": tag_type, "kind": "io", "initial": 0, "expected": None, **extra}


def document(*tags: dict[str, Any]) -> dict[str, Any]:
    return {"schema": 1, "tags": list(tags)}


def test_valid_file_gives_specs_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "plc_tags.json"
    path.write_text(json.dumps(document(
        tag("MCM02_DI_0001"),
        tag("VFD_01_Map", "DINT", kind="vfd_flag", expected=12),
        tag("VFD_01_Dir", "BOOL", kind="vfd_flag", expected=True),
        tag("Line_Speed", "REAL", initial=1),
    )))

    specs = load_tag_file(path)

    assert specs == [
        TagSpec("MCM02_DI_0001", "BOOL", "io", 0, None),
        TagSpec("VFD_01_Map", "DINT", "vfd_flag", 0, 12),
        TagSpec("VFD_01_Dir", "BOOL", "vfd_flag", 0, 1),
        TagSpec("Line_Speed", "REAL", "io", 1.0, None),
    ]
    assert isinstance(specs[3].initial, float)


@pytest.mark.parametrize(
    ("bad_tag", "must_mention"),
    [
        (tag("VFD_01_Map", "WORD"), ["#1", "'VFD_01_Map'", "'type'", "BOOL, DINT, REAL"]),
        (tag("VFD_01_Map", "DINT", initial=2**31), ["#1", "'VFD_01_Map'", "'initial'", "DINT"]),
        (tag("VFD_01_Map", "DINT", initial=1.5), ["'VFD_01_Map'", "'initial'"]),
        (tag("VFD_01_Map", "DINT", initial=True), ["'VFD_01_Map'", "'initial'"]),
        (tag("VFD_01_Dir", "BOOL", initial=2), ["'VFD_01_Dir'", "'initial'", "BOOL accepts"]),
        (tag("VFD_01_Dir", "BOOL", expected="yes"), ["'VFD_01_Dir'", "'expected'"]),
        (tag("Speed", "REAL", initial="fast"), ["'Speed'", "'initial'", "REAL"]),
        (tag("Speed", "REAL", initial=float("nan")), ["'Speed'", "'initial'", "finite"]),
        (tag("VFD.01"), ["#1", "'name'", "'VFD.01'"]),
        (tag("1VFD"), ["#1", "'name'"]),
        (tag("A" * 41), ["#1", "'name'", "40 characters"]),
        (tag("VFD_01_Map", kind=3), ["'VFD_01_Map'", "'kind'"]),
        ({"name": "NoInitial", "type": "BOOL", "kind": "io"}, ["'NoInitial'", "'initial'", "missing"]),
        ("not an object", ["#1", "str"]),
    ],
)
def test_bad_tag_is_refused_naming_the_tag_and_field(bad_tag: Any, must_mention: list[str]) -> None:
    with pytest.raises(TagFileError) as caught:
        parse_tag_document(document(tag("MCM02_DI_0001"), bad_tag), source="plc_tags.json")
    message = str(caught.value)
    assert message.startswith("plc_tags.json: ")
    for fragment in must_mention:
        assert fragment in message


def test_duplicate_names_are_refused_case_insensitively() -> None:
    with pytest.raises(TagFileError, match=r"tag #2 'vfd_01_map': field 'name' duplicates tag #0"):
        parse_tag_document(document(tag("VFD_01_Map", "DINT"), tag("Other"), tag("vfd_01_map", "DINT")))


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ([], "top level is list"),
        ({"schema": 2, "tags": [tag("A")]}, "'schema' is 2"),
        ({"tags": [tag("A")]}, "'schema' is None"),
        ({"schema": 1, "tags": []}, "'tags' must be a non-empty list"),
        ({"schema": 1}, "'tags' must be a non-empty list"),
    ],
)
def test_bad_document_shape_is_refused(doc: Any, fragment: str) -> None:
    with pytest.raises(TagFileError, match=fragment):
        parse_tag_document(doc)


def test_missing_file_says_which_knob_to_set(tmp_path: Path) -> None:
    with pytest.raises(TagFileError, match="not found; set PLC_TAGS_FILE or --tags"):
        load_tag_file(tmp_path / "absent.json")


def test_invalid_json_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "plc_tags.json"
    path.write_text('{"schema": 1,\n "tags": [,]}')
    with pytest.raises(TagFileError, match=r"not valid JSON: .* line 2 column"):
        load_tag_file(path)


def test_cpppo_tags_hold_initial_values_in_the_right_python_types() -> None:
    entries = build_cpppo_tags([
        TagSpec("Flag", "BOOL", "io", 1, None),
        TagSpec("Count", "DINT", "vfd_flag", -7, 3),
        TagSpec("Speed", "REAL", "io", 2.5, None),
    ])
    assert {name: entry.attribute.value for name, entry in entries.items()} == {"Flag": 1, "Count": -7, "Speed": 2.5}
    assert type(entries["Count"].attribute.value) is int
    assert type(entries["Speed"].attribute.value) is float
    assert [entries[n].attribute.parser.__class__.__name__ for n in entries] == ["BOOL", "DINT", "REAL"]


def test_config_reads_environment_with_defaults() -> None:
    assert PlcSimConfig.from_env({}) == PlcSimConfig("0.0.0.0", 44818, Path("plc_tags.json"), 0.0)
    config = PlcSimConfig.from_env(
        {"PLC_HOST": "127.0.0.1", "PLC_PORT": "0", "PLC_TAGS_FILE": "/seed/plc_tags.json", "DELAY_MS": "250"}
    )
    assert config == PlcSimConfig("127.0.0.1", 0, Path("/seed/plc_tags.json"), 250.0)


def test_delay_file_defaults_to_the_chaos_path_and_empty_switches_it_off() -> None:
    assert PlcSimConfig.from_env({}).delay_file == Path("/tmp/plc_delay_ms")
    assert PlcSimConfig.from_env({"PLC_DELAY_FILE": "/run/d"}).delay_file == Path("/run/d")
    assert PlcSimConfig.from_env({"PLC_DELAY_FILE": ""}).delay_file is None
    assert build_config(["--delay-file", ""], {"PLC_DELAY_FILE": "/run/d"}).delay_file is None
    assert build_config(["--delay-file", "/x"], {}).delay_file == Path("/x")


def test_flags_beat_environment() -> None:
    environ = {"PLC_PORT": "5000", "DELAY_MS": "100", "PLC_TAGS_FILE": "env.json"}
    config = build_config(["--port", "6000", "--delay-ms", "0", "--tags", "flag.json", "--host", "127.0.0.1"], environ)
    assert config == PlcSimConfig("127.0.0.1", 6000, Path("flag.json"), 0.0)
    assert build_config([], environ) == PlcSimConfig("0.0.0.0", 5000, Path("env.json"), 100.0)


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"PLC_PORT": "abc"}, "PLC_PORT is 'abc'"),
        ({"PLC_PORT": "70000"}, "PLC_PORT is 70000"),
        ({"DELAY_MS": "-5"}, "DELAY_MS is -5"),
        ({"DELAY_MS": "slow"}, "DELAY_MS is 'slow'"),
        ({"DELAY_MS": "inf"}, "finite"),
        ({"PLC_HOST": ""}, "PLC_HOST is empty"),
    ],
)
def test_bad_knob_is_named(environ: dict[str, str], fragment: str) -> None:
    with pytest.raises(PlcSimError, match=fragment):
        PlcSimConfig.from_env(environ)


def test_bad_flag_is_named() -> None:
    with pytest.raises(PlcSimError, match="--delay-ms is 'x'"):
        build_config(["--delay-ms", "x"], {})


def test_start_event_is_one_json_line_with_utc_millisecond_time() -> None:
    moment = datetime(2026, 11, 22, 4, 10, 0, 123456, tzinfo=UTC)
    line = format_event("plcsim.start", moment, tags=1644, port=44818)
    assert line == '{"ts":"2026-11-22T04:10:00.123Z","event":"plcsim.start","tags":1644,"port":44818}'
