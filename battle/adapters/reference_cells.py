"""The reference tool's second record kind, `cell`: a functional-validation sheet cell (device x column).

Only cells of editable columns are targets: the tool refuses a write to a read-only
column (a computed tally, a sign-off) with 403, so a bot writing one would only
measure the refusal. An empty cell is NULL whether it was sent as "" or null.
"""

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

CELL_KIND = "cell"
CELL_LIST_ROUTE = "/api/cells"  # tool: GET ?subsystemId= lists, PUT /api/cells/{id} writes one cell
CLOUD_CELL_PULL_ROUTE = "/api/cells/pull"  # cloud: GET ?subsystemId= is every cell as the cloud holds it
CELL_VALUES = ("Yes", "No", "N/A")
WITNESS_COLUMN = "Witnessed by"


def choose_value(rng: random.Random, column_name: str, user: str) -> str:
    """Mostly a filled cell; about one in twenty is emptied (""), the sheet's Cleared."""
    if rng.random() < 0.05:
        return ""
    return user if column_name == WITNESS_COLUMN else rng.choice(CELL_VALUES)


def norm_value(value: Any) -> str | None:
    """An empty cell is NULL, however it was sent."""
    return None if value is None or value == "" else str(value)


class CellKind(RecordKind):
    name = CELL_KIND
    compared_fields = ("value",)

    def __init__(self, tool_url: str, cloud_url: str, reader: HttpReader, subsystem_id: int) -> None:
        self.tool_url = tool_url
        self.cloud_url = cloud_url
        self.reader = reader
        self.subsystem_id = subsystem_id

    def list_targets(self) -> list[RecordTarget]:
        return sorted((RecordTarget(CELL_KIND, int(cell["id"]), {"columnName": cell.get("columnName"),
                                                                 "device": cell.get("device")})
                       for cell in self.local_snapshot() if cell.get("editable")), key=lambda t: t.id)

    def bot_write(self, rng: random.Random, target: RecordTarget, user: str) -> BotWrite:
        value = {"value": choose_value(rng, str(target.traits.get("columnName") or ""), user), "currentUser": user}
        return BotWrite(method="PUT", path=f"{CELL_LIST_ROUTE}/{target.id}", body=value, value=value)

    def classify_status(self, status: int) -> Outcome:
        return classify_http_status(status)

    def local_snapshot(self) -> list[dict[str, Any]]:
        return self._cells(f"{self.tool_url}{CELL_LIST_ROUTE}")

    def cloud_snapshot(self) -> list[dict[str, Any]]:
        return self._cells(f"{self.cloud_url}{CLOUD_CELL_PULL_ROUTE}")

    def _cells(self, url: str) -> list[dict[str, Any]]:
        return self.reader.get_list(url, "cells", subsystemId=self.subsystem_id)

    def normalise(self, field_name: str, value: Any) -> Any:
        return norm_value(value) if field_name == "value" else value
