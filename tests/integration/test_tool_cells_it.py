# ruff: noqa: F811 - pytest fixtures imported from test_tool_support are parameters by design
"""The sheet cells end to end: real tool and cloud processes on loopback.

Without planted bugs a cell write reaches the cloud, a read-only column is refused,
an office edit reaches the field and a conflicting write converges. With
`cell_conflict_drop` the conflicting cell write is lost while IO marks still sync.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import requests
from test_tool_support import (  # noqa: F401 - fixtures are used by name
    API_KEY,
    Cloud,
    Tool,
    io_picker,
    start_cloud,
    start_tool,
    tool_seed_dir,
    wait_until,
)

from battle.adapters.base import SutEndpoints
from battle.adapters.reference import ReferenceAdapter


def seed_cells(seed_dir: Path) -> tuple[list[dict[str, Any]], set[int]]:
    doc = json.loads((seed_dir / "cloud_seed.json").read_text())
    editable = {c["id"] for c in doc["sheetColumns"] if c["editable"]}
    return doc["sheetCells"], editable


def write(tool: Tool, cell_id: int, value: str | None) -> requests.Response:
    return tool.session.put(f"{tool.url}/api/cells/{cell_id}", json={"value": value, "currentUser": "tester"},
                            timeout=30)


def cloud_cell(cloud: Cloud, cell_id: int) -> dict[str, Any]:
    return cloud._call("GET", f"/api/admin/cells/{cell_id}")


def local_cell(tool: Tool, cell_id: int) -> dict[str, Any]:
    return tool.session.get(f"{tool.url}/api/cells/{cell_id}", timeout=10).json()


def cloud_push(cloud: Cloud, cell_id: int, value: str, base: int) -> dict[str, Any]:
    """Another client's write straight into the cloud: the field's queued write will conflict with it."""
    response = requests.post(f"{cloud.url}/api/cells/push", headers={"X-API-Key": API_KEY}, timeout=10,
                             json={"items": [{"cellId": cell_id, "value": value, "baseVersion": base}]})
    response.raise_for_status()
    return response.json()["results"][0]


@pytest.fixture
def stack(tmp_path, tool_seed_dir):
    started: list[Any] = []

    def start(bugs: str = "", **env: str) -> tuple[Tool, Cloud]:
        cloud = start_cloud(tmp_path / f"cloud{len(started)}", tool_seed_dir)
        started.append(cloud)
        tool = start_tool(tmp_path / f"tool{len(started)}", tool_seed_dir, cloud=cloud, bugs=bugs, **env)
        started.append(tool)
        return tool, cloud

    yield start
    for service in reversed(started):
        service.service.stop()


def test_a_cell_write_syncs_a_read_only_column_is_refused_and_an_office_edit_reaches_the_field(
        stack, tool_seed_dir) -> None:
    tool, cloud = stack()
    cells, editable = seed_cells(tool_seed_dir)
    open_cell = next(c for c in cells if c["columnId"] in editable)
    locked = next(c for c in cells if c["columnId"] not in editable)
    listed = tool.session.get(f"{tool.url}/api/cells", timeout=10).json()["cells"]
    assert len(listed) == len(cells)

    refused = write(tool, locked["id"], "forged")
    assert refused.status_code == 403 and "read-only" in refused.json()["error"]

    assert write(tool, open_cell["id"], "Yes").status_code == 200
    wait_until(lambda: cloud_cell(cloud, open_cell["id"])["value"] == "Yes", what="the cell in the cloud")
    pushed = tool.service.wait_event("sync.pushed", lambda e: e.get("recordKind") == "cell")
    assert pushed["appliedItems"][0]["cellId"] == open_cell["id"]

    assert write(tool, open_cell["id"], "").status_code == 200  # empty: NULL, like a Cleared result
    wait_until(lambda: cloud_cell(cloud, open_cell["id"])["value"] is None, what="the emptied cell in the cloud")

    other = next(c for c in cells if c["columnId"] in editable and c["id"] != open_cell["id"])
    cloud._call("PATCH", f"/api/admin/cells/{other['id']}", json={"value": "N/A"})
    wait_until(lambda: local_cell(tool, other["id"])["value"] == "N/A", what="the office edit in the field")


def conflicting_write(tool: Tool, cloud: Cloud, cell: dict[str, Any]) -> None:
    """Write a cell in the field, then the same cell in the cloud before the tool's next push."""
    assert write(tool, cell["id"], "No").status_code == 200
    applied = cloud_push(cloud, cell["id"], "Yes", cloud_cell(cloud, cell["id"])["version"])
    assert applied["status"] == "applied", applied


@pytest.mark.parametrize("bug", [False, True], ids=["bug-off", "bug-on"])
def test_a_conflicting_cell_write_converges_unless_cell_conflict_drop_loses_it(
        stack, tool_seed_dir, io_picker, bug) -> None:
    # A long push interval opens the window for the office's write between the field's write and its push.
    tool, cloud = stack("cell_conflict_drop" if bug else "", TOOL_PUSH_INTERVAL_S="3")
    cells, editable = seed_cells(tool_seed_dir)
    cell = [c for c in cells if c["columnId"] in editable][5]
    io_id = io_picker.take()
    conflicting_write(tool, cloud, cell)
    assert tool.mark(io_id, "Failed", "wired to wrong terminal").status_code == 200

    wait_until(lambda: cloud.io(io_id)["comments"] == "wired to wrong terminal", timeout=30,
               what="the IO mark in the cloud")  # IO marks sync either way
    if not bug:
        wait_until(lambda: cloud_cell(cloud, cell["id"])["value"] == "No", timeout=30,
                   what="the field's cell value winning after a rebase")
        wait_until(lambda: local_cell(tool, cell["id"])["pending"] is None, timeout=30, what="the outbox row gone")
        assert tool.service.wait_event("sync.pushed", lambda e: e.get("recordKind") == "cell" and e["conflicts"])
        assert local_cell(tool, cell["id"])["version"] == cloud_cell(cloud, cell["id"])["version"]
        return
    dropped = tool.service.wait_event("sync.dropped", lambda e: e.get("recordKind") == "cell", timeout=30)
    assert dropped["cellId"] == cell["id"] and dropped["kind"] == "conflict"
    assert cloud_cell(cloud, cell["id"])["value"] == "Yes"  # the field's "No" never reaches the cloud
    assert local_cell(tool, cell["id"])["pending"] is None and local_cell(tool, cell["id"])["value"] == "No"
    assert not [e for e in tool.service.named("sync.dropped") if "ioId" in e]


def test_the_reference_adapter_drives_cells_and_sees_both_sides_agree(stack) -> None:
    tool, cloud = stack()
    adapter = ReferenceAdapter(SutEndpoints(tool.url, cloud.url, API_KEY), with_cells=True)
    cells = adapter.record_kinds()["cell"]
    target = cells.list_targets()[3]
    bot = cells.bot_write(random.Random(1), target, "bot0")
    answer = tool.session.request(bot.method, tool.url + bot.path, json=dict(bot.body), timeout=10)
    assert cells.classify_status(answer.status_code) == "ok"

    def agree() -> bool:
        local = {c["id"]: cells.compared_value(c) for c in cells.local_snapshot()}
        return local == {c["id"]: cells.compared_value(c) for c in cells.cloud_snapshot()}

    wait_until(agree, timeout=30, what="the tool's and the cloud's cells to agree")
    assert adapter.queue_state().active == 0
