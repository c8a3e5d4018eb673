"""The pure parts of the harness's PLC reader: classifying pylogix replies and comparing flags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from battle.adapters.plc import (
    PlcError,
    PlcReader,
    classify_responses,
    compare_flags,
    load_tag_expectations,
    values_equal,
)


class Reply(NamedTuple):
    """The two fields of a pylogix Response that the reader looks at."""

    Value: Any
    Status: str


def test_classify_splits_values_refusals_and_link_failures() -> None:
    outcome = classify_responses(
        ["A", "B", "C"],
        [Reply(True, "Success"), Reply(None, "Path destination unknown"), Reply(7, "Success")],
    )
    assert outcome.values == {"A": True, "C": 7}
    assert outcome.tag_errors == {"B": "Path destination unknown"}
    assert outcome.link_error is None


@pytest.mark.parametrize(
    "status",
    ["Unknown error [Errno 111] Connection refused", "Register session failed", "Connection failure", "Connection lost"],
)
def test_classify_treats_socket_trouble_as_a_link_failure(status: str) -> None:
    outcome = classify_responses(["A", "B"], [Reply(None, status), Reply(None, status)])
    assert outcome.link_error == status
    assert outcome.values == {} and outcome.tag_errors == {}


def test_classify_refuses_a_reply_of_the_wrong_length() -> None:
    outcome = classify_responses(["A", "B"], [Reply(1, "Success")])
    assert outcome.link_error == "pylogix returned 1 responses for 2 tags"


@pytest.mark.parametrize(
    ("expected", "actual", "equal"),
    [
        (True, 1, True),
        (1, True, True),
        (0, False, True),
        (1, False, False),
        (12, 12, True),
        (12, 13, False),
        (0.1, 0.10000000149011612, True),  # 0.1 after a float32 round trip
        (0.1, 0.1001, False),
        (5, 5.0, True),
        (5, None, False),
        ("x", "x", True),
    ],
)
def test_values_equal_as_the_plc_holds_them(expected: Any, actual: Any, equal: bool) -> None:
    assert values_equal(expected, actual) is equal


def test_compare_flags_reports_wrong_and_unread_tags_in_expected_order() -> None:
    expected = {"V1_Map": 3, "V1_HP": 75, "V1_Dir": True, "V1_Rev": False, "IO_1": None}
    actual = {"V1_Map": 3, "V1_HP": 0, "V1_Rev": 0, "IO_1": True}
    assert compare_flags(expected, actual) == ["V1_HP", "V1_Dir"]


def test_compare_flags_with_nothing_expected_is_empty() -> None:
    assert compare_flags({"IO_1": None}, {}) == []


def test_load_tag_expectations_keeps_types_for_all_and_expected_for_flags(tmp_path: Path) -> None:
    path = tmp_path / "plc_tags.json"
    path.write_text(json.dumps({"schema": 1, "tags": [
        {"name": "IO_1", "type": "BOOL", "kind": "io", "initial": 0, "expected": None},
        {"name": "V1_Map", "type": "DINT", "kind": "vfd_flag", "initial": 0, "expected": 4},
        {"name": "V1_Rev", "type": "BOOL", "kind": "vfd_flag", "initial": 0, "expected": 0},
    ]}))
    loaded = load_tag_expectations(path)
    assert loaded.expected == {"V1_Map": 4, "V1_Rev": 0}
    assert loaded.types == {"IO_1": "BOOL", "V1_Map": "DINT", "V1_Rev": "BOOL"}


def test_load_tag_expectations_names_the_file_on_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "plc_tags.json"
    path.write_text('{"schema": 1, "tags": [{"type": "BOOL"}]}')
    with pytest.raises(PlcError, match=r"plc_tags.json: KeyError"):
        load_tag_expectations(path)
    path.write_text('{"schema": 1, "tags": [{"name": "A", "type": "WORD"}]}')
    with pytest.raises(PlcError, match=r"\['A'\] have a type other than BOOL, DINT, REAL"):
        load_tag_expectations(path)


def test_reader_refuses_a_useless_batch_size() -> None:
    with pytest.raises(ValueError, match="batch_size is 0"):
        PlcReader("127.0.0.1", 44818, batch_size=0)
