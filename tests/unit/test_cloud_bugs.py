"""Parsing BATTLE_SUT_BUGS (sut/bugs.py), shared by the tool and the cloud."""

from __future__ import annotations

import pytest

from sut.bugs import KNOWN_BUGS, UnknownBugError, parse_bugs


@pytest.mark.parametrize("text", [None, "", " ", ",", " , ,"])
def test_empty_means_no_bugs(text: str | None) -> None:
    assert parse_bugs(text) == frozenset()


def test_comma_list_with_spaces_case_and_repeats() -> None:
    assert parse_bugs(" stall, Drop_429 ,stall,") == frozenset({"stall", "drop_429"})


def test_every_known_bug_parses() -> None:
    assert parse_bugs(",".join(KNOWN_BUGS)) == frozenset(KNOWN_BUGS)
    assert len(KNOWN_BUGS) == 10


def test_unknown_bug_is_a_value_error_naming_it_and_listing_the_accepted() -> None:
    with pytest.raises(UnknownBugError) as caught:
        parse_bugs("stall,stal,leek")
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert "'stal'" in message and "'leek'" in message and "'stall'" not in message
    for name in KNOWN_BUGS:
        assert name in message
    assert caught.value.unknown == ("stal", "leek")
