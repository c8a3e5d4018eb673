"""Who writes what: partitioned single writers plus a shared hot set.

Every judged target has exactly one writer (`target % bots == bot`), so the
bot's append order is the one true order of writes to it. The hot set is
shared by every bot for contention and is never judged for loss.

A target is a (record kind, id): each kind is partitioned on its own ids, so a bot
owns IO 7 and cell 7 alike when both fall to it. The hot set is the first kind's
only (the contention the hot set exists for is on the IO marks).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from battle.adapters.base import RecordTarget


@dataclass(frozen=True)
class Assignment:
    own: tuple[RecordTarget, ...]
    hot: tuple[RecordTarget, ...]


HOT_SET_SIZE = 16


def choose_hot_set(targets: list[RecordTarget], fraction: float, seed: int) -> frozenset[int]:
    """A small seeded set of record ids shared by all bots (none when no write goes hot).

    `fraction` is the share of writes that go to the hot set, not its size:
    contention needs few targets hit often.
    """
    if fraction <= 0 or not targets:
        return frozenset()
    size = max(1, min(HOT_SET_SIZE, len(targets) // 10))
    picker = random.Random(f"{seed}:hot")
    return frozenset(t.id for t in picker.sample(sorted(targets, key=lambda t: t.id), size))


def assign(targets: list[RecordTarget], bot: int, bots: int, hot_ids: frozenset[int]) -> Assignment:
    own = tuple(t for t in targets if t.id not in hot_ids and t.id % bots == bot)
    hot = tuple(t for t in targets if t.id in hot_ids)
    return Assignment(own=own, hot=hot)


def assign_kinds(targets: Mapping[str, list[RecordTarget]], bot: int, bots: int,
                 hot_ids: frozenset[int]) -> dict[str, Assignment]:
    """Each record kind's share of one bot (kinds in the adapter's order; the hot set applies to the first)."""
    first = next(iter(targets), None)
    return {kind: assign(each, bot, bots, hot_ids if kind == first else frozenset())
            for kind, each in targets.items()}
