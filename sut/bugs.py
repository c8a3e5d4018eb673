"""The planted bugs of the reference system under test (`BATTLE_SUT_BUGS`), parsed in one place."""

from __future__ import annotations

KNOWN_BUGS = ("stall", "leak", "no_restore", "clobber", "drop_429", "crash", "conflict_drop", "parked_gate",
              "lose_comment", "cell_conflict_drop")


class UnknownBugError(ValueError):
    """BATTLE_SUT_BUGS names a bug that does not exist; the message lists the accepted names."""

    def __init__(self, unknown: list[str]) -> None:
        super().__init__(
            f"BATTLE_SUT_BUGS names unknown bug(s) {', '.join(repr(u) for u in unknown)}; "
            f"accepted: a comma list of {', '.join(KNOWN_BUGS)} (or empty for none)"
        )
        self.unknown = tuple(unknown)


def parse_bugs(text: str | None) -> frozenset[str]:
    """`"stall, leak"` -> frozenset({"stall", "leak"}). Empty or None means no bugs. Case and spaces are ignored."""
    names = [part.strip().lower() for part in (text or "").split(",")]
    names = [n for n in names if n]
    unknown = [n for n in dict.fromkeys(names) if n not in KNOWN_BUGS]
    if unknown:
        raise UnknownBugError(unknown)
    return frozenset(names)
