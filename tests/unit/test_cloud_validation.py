"""Request-shape parsing: a malformed request is refused as a whole, naming the field."""

from __future__ import annotations

import pytest

from sut.cloud.errors import RequestError
from sut.cloud.store import PushItem, normalize_result
from sut.cloud.validation import parse_json_object, parse_new_io, parse_patch, parse_push


def test_push_items_parse_with_optional_result_and_comments() -> None:
    items = parse_push({"items": [
        {"ioId": 3, "result": "Passed", "comments": "ok", "baseVersion": 2},
        {"ioId": 4, "result": None, "baseVersion": 1, "comments": None, "currentUser": "ignored"},
        {"ioId": 5, "result": "Cleared", "baseVersion": 1},
    ]}, max_items=200)
    assert items == [PushItem(3, "Passed", "ok", 2), PushItem(4, None, "", 1), PushItem(5, "Cleared", "", 1)]


def test_business_values_pass_through_to_the_store() -> None:
    # An unaccepted result is the store's per-item rejection, not a malformed request.
    [item] = parse_push({"items": [{"ioId": 1, "result": "Done", "baseVersion": 1}]}, max_items=200)
    assert item.result == "Done"


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "body must be a JSON object, got null"),
    (b"\xff", "not valid UTF-8 JSON"),
    (b"{", "not valid UTF-8 JSON"),
    (b'"items"', "got a string"),
])
def test_body_must_be_a_json_object(raw: bytes, message: str) -> None:
    with pytest.raises(RequestError) as caught:
        parse_json_object(raw)
    assert message in str(caught.value) and caught.value.status == 400


@pytest.mark.parametrize(("body", "message"), [
    ({}, "items is missing or not a list"),
    ({"items": [1]}, "items[0] must be an object"),
    ({"items": [{"ioId": True, "baseVersion": 1}]}, "items[0].ioId must be an integer"),
    ({"items": [{"ioId": 1, "baseVersion": 1.5}]}, "items[0].baseVersion must be an integer"),
    ({"items": [{"ioId": 1}]}, "items[0].baseVersion is missing"),
    ({"items": [{"ioId": 1, "baseVersion": 1}]}, "items[0].result is missing"),
    ({"items": [{"ioId": 1, "result": None, "baseVersion": 1}] * 3}, "items has 3 entries; accepted: at most 2"),
])
def test_malformed_push_names_the_field(body: dict, message: str) -> None:
    with pytest.raises(RequestError) as caught:
        parse_push(body, max_items=2)
    assert message in str(caught.value)


@pytest.mark.parametrize(("raw", "expected"), [
    ("Passed", (True, "Passed")), ("Failed", (True, "Failed")), ("Cleared", (True, None)), (None, (True, None)),
    ("passed", (False, None)), ("", (False, None)), (1, (False, None)), (["Passed"], (False, None)),
])
def test_normalize_result(raw: object, expected: tuple[bool, str | None]) -> None:
    assert normalize_result(raw) == expected


def test_new_io_and_patch_accept_only_their_fields() -> None:
    assert parse_new_io({"subsystemId": 38, "name": "n", "description": "d", "isSpare": True}) == {
        "subsystemId": 38, "name": "n", "description": "d", "isSpare": 1}
    assert parse_patch({"comments": "c", "isSpare": 0}) == {"comments": "c", "isSpare": 0}
    for bad in ({"result": "Passed"}, {"version": 9}, {}, {"name": "  "}, {"isSpare": "1"}, {"description": 3}):
        with pytest.raises(RequestError):
            parse_patch(bad)
