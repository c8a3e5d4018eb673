"""`battle probe` against real systems on loopback: the reference system, the other tool (the example
adapter of docs/adapters.md), and the other tool with a planted push bug."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_tool import KEY, start_stack  # noqa: E402 - the repo root is on the path only now
from tests.fixtures.othertool.launch import Running, start_othertool  # noqa: E402

OTHERTOOL_ADAPTER = "tests.fixtures.othertool.adapter:OtherToolAdapter"
pytestmark = pytest.mark.timeout(120)


def battle_probe(*args: str) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "battle", "probe", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=90, env={**os.environ, "PYTHONPATH": str(REPO)})
    return done.returncode, done.stdout, done.stderr


def statuses(stdout: str) -> dict[str, str]:
    return {row["capability"]: row["status"] for row in json.loads(stdout)["capabilities"]}


@pytest.fixture
def othertool(tmp_path: Path) -> Iterator[Running]:
    running = start_othertool(tmp_path)
    yield running
    running.stop()


def test_the_reference_system_passes_every_capability(tmp_path):
    procs, tool_url, cloud_url, _pid = start_stack(tmp_path)
    try:
        code, out, err = battle_probe("--adapter", "reference", "--tool-url", tool_url, "--cloud-url", cloud_url,
                                      "--cloud-api-key", KEY, "--tool-log", str(tmp_path / "tool.log"), "--json")
    finally:
        for proc in procs:
            proc.stop()
    assert code == 0, out + err
    found = statuses(out)
    assert {name for name, status in found.items() if status == "failed"} == set()
    assert found["write: seen in the cloud [io]"] == "ok"
    assert found["events: observed in the tool's log"] == "ok"


def test_the_other_tool_passes_with_its_adapter(othertool):
    code, out, err = battle_probe("--adapter", OTHERTOOL_ADAPTER, "--tool-url", othertool.tool_url,
                                  "--cloud-url", othertool.cloud_url, "--tool-log", str(othertool.tool_log))
    assert code == 0, out + err
    assert re.search(r"write: seen in the cloud \[point\] +ok", out)
    assert "tool_started, records_pushed, pull_applied" in out  # no PLC events expected: has_plc is False


def test_a_push_loop_that_loses_writes_fails_exactly_the_cloud_capability(tmp_path):
    broken = start_othertool(tmp_path, bug="silent_push_loss")
    try:
        code, out, err = battle_probe("--adapter", OTHERTOOL_ADAPTER, "--tool-url", broken.tool_url,
                                      "--cloud-url", broken.cloud_url, "--tool-log", str(broken.tool_log),
                                      "--wait", "5", "--json")
    finally:
        broken.stop()
    assert code == 1, out + err
    assert {name for name, status in statuses(out).items() if status == "failed"} == {
        "write: seen in the cloud [point]"}


def test_bad_input_exits_2_naming_what_was_wrong(othertool):
    urls = ("--tool-url", othertool.tool_url, "--cloud-url", othertool.cloud_url)
    code, out, err = battle_probe("--adapter", "no.such.module:Adapter", *urls)
    assert (code, out) == (2, "")
    assert "module 'no.such.module' not found" in err and "Traceback" not in err
    code, _out, err = battle_probe("--adapter", OTHERTOOL_ADAPTER, "--tool-url", othertool.tool_url,
                                   "--cloud-url", "http://127.0.0.1:1")
    assert code == 2 and "--cloud-url http://127.0.0.1:1: nothing answers" in err and "Traceback" not in err
    code, _out, err = battle_probe("--adapter", OTHERTOOL_ADAPTER, *urls, "--tool-log", "/no/such.log")
    assert code == 2 and "--tool-log /no/such.log: no such file" in err
