"""The PLC worker over real CIP: the VFD flags come back after the simulator restarts (a download)."""
# ruff: noqa: F811 - pytest fixtures imported from test_tool_support are parameters by design

from __future__ import annotations

import json

import pytest
from pylogix import PLC
from test_tool_support import start_plcsim, start_tool, tool_seed_dir  # noqa: F401 - fixture by name


def expected_flags(seed_dir):
    tags = json.loads((seed_dir / "plc_tags.json").read_text())["tags"]
    return {t["name"]: t["expected"] for t in tags if t["kind"] == "vfd_flag"}


def read_flags(port, names):
    with PLC("127.0.0.1", port=port, timeout=5.0) as plc:
        responses = plc.Read(list(names))
    assert all(r.Status == "Success" for r in responses), [r for r in responses if r.Status != "Success"][:3]
    return {r.TagName: int(r.Value) for r in responses}


@pytest.fixture
def services(tmp_path):
    started = []
    yield started
    for service in reversed(started):
        service.stop()


def test_flags_are_written_back_after_the_simulator_restarts(tmp_path, tool_seed_dir, services):
    expected = expected_flags(tool_seed_dir)
    plc, port = start_plcsim(tmp_path / "plc", tool_seed_dir)
    services.append(plc)
    tool = start_tool(tmp_path / "tool", tool_seed_dir, plc_port=port)
    services.append(tool.service)
    first = tool.service.wait_event("plc.restore", timeout=30)
    assert (first["written"], first["failed"]) == (len(expected), 0)
    assert read_flags(port, expected) == expected

    # A reset the link survives (someone zeroes a flag): the heartbeat notices and restores.
    map_tag = sorted(name for name in expected if name.endswith("_Map"))[0]
    since = tool.service.mark()
    with PLC("127.0.0.1", port=port, timeout=5.0) as other_client:
        assert other_client.Write(map_tag, 0).Status == "Success"
    healed = tool.service.wait_event("plc.restore", after=since)
    assert healed["reason"] == "reset seen by heartbeat" and healed["written"] == len(expected)
    assert read_flags(port, [map_tag]) == {map_tag: expected[map_tag]}

    since = tool.service.mark()
    plc.stop()
    tool.service.wait_event("plc.disconnected", after=since)
    assert tool.session.get(f"{tool.url}/api/plc", timeout=5).json()["connected"] is False
    plc, _ = start_plcsim(tmp_path / "plc", tool_seed_dir, port=port)  # a download: every tag back to 0
    services.append(plc)
    tool.service.wait_event("plc.connected", after=since, timeout=30)
    restore = tool.service.wait_event("plc.restore", after=since, timeout=30)
    assert (restore["written"], restore["failed"]) == (len(expected), 0)
    assert read_flags(port, expected) == expected
    status = tool.session.get(f"{tool.url}/api/plc", timeout=5).json()
    assert status["connected"] and status["restores"] == 3 and status["lastRestoreWritten"] == len(expected)


def test_no_restore_bug_leaves_the_flags_reset(tmp_path, tool_seed_dir, services):
    expected = expected_flags(tool_seed_dir)
    plc, port = start_plcsim(tmp_path / "plc", tool_seed_dir)
    services.append(plc)
    tool = start_tool(tmp_path / "tool", tool_seed_dir, plc_port=port, bugs="no_restore")
    services.append(tool.service)
    restore = tool.service.wait_event("plc.restore", timeout=30)
    assert restore["written"] == 0
    maps = [name for name in expected if name.endswith("_Map")]
    assert set(read_flags(port, maps).values()) == {0}  # every VFD still unmapped
    assert tool.session.get(f"{tool.url}/api/plc", timeout=5).json()["lastRestoreWritten"] == 0
