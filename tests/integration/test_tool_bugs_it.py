# ruff: noqa: F811 - pytest fixtures imported from test_tool_support are parameters by design
"""Each planted bug (BATTLE_SUT_BUGS) shows its bad behaviour when on, and not when off.

Real tool processes against the real cloud on loopback; intervals are shortened
through configuration so every case takes seconds.
"""

from __future__ import annotations

import json
import threading
import time

import psutil
import pytest
import requests
from test_tool_support import (  # noqa: F401 - fixtures are used by name
    API_KEY,
    io_picker,
    start_cloud,
    start_tool,
    tool_seed_dir,
    wait_until,
)

ON_OFF = [pytest.param(True, id="bug-on"), pytest.param(False, id="bug-off")]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, tool_seed_dir):
    cloud = start_cloud(tmp_path_factory.mktemp("cloud-bugs"), tool_seed_dir)
    yield cloud
    cloud.service.stop()


@pytest.fixture
def tools():
    started = []
    yield started
    for tool in started:
        tool.service.stop()


def launch(tools, tmp_path, seed_dir, bug, on, **kwargs):
    tool = start_tool(tmp_path / "tool", seed_dir, bugs=bug if on else "", **kwargs)
    tools.append(tool)
    return tool


def hammer(tool, io_ids, total, threads):
    """`total` marks spread over `threads` clients; returns every request's latency in seconds."""
    latencies, errors = [], []
    lock = threading.Lock()

    def client(n):
        session = requests.Session()
        for k in range(n, total, threads):
            io_id = io_ids[k % len(io_ids)]
            started = time.monotonic()
            response = session.put(f"{tool.url}/api/ios/{io_id}", timeout=60,
                                   json={"result": "Passed" if k % 2 else "Failed", "comments": f"pass {k}",
                                         "currentUser": f"bot{n}"})
            with lock:
                latencies.append(time.monotonic() - started)
                if response.status_code != 200:
                    errors.append(response.text)

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    return latencies


# ---- stall -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("on", ON_OFF)
def test_stall_bug_blocks_the_server_under_load(tmp_path, tool_seed_dir, io_picker, tools, on):
    # The tool has been in the field for a while: its audit history already holds 20,000 marks.
    data = tmp_path / "tool" / "data"
    data.mkdir(parents=True)
    entry = {"ts": "2026-11-21T10:00:00.000Z", "ioId": 1, "user": "day-shift", "result": "Passed",
             "comments": "checked", "previous": {"result": None, "comments": ""}}
    (data / "audit.json").write_text(json.dumps([entry] * 20_000))
    with open(data / "audit.jsonl", "w") as handle:
        handle.writelines(json.dumps(entry) + "\n" for _ in range(20_000))
    tool = launch(tools, tmp_path, tool_seed_dir, "stall", on)
    ios = [io_picker.take() for _ in range(8)]
    probes = []
    stop = threading.Event()

    def probe():
        while not stop.is_set():
            started = time.monotonic()
            requests.get(f"{tool.url}/api/health", timeout=60)
            probes.append(time.monotonic() - started)
            stop.wait(0.1)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        marks = hammer(tool, ios, total=24, threads=8)
    finally:
        stop.set()
        prober.join()
    worst_probe, worst_mark = max(probes), max(marks)
    if on:
        assert worst_probe > 0.6 and worst_mark > 1.0, (worst_probe, worst_mark)
    else:
        assert worst_probe < 0.5 and worst_mark < 0.5, (worst_probe, worst_mark)


# ---- leak ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("on", ON_OFF)
def test_leak_bug_keeps_memory_per_request(tmp_path, tool_seed_dir, io_picker, tools, on):
    tool = launch(tools, tmp_path, tool_seed_dir, "leak", on)
    ios = [io_picker.take() for _ in range(4)]
    process = psutil.Process(tool.pid)
    hammer(tool, ios, total=200, threads=4)  # warm-up: allocator pools, caches, thread stacks
    before = process.memory_info().rss
    hammer(tool, ios, total=1000, threads=4)
    grown_mb = (process.memory_info().rss - before) / 2**20
    if on:
        assert grown_mb > 14, f"expected ~20 MB kept for 1000 marks, RSS grew {grown_mb:.1f} MB"
    else:
        assert grown_mb < 6, f"RSS grew {grown_mb:.1f} MB over 1000 marks without the bug"


# ---- crash -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("on", ON_OFF)
def test_crash_bug_kills_the_server_on_the_rare_pattern(tmp_path, tool_seed_dir, io_picker, tools, on):
    tool = launch(tools, tmp_path, tool_seed_dir, "crash", on)
    near_miss, target = io_picker.take(), io_picker.take(last_digit=7)
    assert tool.mark(near_miss, "Failed", "see ticket #4411").status_code == 200  # id not ending in 7
    assert tool.mark(target, "Failed", "no ticket").status_code == 200  # no '#'
    assert tool.mark(target, "Passed", "ticket #4411 closed").status_code == 200  # not Failed
    if on:
        with pytest.raises(requests.ConnectionError):
            tool.mark(target, "Failed", "see ticket #4411")
        assert tool.service.proc.wait(10) == 134
    else:
        assert tool.mark(target, "Failed", "see ticket #4411").status_code == 200
        assert tool.service.proc.poll() is None


# ---- clobber ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("on", ON_OFF)
def test_clobber_bug_overwrites_an_unsynced_local_result(tmp_path, tool_seed_dir, io_picker, cloud, tools, on):
    # The push worker is idle, so the field's edit stays unsynced for the whole test.
    tool = launch(tools, tmp_path, tool_seed_dir, "clobber", on, cloud=cloud, TOOL_PUSH_INTERVAL_S="3600")
    io_id = io_picker.take()
    tool.mark(io_id, "Failed", "field: relay chatter")
    since = tool.service.mark()
    cloud.patch(io_id, comments="office: recheck relay")
    if on:
        wait_until(lambda: tool.io(io_id)["comments"] == "office: recheck relay", what="the clobbering pull")
        local = tool.io(io_id)
        assert local["result"] == cloud.io(io_id)["result"] and local["pending"] is None
        assert tool.outbox_row(io_id) is None  # the technician's Failed is gone for good
    else:
        time.sleep(1.5)  # five pull intervals
        local = tool.io(io_id)
        assert (local["result"], local["comments"], local["pending"]) == ("Failed", "field: relay chatter", "active")
        assert not tool.service.named("pull.applied")[since:]


# ---- drop_429 (and the correct 429 handling) ----------------------------------------------------------------

@pytest.fixture(scope="module")
def limited_cloud(tmp_path_factory, tool_seed_dir):
    cloud = start_cloud(tmp_path_factory.mktemp("cloud-429"), tool_seed_dir, rate_limit=6, window_s=2.0)
    yield cloud
    cloud.service.stop()


def exhaust_rate_limit(cloud):
    """Spend the shared key's budget (another client of the same site) until the cloud answers 429."""
    for _ in range(50):
        if requests.get(f"{cloud.url}/api/admin/ios/1", headers={"X-API-Key": API_KEY}, timeout=5).status_code == 429:
            return
    pytest.fail("the cloud never answered 429")


@pytest.mark.parametrize("on", ON_OFF)
def test_429_is_retried_and_applied_unless_drop_429(tmp_path, tool_seed_dir, io_picker, limited_cloud, tools, on):
    # No periodic pulls: after the start-up pull the tool's only traffic is the push under test.
    tool = launch(tools, tmp_path, tool_seed_dir, "drop_429", on, cloud=limited_cloud, TOOL_PULL_INTERVAL_S="3600")
    io_id = io_picker.take()
    exhaust_rate_limit(limited_cloud)  # the window is full for the next two seconds
    since = tool.service.mark()
    assert tool.mark(io_id, "Failed", "breaker tripped").status_code == 200
    if on:
        dropped = tool.service.wait_event("sync.dropped", lambda e: e["ioId"] == io_id, after=since)
        assert (dropped["kind"], dropped["reason"]) == ("transient", "HTTP 429")
        assert tool.outbox_row(io_id) is None
        time.sleep(2.5)  # the window has room again, but nothing is left to push
        assert limited_cloud.io(io_id)["comments"] != "breaker tripped"
    else:
        retry = tool.service.wait_event("sync.retry", lambda e: e["status"] == 429, after=since)
        assert retry["delayS"] >= 1.0  # Retry-After honoured (whole seconds, at least 1)
        wait_until(lambda: limited_cloud.io(io_id)["comments"] == "breaker tripped", timeout=20,
                   what="the retried push to land")
        assert limited_cloud.io(io_id)["result"] == "Failed"
        wait_until(lambda: tool.outbox_row(io_id) is None, what="the row to go")
        assert not tool.service.named("sync.dropped") and not tool.service.named("sync.parked")


# ---- conflict_drop ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("on", ON_OFF)
def test_conflict_drop_bug_deletes_the_row_at_the_cap(tmp_path, tool_seed_dir, io_picker, cloud, tools, on):
    tool = launch(tools, tmp_path, tool_seed_dir, "conflict_drop", on, cloud=cloud, TOOL_PULL_INTERVAL_S="3600")
    io_id = io_picker.take()
    cloud.patch(io_id, comments="office edit")  # the local copy is now one version behind
    tool.mark(io_id, "Passed", "field edit")
    if on:
        dropped = tool.service.wait_event("sync.dropped", lambda e: e["ioId"] == io_id)
        assert dropped["kind"] == "conflict"
        assert tool.outbox_row(io_id) is None and cloud.io(io_id)["comments"] == "office edit"
    else:
        wait_until(lambda: cloud.io(io_id)["comments"] == "field edit", what="the rebased push")
        assert not tool.service.named("sync.dropped") and not tool.service.named("sync.parked")


# ---- parked_gate -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("on", ON_OFF)
def test_parked_gate_bug_stops_every_pull(tmp_path, tool_seed_dir, io_picker, cloud, tools, on):
    tool = launch(tools, tmp_path, tool_seed_dir, "parked_gate", on, cloud=cloud)
    spare, other = io_picker.take(spare=True), io_picker.take()
    tool.mark(spare, "Passed", "")
    tool.service.wait_event("sync.parked", lambda e: e["ioId"] == spare)
    cloud.patch(other, description="renamed after the parking")
    if on:
        time.sleep(2.0)  # more than six pull intervals
        assert tool.io(other)["description"] != "renamed after the parking"
    else:
        wait_until(lambda: tool.io(other)["description"] == "renamed after the parking", timeout=10,
                   what="the pull")



# ---- lose_comment ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("on", ON_OFF)
def test_lose_comment_bug_keeps_the_result_and_blanks_the_synced_comment(tmp_path, tool_seed_dir, io_picker,
                                                                         cloud, tools, on):
    tool = launch(tools, tmp_path, tool_seed_dir, "lose_comment", on, cloud=cloud)
    io_id, marker = io_picker.take(), io_picker.take()
    since = tool.service.mark()
    assert tool.mark(io_id, "Failed", "no 24V at terminal X2").status_code == 200
    pushed = tool.service.wait_event("sync.pushed", lambda e: any(i["ioId"] == io_id for i in e["appliedItems"]),
                                     after=since)
    version = next(i["version"] for i in pushed["appliedItems"] if i["ioId"] == io_id)
    remote = cloud.io(io_id)
    assert (remote["result"], remote["comments"], remote["version"]) == ("Failed", "no 24V at terminal X2", version)
    wait_until(lambda: tool.outbox_row(io_id) is None, what="the row to go")
    # An office edit made after the push: once it is local, the pull has read the feed past the push, so
    # the cloud's copy of the pushed row had its chance to bring the comment back.
    cloud.patch(marker, description="edited after the push")
    wait_until(lambda: tool.io(marker)["description"] == "edited after the push", what="the pull past the push")
    local = tool.io(io_id)
    assert (local["result"], local["version"], local["pending"]) == ("Failed", version, None)
    if on:
        assert local["comments"] in (None, ""), local  # the field believes it is in sync, and is not
        assert cloud.io(io_id)["comments"] == "no 24V at terminal X2"
    else:
        assert local["comments"] == "no 24V at terminal X2"
