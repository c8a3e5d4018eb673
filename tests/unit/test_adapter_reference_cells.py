"""The reference adapter's second kind, `cell`: targets, bot writes, snapshots, normalisation, and its switch."""

from __future__ import annotations

import random
from typing import Any

import pytest

from battle.adapters.base import AdapterError, SutEndpoints
from battle.adapters.reference import ReferenceAdapter
from battle.adapters.reference_cells import CellKind, norm_value
from battle.adapters.reference_http import HttpReader

CELLS = [{"id": 1, "device": "CV001_RunFb", "columnId": 1, "columnName": "Installed", "editable": 1,
          "value": None, "version": 1},
         {"id": 2, "device": "CV001_RunFb", "columnId": 5, "columnName": "Checks complete", "editable": 0,
          "value": "1/4", "version": 2},
         {"id": 3, "device": "CV001_RunFb", "columnId": 4, "columnName": "Witnessed by", "editable": 1,
          "value": "A. Novak", "version": 2}]


class FakeReader(HttpReader):
    """The real reader's parsing with canned answers instead of HTTP."""

    def __init__(self, answers: dict[str, Any]) -> None:
        super().__init__("http://cloud", "key", 1.0)
        self.answers = answers
        self.asked: list[tuple[str, dict[str, Any]]] = []

    def get_json(self, url: str, **params: Any) -> Any:
        self.asked.append((url, params))
        return self.answers[url]


def kind(answers: dict[str, Any]) -> CellKind:
    return CellKind("http://tool", "http://cloud", FakeReader(answers), 38)


def test_targets_are_the_editable_cells_only() -> None:
    targets = kind({"http://tool/api/cells": {"cells": CELLS}}).list_targets()
    assert [(t.kind, t.id) for t in targets] == [("cell", 1), ("cell", 3)]
    assert targets[1].traits["columnName"] == "Witnessed by"


def test_a_bot_write_is_a_put_of_one_cell_drawn_from_the_rng_only() -> None:
    cells = kind({"http://tool/api/cells": {"cells": CELLS}})
    target = cells.list_targets()[1]
    first = cells.bot_write(random.Random(7), target, "bot3")
    assert first == cells.bot_write(random.Random(7), target, "bot3")
    assert (first.method, first.path) == ("PUT", "/api/cells/3")
    assert first.body["currentUser"] == "bot3" and first.body["value"] in ("bot3", "")
    values = {cells.bot_write(random.Random(n), cells.list_targets()[0], "b").body["value"] for n in range(200)}
    assert values == {"Yes", "No", "N/A", ""}


def test_snapshots_read_the_tool_and_the_cloud_and_complain_about_other_answers() -> None:
    cells = kind({"http://tool/api/cells": {"cells": CELLS}, "http://cloud/api/cells/pull": {"cells": CELLS[:1]},
                  "http://broken/api/cells": {"ios": []}})
    assert len(cells.local_snapshot()) == 3 and len(cells.cloud_snapshot()) == 1
    cells.tool_url = "http://broken"
    with pytest.raises(AdapterError, match="cells"):
        cells.local_snapshot()


def test_an_empty_cell_is_null_however_it_was_sent() -> None:
    assert norm_value("") is None and norm_value(None) is None and norm_value("Yes") == "Yes"
    cells = kind({})
    assert cells.compared_value({"value": ""}) == cells.compared_value({"value": None})


def test_the_reference_adapter_declares_cells_but_lists_them_only_when_switched_on() -> None:
    endpoints = SutEndpoints("http://tool", "http://cloud", "key")
    assert list(ReferenceAdapter(endpoints).record_kinds()) == ["io"]
    assert list(ReferenceAdapter(endpoints).all_kinds()) == ["io", "cell"]
    assert list(ReferenceAdapter(endpoints, with_cells=True).record_kinds()) == ["io", "cell"]
    assert ReferenceAdapter(endpoints).primary_kind().name == "io"
