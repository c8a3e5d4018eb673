"""The reference tool's one record kind, `io`: an IO check mark (result and comments) per IO point."""

from __future__ import annotations

import random
from typing import Any

from battle.adapters.base import (
    BotWrite,
    Outcome,
    RecordKind,
    RecordTarget,
    classify_http_status,
)
from battle.adapters.reference_http import HttpReader

IO_KIND = "io"
IO_LIST_ROUTE = "/api/ios"  # tool: GET ?subsystemId= lists, PUT /api/ios/{id} marks
CLOUD_PULL_ROUTE = "/api/sync/pull"  # cloud: GET ?subsystemId= is every IO as the cloud holds it
FAILED_COMMENTS = (
    "no feedback at IO card",
    "wiring swapped at terminal strip",
    "device not powered",
    "wrong address on module",
    "intermittent signal, recheck",
    "loose terminal, see ticket #4411",
    "label missing, punch list #27",
)


def choose_result(rng: random.Random, is_spare: bool) -> str:
    """About 75/20/5 Passed/Failed/Cleared; a SPARE is never marked Passed."""
    roll = rng.random()
    if roll < 0.75:
        return "Failed" if is_spare else "Passed"
    if roll < 0.95:
        return "Failed"
    return "Cleared"


def norm_result(value: Any) -> str | None:
    """`Cleared` is stored as NULL, so the two are the same value."""
    if value is None or value == "" or value == "Cleared":
        return None
    return str(value)


class IoKind(RecordKind):
    name = IO_KIND
    compared_fields = ("result", "comments")

    def __init__(self, tool_url: str, cloud_url: str, reader: HttpReader, subsystem_id: int) -> None:
        self.tool_url = tool_url
        self.cloud_url = cloud_url
        self.reader = reader
        self.subsystem_id = subsystem_id

    def list_targets(self) -> list[RecordTarget]:
        return sorted((RecordTarget(IO_KIND, int(io["id"]), {"isSpare": bool(io.get("isSpare"))})
                       for io in self.local_snapshot()), key=lambda t: t.id)

    def bot_write(self, rng: random.Random, target: RecordTarget, user: str) -> BotWrite:
        result = choose_result(rng, bool(target.traits.get("isSpare")))
        comments = rng.choice(FAILED_COMMENTS) if result == "Failed" else ""
        value = {"result": result, "comments": comments, "currentUser": user}
        return BotWrite(method="PUT", path=f"{IO_LIST_ROUTE}/{target.id}", body=value, value=value)

    def classify_status(self, status: int) -> Outcome:
        return classify_http_status(status)

    def local_snapshot(self) -> list[dict[str, Any]]:
        return self._ios(f"{self.tool_url}{IO_LIST_ROUTE}")

    def cloud_snapshot(self) -> list[dict[str, Any]]:
        return self._ios(f"{self.cloud_url}{CLOUD_PULL_ROUTE}")

    def _ios(self, url: str) -> list[dict[str, Any]]:
        return self.reader.get_list(url, "ios", subsystemId=self.subsystem_id)

    def normalise(self, field_name: str, value: Any) -> Any:
        if field_name == "result":
            return norm_result(value)
        if field_name == "comments":
            return "" if value is None else str(value)
        return value
