"""Choosing the next cloud edit: pure, seeded, testable without a cloud."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

# add / edit / retire weights: mostly new points and description fixes, a few re-designations to SPARE
WEIGHTS = (("add", 5), ("edit", 4), ("retire", 1))


@dataclass(frozen=True)
class Edit:
    action: str
    io_id: int | None
    fields: dict[str, Any]


def choose_edit(rng: random.Random, op: int, known_ids: list[int], retirable_ids: list[int],
                subsystem_id: int) -> Edit:
    actions = [name for name, _ in WEIGHTS]
    weights = [weight for _, weight in WEIGHTS]
    action = rng.choices(actions, weights=weights)[0]
    if action == "retire" and not retirable_ids:
        action = "edit"
    if action == "edit" and not known_ids:
        action = "add"
    if action == "add":
        return Edit("add", None, {"subsystemId": subsystem_id, "name": f"MCM02_NEW_{op:04d}",
                                  "description": f"Added in cloud, mutation {op}",
                                  "tagName": f"MCM02_NEW_{op:04d}"})
    if action == "edit":
        io_id = rng.choice(known_ids)
        return Edit("edit", io_id, {"description": f"Edited in cloud, mutation {op}"})
    io_id = rng.choice(retirable_ids)
    return Edit("retire", io_id, {"isSpare": 1, "description": "SPARE"})


def edit_visible(io: dict[str, Any] | None, fields: dict[str, Any]) -> bool:
    """Whether a tool row shows every field of a cloud edit (the subsystem is routing, not content)."""
    if io is None:
        return False
    return all(str(io.get(key)) == str(value) for key, value in fields.items() if key != "subsystemId")
