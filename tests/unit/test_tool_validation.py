"""Field-write parsing: the clear 4xx messages the tablet shows."""

import json

import pytest

from sut.tool.errors import BadRequest
from sut.tool.validation import MAX_COMMENTS, parse_mark


def body(**fields):
    return json.dumps(fields).encode()


def test_a_good_mark_parses_and_cleared_is_stored_as_null():
    mark = parse_mark(body(result="Cleared", comments="", currentUser="ana"))
    assert (mark.result, mark.stored_result, mark.current_user) == ("Cleared", None, "ana")
    assert parse_mark(body(result="Passed", comments="ok", currentUser="ana")).stored_result == "Passed"


@pytest.mark.parametrize(("raw", "needle"), [
    (b"", "empty body"),
    (b"{not json", "malformed JSON"),
    (b"\xff\xfe", "malformed JSON"),
    (b"[1, 2]", "JSON object"),
    (body(result="Passed"), "missing field(s): comments, currentUser"),
    (body(result="passed", comments="", currentUser="a"), "accepted: Passed, Failed, Cleared"),
    (body(result=None, comments="", currentUser="a"), "accepted: Passed, Failed, Cleared"),
    (body(result="Failed", comments=5, currentUser="a"), "comments must be a string"),
    (body(result="Failed", comments="x" * (MAX_COMMENTS + 1), currentUser="a"), f"at most {MAX_COMMENTS}"),
    (body(result="Failed", comments="", currentUser="  "), "currentUser"),
])
def test_bad_marks_are_refused_with_the_reason(raw, needle):
    with pytest.raises(BadRequest) as refused:
        parse_mark(raw)
    assert refused.value.status == 400
    assert needle in str(refused.value)
