"""Rules for Logix/CIP symbol names, so every generated PLC tag is one a real controller accepts."""

from __future__ import annotations

import re
from collections.abc import Iterable

from seed.errors import SeedError

MAX_TAG_LENGTH = 40

_SYMBOL = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def tag_name_problem(name: str) -> str | None:
    """Why `name` is not a valid controller-scope tag name, or None when it is."""
    if not name:
        return "empty"
    if len(name) > MAX_TAG_LENGTH:
        return f"{len(name)} characters, the limit is {MAX_TAG_LENGTH}"
    if not _SYMBOL.fullmatch(name):
        return "must start with a letter and hold only letters, digits and underscores"
    # Logix rejects these even though the character set allows them.
    if "__" in name:
        return "two underscores in a row"
    if name.endswith("_"):
        return "ends with an underscore"
    return None


def check_tag_names(names: Iterable[str]) -> None:
    """Raise SeedError on the first invalid or duplicate name.

    Logix tag names are case-insensitive, so duplicates are found case-folded.
    """
    seen: dict[str, str] = {}
    for name in names:
        problem = tag_name_problem(name)
        if problem:
            raise SeedError(f"invalid PLC tag name {name!r}: {problem}; hint: fix the name template in seed/")
        folded = name.casefold()
        if folded in seen:
            raise SeedError(
                f"duplicate PLC tag name {name!r} (clashes with {seen[folded]!r}, names are case-insensitive); "
                "hint: two devices or signals share a name template in seed/"
            )
        seen[folded] = name
