"""The adapter for the reference system under test (`sut/`): the tool, its cloud and the PLC simulator.

It is also the worked example of `SutAdapter`: routes live in reference_io.py and reference_cloud.py,
the event names in reference_events.py, the local launch in reference_launch.py.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from battle.adapters.base import (
    AdapterError,
    CloudEdit,
    CloudEditResult,
    LaunchContext,
    LocalService,
    QueueState,
    RecordKind,
    SutAdapter,
    SutEndpoints,
)
from battle.adapters.events import RECORD_KIND_FIELD, EventVocabulary
from battle.adapters.plc import TagExpectations, load_tag_expectations
from battle.adapters.reference_cells import CELL_KIND, CellKind
from battle.adapters.reference_cloud import CloudEditor, edit_visible
from battle.adapters.reference_events import REFERENCE_VOCABULARY
from battle.adapters.reference_http import HttpReader
from battle.adapters.reference_io import IO_KIND, IoKind
from battle.adapters.reference_launch import HEALTH_ROUTE, reference_services, reference_setup

__all__ = ["AdapterError", "ReferenceAdapter"]

QUEUE_ROUTE = "/api/sync/queue"  # tool: {"active", "parked", "parkedRows": [{"ioId", ...}]}
CELL_QUEUE_ROUTE = "/api/cells/queue"  # tool: the sheet cells' outbox, same shape with cellId
PLC_TAGS_FILE = "plc_tags.json"  # in the seed directory


class ReferenceAdapter(SutAdapter):
    name = "reference"

    def __init__(self, endpoints: SutEndpoints, subsystem_id: int = 38, timeout_s: float = 20.0,
                 with_cells: bool = False) -> None:
        super().__init__(endpoints)
        # Sheet cells are declared (`all_kinds`) but written and judged only when switched on: until the
        # judges judge every kind, a run with cells would be judged on IOs alone.
        self.with_cells = with_cells
        self.tool_url = endpoints.tool_url
        self.cloud_url = endpoints.cloud_url
        self.reader = HttpReader(endpoints.cloud_url, endpoints.cloud_api_key, timeout_s)
        self.io = IoKind(endpoints.tool_url, endpoints.cloud_url, self.reader, subsystem_id)
        self.cell = CellKind(endpoints.tool_url, endpoints.cloud_url, self.reader, subsystem_id)
        self.editor = CloudEditor(endpoints.cloud_url, endpoints.cloud_api_key, subsystem_id, timeout_s)

    def all_kinds(self) -> Mapping[str, RecordKind]:
        """Every kind the reference tool syncs, switched on or not."""
        return {IO_KIND: self.io, CELL_KIND: self.cell}

    def record_kinds(self) -> Mapping[str, RecordKind]:
        return self.all_kinds() if self.with_cells else {IO_KIND: self.io}

    def tool_healthy(self) -> bool:
        return self.reader.answers_200(self.tool_health_url())

    def cloud_healthy(self) -> bool:
        return self.reader.answers_200(f"{self.cloud_url}{HEALTH_ROUTE}")

    def tool_health_url(self) -> str:
        return f"{self.tool_url}{HEALTH_ROUTE}"

    def queue_state(self) -> QueueState:
        ios = self._queue(QUEUE_ROUTE, "ioId")
        if not self.with_cells:
            return ios
        # Settling waits for both outboxes. A parked cell row is named as battle names a record: `ioId` (its
        # id) and `recordKind`; its `kind` stays why it was parked.
        cells = self._queue(CELL_QUEUE_ROUTE, "cellId")
        cell_rows = tuple({"ioId": row.get("cellId"), RECORD_KIND_FIELD: CELL_KIND,
                           **{k: v for k, v in row.items() if k != "cellId"}} for row in cells.parked_rows)
        return QueueState(active=ios.active + cells.active, parked=ios.parked + cells.parked,
                          parked_ids=ios.parked_ids, parked_rows=ios.parked_rows + cell_rows,
                          parked_targets=tuple((IO_KIND, i) for i in ios.parked_ids)
                          + tuple((CELL_KIND, i) for i in cells.parked_ids))

    def _queue(self, route: str, id_field: str) -> QueueState:
        url = f"{self.tool_url}{route}"
        state = self.reader.get_json(url)
        try:
            rows = tuple(state.get("parkedRows", []))
            return QueueState(active=int(state["active"]), parked=int(state["parked"]),
                              parked_ids=tuple(int(row[id_field]) for row in rows), parked_rows=rows)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise AdapterError(f"GET {url} answered a queue state without {exc}: {str(state)[:200]}") from exc

    def choose_cloud_edit(self, rng: random.Random, op: int) -> CloudEdit:
        return self.editor.choose(rng, op)

    def apply_cloud_edit(self, edit: CloudEdit) -> CloudEditResult:
        return self.editor.apply(edit)

    def edit_visible(self, local_record: Mapping[str, Any] | None, edit_fields: Mapping[str, Any]) -> bool:
        return edit_visible(local_record, edit_fields)

    def tag_expectations(self, seed_dir: Path) -> TagExpectations:
        return load_tag_expectations(seed_dir / PLC_TAGS_FILE)

    @classmethod
    def vocabulary(cls) -> EventVocabulary:
        return REFERENCE_VOCABULARY

    @classmethod
    def local_services(cls, context: LaunchContext) -> Sequence[LocalService]:
        return reference_services(context)

    @classmethod
    def local_setup(cls, context: LaunchContext) -> Sequence[tuple[str, ...]]:
        return reference_setup(context)
