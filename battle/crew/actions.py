"""Bot actions, registered by name. An action decides a request; the bot sends and journals it."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from battle.crew.targets import Target

FAILED_COMMENTS = (
    "no feedback at IO card",
    "wiring swapped at terminal strip",
    "device not powered",
    "wrong address on module",
    "intermittent signal, recheck",
    "loose terminal, see ticket #4411",
    "label missing, punch list #27",
)


@dataclass(frozen=True)
class Request:
    action: str
    method: str
    path: str
    target: int
    value: dict[str, Any]


ActionFn = Callable[[random.Random, Target, str], Request]
ACTIONS: dict[str, ActionFn] = {}


def register(name: str) -> Callable[[ActionFn], ActionFn]:
    def decorate(fn: ActionFn) -> ActionFn:
        ACTIONS[name] = fn
        return fn

    return decorate


def choose_result(rng: random.Random, is_spare: bool) -> str:
    """About 75/20/5 Passed/Failed/Cleared; a SPARE is never marked Passed."""
    roll = rng.random()
    if roll < 0.75:
        return "Failed" if is_spare else "Passed"
    if roll < 0.95:
        return "Failed"
    return "Cleared"


@register("mark")
def mark(rng: random.Random, target: Target, user: str) -> Request:
    result = choose_result(rng, target.is_spare)
    comments = rng.choice(FAILED_COMMENTS) if result == "Failed" else ""
    return Request(
        action="mark",
        method="PUT",
        path=f"/api/ios/{target.io_id}",
        target=target.io_id,
        value={"result": result, "comments": comments, "currentUser": user},
    )
