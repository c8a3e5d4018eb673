"""The PLC simulator as a real process on loopback, read and written over CIP with pylogix."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pylogix import PLC

from battle.adapters.plc import PlcError, PlcReader, PlcTagError, load_tag_expectations

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0


def write_tag_file(path: Path, ios: int = 8, faults: int = 2, vfds: int = 3, extra: list[dict] | None = None) -> Path:
    """A small file shaped like the seed's plc_tags.json (schema 1)."""
    tags: list[dict[str, Any]] = []
    tags += [{"name": f"MCM02_DI_{i:04d}", "type": "BOOL", "kind": "io", "initial": 0, "expected": None}
             for i in range(1, ios + 1)]
    tags += [{"name": f"MCM02_FLT_{i:03d}", "type": "BOOL", "kind": "fault", "initial": 0, "expected": None}
             for i in range(1, faults + 1)]
    for v in range(1, vfds + 1):
        vfd = f"VFD_{v:02d}"
        tags += [
            {"name": f"{vfd}_Map", "type": "DINT", "kind": "vfd_flag", "initial": 0, "expected": v},
            {"name": f"{vfd}_HP", "type": "DINT", "kind": "vfd_flag", "initial": 0, "expected": 50 + v},
            {"name": f"{vfd}_Dir", "type": "BOOL", "kind": "vfd_flag", "initial": 0, "expected": v % 2},
            {"name": f"{vfd}_Rev", "type": "BOOL", "kind": "vfd_flag", "initial": 0, "expected": 1},
        ]
    tags += extra or []
    path.write_text(json.dumps({"schema": 1, "tags": tags}))
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Sim:
    """`python -m sut.plcsim` as a subprocess; `port` is the one it reported in plcsim.start."""

    def __init__(self, tags_file: Path, port: int = 0, delay_ms: float = 0.0, via_env: bool = False,
                 delay_file: Path | None = None):
        args = [sys.executable, "-m", "sut.plcsim", "--host", "127.0.0.1"]
        env = dict(os.environ, PYTHONPATH=str(REPO))
        # Never the default /tmp/plc_delay_ms: other runs on this host may write it.
        delay_file_setting = "" if delay_file is None else str(delay_file)
        if via_env:
            env.update(PLC_TAGS_FILE=str(tags_file), PLC_PORT=str(port), DELAY_MS=str(delay_ms),
                       PLC_DELAY_FILE=delay_file_setting)
        else:
            args += ["--tags", str(tags_file), "--port", str(port), "--delay-ms", str(delay_ms),
                     "--delay-file", delay_file_setting]
        self.proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.start_event = self.next_event(START_TIMEOUT_S)
        assert self.start_event["event"] == "plcsim.start", self.start_event
        self.port = int(self.start_event["port"])

    def next_event(self, timeout_s: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        if not ready:
            self.kill()
            raise AssertionError(f"no event from the simulator within {timeout_s}s")
        line = self.proc.stdout.readline()
        if not line:
            stderr = self.proc.stderr.read().decode() if self.proc.stderr else ""
            raise AssertionError(f"simulator exited ({self.proc.wait()}) without an event: {stderr}")
        return json.loads(line)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=15)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=15)


def run_expecting_exit(args: list[str], timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sut.plcsim", "--host", "127.0.0.1", "--delay-file", "", *args],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=timeout_s,
    )


@pytest.fixture(scope="module")
def tag_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    extra = [{"name": "Line_Speed", "type": "REAL", "kind": "io", "initial": 1.5, "expected": None},
             {"name": "Preset_Count", "type": "DINT", "kind": "io", "initial": -42, "expected": None}]
    return write_tag_file(tmp_path_factory.mktemp("plc") / "plc_tags.json", extra=extra)


@pytest.fixture(scope="module")
def sim(tag_file: Path) -> Iterator[Sim]:
    process = Sim(tag_file)
    yield process
    process.kill()


def test_start_event_reports_tags_and_real_port(sim: Sim) -> None:
    assert sim.start_event["tags"] == 8 + 2 + 3 * 4 + 2
    assert sim.port > 0
    assert sim.start_event["ts"].endswith("Z")


def test_every_tag_reads_back_at_its_initial_value(sim: Sim, tag_file: Path) -> None:
    loaded = load_tag_expectations(tag_file)
    with PlcReader("127.0.0.1", sim.port, timeout=5.0, types=loaded.types, batch_size=7) as reader:
        values = reader.read_tags(list(loaded.types))
    assert len(values) == len(loaded.types)
    assert values["Line_Speed"] == pytest.approx(1.5)
    assert values["Preset_Count"] == -42
    assert {name: value for name, value in values.items() if name not in ("Line_Speed", "Preset_Count")} == {
        name: (False if loaded.types[name] == "BOOL" else 0) for name in loaded.types
        if name not in ("Line_Speed", "Preset_Count")
    }


def test_pylogix_write_then_read_dint_bool_real(sim: Sim) -> None:
    with PLC("127.0.0.1", port=sim.port, timeout=5.0) as plc:
        writes = [plc.Write("VFD_02_Map", 17), plc.Write("VFD_02_Dir", True), plc.Write("Line_Speed", 3.25)]
        assert [w.Status for w in writes] == ["Success"] * 3
        single = plc.Read("VFD_02_Map")
        assert (single.Value, single.Status) == (17, "Success")
        multi = plc.Read(["VFD_02_Map", "VFD_02_Dir", "Line_Speed", "VFD_02_HP"])
        assert [(r.Value, r.Status) for r in multi] == [
            (17, "Success"), (True, "Success"), (3.25, "Success"), (0, "Success")]
        batch = plc.Write([("VFD_02_HP", 75), ("VFD_02_Dir", False)])
        assert [r.Status for r in batch] == ["Success", "Success"]
    # A second client (fresh connection, untyped reads) sees what the first one wrote.
    with PlcReader("127.0.0.1", sim.port) as reader:
        assert reader.read_tags(["VFD_02_HP", "VFD_02_Dir", "VFD_02_Map"]) == {
            "VFD_02_HP": 75, "VFD_02_Dir": False, "VFD_02_Map": 17}


def test_unknown_tag_is_a_prompt_clean_error(sim: Sim) -> None:
    with PLC("127.0.0.1", port=sim.port, timeout=5.0) as plc:
        started = time.monotonic()
        replies = plc.Read(["VFD_01_Map", "No_Such_Tag"])
        single = plc.Read("Also_Missing")
        assert time.monotonic() - started < 3.0
    assert [(r.Value, r.Status) for r in replies] == [(0, "Success"), (None, "Path destination unknown")]
    assert (single.Value, single.Status) == (None, "Path destination unknown")

    with PlcReader("127.0.0.1", sim.port, timeout=5.0) as reader:
        with pytest.raises(PlcTagError) as caught:
            reader.read_tags(["VFD_01_Map", "No_Such_Tag"])
    assert caught.value.statuses == {"No_Such_Tag": "Path destination unknown"}
    assert f"127.0.0.1:{sim.port} refused 1 of 2 tags" in str(caught.value)


def test_check_flags_lists_exactly_the_flags_not_yet_written(sim: Sim, tag_file: Path) -> None:
    loaded = load_tag_expectations(tag_file)
    vfd3 = {name: value for name, value in loaded.expected.items() if name.startswith("VFD_03_")}
    with PLC("127.0.0.1", port=sim.port, timeout=5.0) as plc:
        assert [r.Status for r in plc.Write([("VFD_03_Map", 3), ("VFD_03_HP", 53)])] == ["Success"] * 2
    with PlcReader("127.0.0.1", sim.port, types=loaded.types) as reader:
        # VFD_03_Dir expects 1 and VFD_03_Rev expects 1; both still read 0.
        assert reader.check_flags(vfd3) == ["VFD_03_Dir", "VFD_03_Rev"]


def test_unreachable_plc_raises_plc_error_quickly() -> None:
    port = free_port()
    started = time.monotonic()
    with PlcReader("127.0.0.1", port, timeout=2.0) as reader, pytest.raises(PlcError, match=f"127.0.0.1:{port}"):
        reader.check_flags({"VFD_01_Map": 1})
    assert time.monotonic() - started < 5.0


def test_frozen_plc_fails_within_bounded_time_and_recovers(tmp_path: Path) -> None:
    tag_file = write_tag_file(tmp_path / "plc_tags.json")
    loaded = load_tag_expectations(tag_file)
    sim = Sim(tag_file)
    try:
        with PlcReader("127.0.0.1", sim.port, timeout=1.0, types=loaded.types) as reader:
            assert reader.read_tags(["VFD_01_Map"]) == {"VFD_01_Map": 0}
            sim.proc.send_signal(signal.SIGSTOP)  # the chaos 'pause' fault
            started = time.monotonic()
            with pytest.raises(PlcError, match="timeout 1.0s"):
                reader.read_tags(list(loaded.expected))
            assert time.monotonic() - started < 4.0
            sim.proc.send_signal(signal.SIGCONT)
            assert reader.read_tags(["VFD_01_Map", "VFD_01_HP"]) == {"VFD_01_Map": 0, "VFD_01_HP": 0}
    finally:
        sim.proc.send_signal(signal.SIGCONT)
        sim.kill()


def test_restart_resets_every_tag_and_a_reader_survives_it(tmp_path: Path) -> None:
    tag_file = write_tag_file(tmp_path / "plc_tags.json")
    loaded = load_tag_expectations(tag_file)
    first = Sim(tag_file)
    try:
        with PLC("127.0.0.1", port=first.port, timeout=5.0) as plc:
            assert all(r.Status == "Success" for r in plc.Write(list(loaded.expected.items())))
        reader = PlcReader("127.0.0.1", first.port, timeout=5.0, types=loaded.types)
        assert reader.check_flags(loaded.expected) == []
        assert first.stop() == 0
        assert first.next_event(5.0)["event"] == "plcsim.stop"
    finally:
        first.kill()

    second = Sim(tag_file, port=first.port)  # a program download: same address, fresh tags
    try:
        # The reader's socket died with the first process; it reconnects and sees every flag reset.
        assert reader.check_flags(loaded.expected) == [name for name, value in loaded.expected.items() if value]
        assert set(reader.read_tags(loaded.expected).values()) == {0}
        reader.close()
    finally:
        second.kill()


def timed_read(port: int, tag_file: Path) -> float:
    """Seconds for one multi-read of the 12 VFD flags (one packet, so one reply) on a warm connection."""
    loaded = load_tag_expectations(tag_file)
    with PlcReader("127.0.0.1", port, timeout=5.0, types=loaded.types) as reader:
        reader.read_tags(loaded.expected)  # connect outside the timing: register + forward open are replies too
        started = time.monotonic()
        reader.read_tags(loaded.expected)
        return time.monotonic() - started


def test_delay_ms_from_environment_slows_every_reply(tmp_path: Path) -> None:
    tag_file = write_tag_file(tmp_path / "plc_tags.json")
    fast, slow = Sim(tag_file), Sim(tag_file, delay_ms=400, via_env=True)
    try:
        assert slow.start_event["delayMs"] == 400
        fast_s, slow_s = timed_read(fast.port, tag_file), timed_read(slow.port, tag_file)
    finally:
        fast.kill()
        slow.kill()
    assert slow_s >= 0.38, (fast_s, slow_s)
    assert slow_s - fast_s >= 0.3, (fast_s, slow_s)


def test_delay_file_overrides_delay_ms_while_it_exists(tmp_path: Path) -> None:
    # The chaos `delay` fault: write a number of ms to PLC_DELAY_FILE, remove it to restore.
    tag_file = write_tag_file(tmp_path / "plc_tags.json")
    delay_file = tmp_path / "plc_delay_ms"
    sim = Sim(tag_file, delay_file=delay_file)
    try:
        assert sim.start_event["delayFile"] == str(delay_file)
        before_s = timed_read(sim.port, tag_file)
        delay_file.write_text("500")
        time.sleep(1.1)  # the simulator re-reads the file at most once a second
        during_s = timed_read(sim.port, tag_file)
        delay_file.unlink()
        time.sleep(1.1)
        after_s = timed_read(sim.port, tag_file)
    finally:
        sim.kill()
    assert during_s >= 0.48, (before_s, during_s, after_s)
    assert before_s < 0.25 and after_s < 0.25, (before_s, during_s, after_s)


def test_full_size_tag_file_reads_in_seconds(tmp_path: Path) -> None:
    # The seed's shape: 1,184 IO points, 172 fault bits, 72 VFDs x 4 flags = 1,644 tags.
    tag_file = write_tag_file(tmp_path / "plc_tags.json", ios=1184, faults=172, vfds=72)
    loaded = load_tag_expectations(tag_file)
    sim = Sim(tag_file)
    try:
        assert sim.start_event["tags"] == 1644
        with PlcReader("127.0.0.1", sim.port, timeout=10.0, types=loaded.types) as reader:
            started = time.monotonic()
            values = reader.read_tags(list(loaded.types))
            elapsed = time.monotonic() - started
    finally:
        sim.kill()
    assert len(values) == 1644
    assert elapsed < 20.0, f"reading 1,644 tags took {elapsed:.1f}s"


def test_bad_tag_file_exits_2_naming_tag_and_field(tmp_path: Path) -> None:
    path = tmp_path / "plc_tags.json"
    path.write_text(json.dumps({"schema": 1, "tags": [
        {"name": "VFD_01_Map", "type": "DINT", "kind": "vfd_flag", "initial": "zero", "expected": 1}]}))
    result = run_expecting_exit(["--tags", str(path), "--port", "0"])
    assert result.returncode == 2
    assert "tag #0 'VFD_01_Map': field 'initial' is 'zero'" in result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["event"] == "plcsim.error"


def test_second_simulator_on_a_taken_port_is_refused(sim: Sim, tag_file: Path) -> None:
    # cpppo binds with SO_REUSEPORT; without the simulator's own check both would share the port.
    result = run_expecting_exit(["--tags", str(tag_file), "--port", str(sim.port)])
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{sim.port}" in result.stderr
