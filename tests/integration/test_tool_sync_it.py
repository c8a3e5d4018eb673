"""Push and pull through the real tool against the real cloud, on loopback."""
# ruff: noqa: F811 - pytest fixtures imported from test_tool_support are parameters by design

from __future__ import annotations

import time

import pytest
from test_tool_support import (  # noqa: F401 - fixtures are used by name
    io_picker,
    start_cloud,
    start_tool,
    tool_seed_dir,
    wait_until,
)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, tool_seed_dir):
    cloud = start_cloud(tmp_path_factory.mktemp("cloud-sync"), tool_seed_dir)
    yield cloud
    cloud.service.stop()


@pytest.fixture
def make_tool(tmp_path, tool_seed_dir, cloud):
    tools = []

    def make(**kwargs):
        tool = start_tool(tmp_path / f"tool{len(tools)}", tool_seed_dir, cloud=cloud, **kwargs)
        tools.append(tool)
        return tool

    yield make
    for tool in tools:
        tool.service.stop()


def test_applied_push_reaches_the_cloud_and_clears_the_row(make_tool, cloud, io_picker):
    tool = make_tool()
    io_id = io_picker.take()
    before = cloud.io(io_id)["version"]
    response = tool.mark(io_id, "Failed", "no 24V at terminal")
    assert response.status_code == 200 and response.json()["pending"] == "active"
    wait_until(lambda: cloud.io(io_id)["comments"] == "no 24V at terminal", what="the mark in the cloud")
    remote = cloud.io(io_id)
    assert (remote["result"], remote["version"]) == ("Failed", before + 1)
    wait_until(lambda: tool.io(io_id)["pending"] is None, what="the outbox row to go")
    assert tool.io(io_id)["version"] == remote["version"]
    assert tool.outbox_row(io_id) is None


def test_conflict_is_rebased_and_applied(make_tool, cloud, io_picker):
    tool = make_tool(TOOL_PULL_INTERVAL_S="3600")  # no pull may refresh the local version first
    io_id = io_picker.take()
    edited = cloud.patch(io_id, comments="edited in the office")  # the cloud moves ahead
    assert tool.io(io_id)["version"] == edited["version"] - 1
    tool.mark(io_id, "Passed", "checked in the field")
    wait_until(lambda: cloud.io(io_id)["comments"] == "checked in the field", what="the rebased push")
    remote = cloud.io(io_id)
    assert (remote["result"], remote["version"]) == ("Passed", edited["version"] + 1)
    pushes = tool.service.named("sync.pushed")
    assert any(e["conflicts"] >= 1 for e in pushes) and any(e["applied"] >= 1 for e in pushes)
    wait_until(lambda: tool.outbox_row(io_id) is None, what="the row to go")
    assert not tool.service.named("sync.parked") and not tool.service.named("sync.dropped")


def applied_items(tool, since=0):
    """Every item the tool's `sync.pushed` events say the cloud applied, in order."""
    return [item for e in tool.service.named("sync.pushed")[since:] for item in e["appliedItems"]]


def test_pushed_events_name_what_the_cloud_applied(make_tool, cloud, io_picker):
    tool = make_tool(TOOL_PULL_INTERVAL_S="3600")  # no pull may refresh the stale IO's version first
    fresh, stale, spare = io_picker.take(), io_picker.take(), io_picker.take(spare=True)
    edited = cloud.patch(stale, comments="edited in the office")  # the field's copy is one version behind
    tool.mark(fresh, "Failed", "no 24V at terminal X2")
    tool.mark(stale, "Passed", "checked in the field")
    tool.mark(spare, "Passed", "looks fine")  # the cloud refuses it: SPARE cannot be Passed
    tool.service.wait_event("sync.parked", lambda e: e["ioId"] == spare)
    wait_until(lambda: {i["ioId"] for i in applied_items(tool)} >= {fresh, stale}, what="both applied")
    pushes = tool.service.named("sync.pushed")
    assert all(len(e["appliedItems"]) == e["applied"] for e in pushes)
    assert any(e["conflicts"] for e in pushes) and any(e["rejected"] for e in pushes)
    # The conflicting first attempt and the rejected spare are never named as applied.
    assert all(stale not in {i["ioId"] for i in e["appliedItems"]} for e in pushes if e["conflicts"])
    assert spare not in {i["ioId"] for i in applied_items(tool)}
    named = {i["ioId"]: i for i in applied_items(tool)}
    for io_id, result, comments in ((fresh, "Failed", "no 24V at terminal X2"),
                                    (stale, "Passed", "checked in the field")):
        remote = cloud.io(io_id)
        assert named[io_id] == {"ioId": io_id, "version": remote["version"], "result": result, "comments": comments}
        assert (remote["result"], remote["comments"]) == (result, comments)
    assert named[stale]["version"] == edited["version"] + 1  # applied on the rebased try


def test_business_rejection_parks_and_keeps_the_row(make_tool, cloud, io_picker):
    tool = make_tool()
    spare = io_picker.take(spare=True)
    tool.mark(spare, "Passed", "looks fine")
    parked = tool.service.wait_event("sync.parked", lambda e: e["ioId"] == spare)
    assert parked["kind"] == "business" and "SPARE" in parked["reason"]
    queue = tool.queue()
    assert {"ioId": spare, "reason": parked["reason"], "kind": "business"} in queue["parkedRows"]
    assert queue["active"] == 0
    row = tool.outbox_row(spare)
    assert row is not None and row["DeadLettered"] == 1 and row["parkedReason"] == parked["reason"]
    assert (row["result"], row["comments"]) == ("Passed", "looks fine")
    local = tool.io(spare)
    assert (local["result"], local["pending"]) == ("Passed", "parked")
    assert cloud.io(spare)["result"] is None
    time.sleep(1.0)  # several push cycles: a parked row is neither retried nor dropped
    assert tool.outbox_row(spare)["DeadLettered"] == 1 and not tool.service.named("sync.dropped")


def test_pull_gate_ignores_parked_rows(make_tool, cloud, io_picker):
    tool = make_tool()
    spare, other = io_picker.take(spare=True), io_picker.take()
    tool.mark(spare, "Passed", "")
    tool.service.wait_event("sync.parked", lambda e: e["ioId"] == spare)
    cloud.patch(other, description="renamed in the office")
    wait_until(lambda: tool.io(other)["description"] == "renamed in the office", timeout=10,
               what="the cloud edit to be pulled despite a parked row")


def test_pull_gate_closed_while_an_active_row_waits(make_tool, cloud, io_picker):
    tool = make_tool(TOOL_PUSH_INTERVAL_S="3600")  # the row stays active: nothing pushes it
    waiting, other = io_picker.take(), io_picker.take()
    tool.mark(waiting, "Passed", "")
    cloud.patch(other, description="edited while the field has work queued")
    time.sleep(2.0)  # more than six pull intervals
    assert tool.io(other)["description"] != "edited while the field has work queued"
    assert tool.queue()["active"] == 1


def test_pull_never_overwrites_an_unsynced_local_value(make_tool, cloud, io_picker):
    tool = make_tool()
    spare = io_picker.take(spare=True)
    tool.mark(spare, "Passed", "field note")  # parked by the cloud: unsynced for good, gate stays open
    tool.service.wait_event("sync.parked", lambda e: e["ioId"] == spare)
    cloud.patch(spare, comments="office note", description="SPARE (reserved)")
    wait_until(lambda: tool.io(spare)["description"] == "SPARE (reserved)", what="the metadata to be pulled")
    local = tool.io(spare)
    assert (local["result"], local["comments"], local["pending"]) == ("Passed", "field note", "parked")


def test_cloud_adds_reach_the_field(make_tool, cloud):
    tool = make_tool()
    response = cloud.session.post(f"{cloud.url}/api/admin/ios", json={
        "subsystemId": 38, "name": "MCM02_DI_9001", "description": "added in the office", "tagName": "T9001"},
        timeout=10)
    assert response.status_code == 201
    new_id = response.json()["id"]
    wait_until(lambda: tool.session.get(f"{tool.url}/api/ios/{new_id}", timeout=5).status_code == 200,
               what="the added IO locally")
    assert tool.io(new_id)["description"] == "added in the office"
