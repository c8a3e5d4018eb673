"""The Logix symbol rules every generated tag must satisfy."""

from __future__ import annotations

import pytest

from seed.errors import SeedError
from seed.tagnames import MAX_TAG_LENGTH, check_tag_names, tag_name_problem


@pytest.mark.parametrize("name", ["CV012_RunFb", "MCM02_R01_S03_Fault", "A", "x9", "A" * MAX_TAG_LENGTH])
def test_valid_names(name: str) -> None:
    assert tag_name_problem(name) is None


@pytest.mark.parametrize(
    "name, problem",
    [
        ("", "empty"),
        ("1CV", "start with a letter"),
        ("_CV", "start with a letter"),
        ("CV-12", "only letters"),
        ("CV 12", "only letters"),
        ("CV.Run", "only letters"),
        ("CV__Run", "two underscores"),
        ("CV_", "ends with an underscore"),
        ("A" * (MAX_TAG_LENGTH + 1), "limit is 40"),
    ],
)
def test_invalid_names_say_why(name: str, problem: str) -> None:
    reason = tag_name_problem(name)
    assert reason is not None and problem in reason


def test_duplicates_are_found_case_insensitively() -> None:
    check_tag_names(["CV001_RunFb", "CV002_RunFb"])
    with pytest.raises(SeedError, match="duplicate PLC tag name 'cv001_runfb'"):
        check_tag_names(["CV001_RunFb", "cv001_runfb"])


def test_an_invalid_name_is_reported_with_its_reason() -> None:
    with pytest.raises(SeedError, match="'CV 1'.*only letters"):
        check_tag_names(["CV001_RunFb", "CV 1"])
