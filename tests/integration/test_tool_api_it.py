# ruff: noqa: F811 - pytest fixtures imported from test_tool_support are parameters by design
"""The tool's HTTP API and process lifecycle: clear 4xx errors that write nothing, start-up checks, SIGTERM."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest
import requests
from test_tool_support import REPO, io_picker, start_tool, tool_seed_dir  # noqa: F401


@pytest.fixture(scope="module")
def tool(tmp_path_factory, tool_seed_dir):
    tool = start_tool(tmp_path_factory.mktemp("tool-api"), tool_seed_dir)
    yield tool
    tool.service.stop()


def db_digest(tool):
    import sqlite3

    conn = sqlite3.connect(tool.data_dir / "tool.db")
    try:
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    return hashlib.sha256(dump.encode()).hexdigest()


def test_health_and_listing(tool):
    health = requests.get(f"{tool.url}/api/health", timeout=5).json()
    assert health["status"] == "ok" and health["pid"] == tool.pid and health["uptimeS"] >= 0
    ios = requests.get(f"{tool.url}/api/ios", params={"subsystemId": 38}, timeout=10).json()["ios"]
    assert len(ios) == 1184 and {"id", "result", "comments", "version", "pending"} <= set(ios[0])
    assert requests.get(f"{tool.url}/api/plc", timeout=5).json()["connected"] is False


@pytest.mark.parametrize(("path", "body", "status", "needle"), [
    ("/api/ios/{io}", b"{not json", 400, "malformed JSON"),
    ("/api/ios/{io}", b"", 400, "empty body"),
    ("/api/ios/{io}", b'"Passed"', 400, "JSON object"),
    ("/api/ios/{io}", b'{"result": "Passed", "comments": ""}', 400, "missing field(s): currentUser"),
    ("/api/ios/{io}", b'{"result": "OK", "comments": "", "currentUser": "a"}', 400,
     "invalid result 'OK'; accepted: Passed, Failed, Cleared"),
    ("/api/ios/999999", b'{"result": "Passed", "comments": "", "currentUser": "a"}', 404, "unknown IO 999999"),
    ("/api/ios/{io}", b'{"result": "Passed", "comments": "' + b"x" * 70_000 + b'", "currentUser": "a"}', 413,
     "too large"),
])
def test_bad_input_is_refused_clearly_and_writes_nothing(tool, io_picker, path, body, status, needle):
    io_id = io_picker.take()
    before_io, before_db = tool.io(io_id), db_digest(tool)
    response = tool.session.put(tool.url + path.format(io=io_id), data=body,
                                headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == status
    assert needle in response.json()["error"]
    assert tool.io(io_id) == before_io and db_digest(tool) == before_db
    assert tool.queue() == {"active": 0, "parked": 0, "parkedRows": []}


def test_unknown_route_and_method_are_json_errors(tool):
    missing = requests.get(f"{tool.url}/api/nothing", timeout=5)
    assert missing.status_code == 404 and "no such route" in missing.json()["error"]
    wrong = requests.delete(f"{tool.url}/api/ios/1", timeout=5)
    assert wrong.status_code == 405 and "DELETE" in wrong.json()["error"]


def run_tool(env, timeout=20):
    base = {"TOOL_HOST": "127.0.0.1", "TOOL_PORT": "0", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "sut.tool"], env={**base, **env}, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_unknown_bug_stops_start_up_with_exit_2(tmp_path, tool_seed_dir):
    done = run_tool({"TOOL_DATA_DIR": str(tmp_path), "TOOL_SEED_DIR": str(tool_seed_dir),
                     "BATTLE_SUT_BUGS": "leak,gremlins"})
    assert done.returncode == 2
    assert "'gremlins'" in done.stderr and "stall" in done.stderr  # names the culprit and what is accepted
    assert not (tmp_path / "tool.db").exists()


def test_missing_database_without_seed_is_a_clear_error(tmp_path):
    done = run_tool({"TOOL_DATA_DIR": str(tmp_path / "empty")})
    assert done.returncode == 2 and "TOOL_SEED_DIR" in done.stderr


def test_bad_knob_is_named(tmp_path, tool_seed_dir):
    done = run_tool({"TOOL_DATA_DIR": str(tmp_path), "TOOL_SEED_DIR": str(tool_seed_dir),
                     "TOOL_PUSH_INTERVAL_S": "soon"})
    assert done.returncode == 2 and "TOOL_PUSH_INTERVAL_S='soon'" in done.stderr


def test_sigterm_stops_cleanly_and_a_restart_keeps_the_data(tmp_path, tool_seed_dir, io_picker):
    tool = start_tool(tmp_path, tool_seed_dir)
    io_id = io_picker.take()
    start = tool.service.named("server.start")[0]
    assert start["bugs"] == [] and start["pid"] == tool.pid and start["seeded"] is True
    assert tool.mark(io_id, "Failed", "kept across restarts").status_code == 200
    assert tool.service.stop() == 0
    assert tool.service.named("server.stop")
    again = start_tool(tmp_path, tool_seed_dir)
    try:
        assert again.service.named("server.start")[0]["seeded"] is False
        assert (again.io(io_id)["comments"], again.io(io_id)["pending"]) == ("kept across restarts", "active")
    finally:
        again.service.stop()
