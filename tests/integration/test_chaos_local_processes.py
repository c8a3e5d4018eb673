"""LocalProcessManager and ProcessDriver on real subprocesses, and the chaos service end to end on loopback."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

from battle.chaos.errors import DriverError, TargetRefused
from battle.chaos.local_processes import LocalProcessManager, ServiceSpec
from battle.chaos.process_driver import ProcessDriver
from battle.chaos.proxy import CloudProxy, ProxyClient, ProxyConfig
from battle.chaos.service import ChaosService, ChaosServiceConfig
from sut.plcsim.delay_file import DelaySource

# A stand-in service: serves /health on a free port (written to PORT_FILE), seeds DATA_DIR from
# SEED_DIR on first start, POST /write appends to its data file, and says goodbye on SIGTERM.
SERVICE = textwrap.dedent(
    """
    import json, os, shutil, signal, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    data, seed = os.environ["DATA_DIR"], os.environ["SEED_DIR"]
    db = os.path.join(data, "db.txt")
    if not os.path.exists(db):
        shutil.copy(os.path.join(seed, "db.txt"), db)
    def bye(*_):
        print("graceful exit", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN if os.environ.get("IGNORE_TERM") else bye)
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a): pass
        def do_GET(self):
            body = json.dumps({"pid": os.getpid(), "db": open(db).read()}).encode()
            self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
            self.wfile.write(body)
        def do_POST(self):
            with open(db, "a") as f: f.write("local-result\\n")
            self.do_GET()
    server = HTTPServer(("127.0.0.1", 0), H)
    with open(os.environ["PORT_FILE"] + ".tmp", "w") as f: f.write(str(server.server_address[1]))
    os.replace(os.environ["PORT_FILE"] + ".tmp", os.environ["PORT_FILE"])
    print(json.dumps({"event": "server.start", "pid": os.getpid()}), flush=True)
    server.serve_forever()
    """
)


@pytest.fixture
def stack(tmp_path):
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "db.txt").write_text("seeded\n")
    port_file = tmp_path / "tool.port"

    def spec(name="tool", chaos=True, **env):
        return ServiceSpec(
            name=name,
            argv=[sys.executable, str(script)],
            env={
                "DATA_DIR": str(tmp_path / f"{name}-data"),
                "SEED_DIR": str(seed),
                "PORT_FILE": str(port_file),
                **env,
            },
            cwd=tmp_path,
            data_dir=tmp_path / f"{name}-data",
            seed_dir=seed,
            chaos=chaos,
        )

    manager = LocalProcessManager([spec()], tmp_path / "logs")
    yield manager, spec, port_file, tmp_path
    manager.stop_all(timeout=2)


def health_url(port_file: Path, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while not port_file.exists():
        assert time.monotonic() < deadline, "service never wrote its port"
        time.sleep(0.02)
    return f"http://127.0.0.1:{port_file.read_text()}/health"


def start_healthy(manager, port_file):
    port_file.unlink(missing_ok=True)
    manager.start("tool")
    url = health_url(port_file)
    manager.wait_healthy("tool", url, timeout=10)
    return url


def test_kill_and_start_give_a_new_lifetime_and_one_appended_log(stack):
    manager, _, port_file, tmp_path = stack
    url = start_healthy(manager, port_file)
    first = manager.pid("tool")
    assert requests.get(url, timeout=2).json()["pid"] == first
    manager.kill("tool")
    assert not manager.is_running("tool") and manager.pid("tool") is None and manager.returncode("tool") == -9
    url = start_healthy(manager, port_file)
    assert manager.pid("tool") not in (None, first)
    starts = [json.loads(line) for line in (tmp_path / "logs" / "tool.log").read_text().splitlines()]
    assert [s["pid"] for s in starts] == [first, manager.pid("tool")]


def test_pause_freezes_and_unpause_resumes(stack):
    manager, _, port_file, _ = stack
    url = start_healthy(manager, port_file)
    manager.pause("tool")
    assert not manager.is_running("tool") and manager.pid("tool") is not None
    with pytest.raises(requests.Timeout):
        requests.get(url, timeout=0.5)
    manager.unpause("tool")
    assert manager.is_running("tool") and requests.get(url, timeout=2).status_code == 200


def test_stop_is_graceful_and_escalates_to_sigkill(stack):
    manager, spec, port_file, tmp_path = stack
    start_healthy(manager, port_file)
    manager.pause("tool")  # a frozen service must still get to handle SIGTERM
    manager.stop("tool", timeout=5)
    assert manager.returncode("tool") == 0 and "graceful exit" in (tmp_path / "logs" / "tool.log").read_text()
    stubborn = LocalProcessManager([spec(IGNORE_TERM="1")], tmp_path / "logs2")
    start_healthy(stubborn, port_file)
    began = time.monotonic()
    stubborn.stop("tool", timeout=0.5)
    assert stubborn.returncode("tool") == -9 and time.monotonic() - began < 5


def test_wipe_erases_data_and_the_service_reseeds(stack):
    manager, _, port_file, tmp_path = stack
    url = start_healthy(manager, port_file)
    assert "local-result" in requests.post(url, timeout=2).json()["db"]
    (tmp_path / "tool-data" / "sub").mkdir()
    (tmp_path / "tool-data" / "sub" / "wal").write_text("x")
    port_file.unlink()
    manager.wipe("tool")  # kill + erase + start
    url = health_url(port_file)
    manager.wait_healthy("tool", url, timeout=10)
    assert requests.get(url, timeout=2).json()["db"] == "seeded\n"
    assert sorted(p.name for p in (tmp_path / "tool-data").iterdir()) == ["db.txt"]
    assert (tmp_path / "seed" / "db.txt").read_text() == "seeded\n"


def test_wipe_refuses_a_seed_inside_the_data_dir(tmp_path):
    spec = ServiceSpec("tool", ["true"], data_dir=tmp_path / "d", seed_dir=tmp_path / "d" / "seed")
    with pytest.raises(DriverError, match="seed dir"):
        LocalProcessManager([spec], tmp_path).wipe("tool")


def test_wait_healthy_fails_fast_with_the_log_tail(tmp_path):
    spec = ServiceSpec("tool", [sys.executable, "-c", "print('no config, giving up'); raise SystemExit(3)"])
    manager = LocalProcessManager([spec], tmp_path)
    manager.start("tool")
    began = time.monotonic()
    with pytest.raises(DriverError) as raised:
        manager.wait_healthy("tool", "http://127.0.0.1:9/health", timeout=30)
    assert time.monotonic() - began < 10
    assert "exit code 3" in str(raised.value) and "no config, giving up" in str(raised.value)


def test_process_driver_allowlist_delay_file_and_cut(stack):
    manager, spec, port_file, tmp_path = stack
    both = LocalProcessManager([spec(), spec("observer", chaos=False)], tmp_path / "logs3")
    proxy = CloudProxy(
        ProxyConfig(upstream="http://127.0.0.1:9", token="t", host="127.0.0.1", listen_port=0, control_port=0)
    )
    _, control = proxy.start()
    try:
        delay_file = tmp_path / "plc_delay_ms"
        driver = ProcessDriver(
            both, ProxyClient(f"http://127.0.0.1:{control}", "t"), plc_delay_file=delay_file
        )
        assert driver.allowlist() == {"tool"}
        with pytest.raises(TargetRefused, match="observer"):
            driver.kill("observer")
        source = DelaySource(delay_file, 0, clock=iter(range(0, 100, 2)).__next__)
        driver.set_plc_delay(750)
        assert source.current_ms() == 750
        driver.set_plc_delay(None)
        assert source.current_ms() == 0 and not delay_file.exists()
        with pytest.raises(TargetRefused):
            driver.disconnect("cloud")  # not a local service of this manager
        cloud_manager = LocalProcessManager([spec("cloud")], tmp_path / "logs4")
        cut_driver = ProcessDriver(cloud_manager, ProxyClient(f"http://127.0.0.1:{control}", "t"))
        cut_driver.disconnect("cloud")
        assert proxy.state.mode.cut
        cut_driver.reconnect("cloud")
        assert not proxy.state.mode.cut
        with pytest.raises(DriverError, match="can cut only 'cloud'"):
            ProcessDriver(manager, None).disconnect("tool")
    finally:
        proxy.close()


def test_chaos_service_injects_restores_and_calms_on_real_processes(stack):
    manager, _, port_file, tmp_path = stack
    start_healthy(manager, port_file)
    first = manager.pid("tool")
    plan = {
        "schema": 1,
        "faults": [
            {"id": "f001", "kind": "pause", "target": "tool", "at": 0.2, "duration": 60, "params": {}}
        ],
    }
    config = ChaosServiceConfig(
        token="tok", ledger_path=tmp_path / "injected.jsonl", host="127.0.0.1", port=0
    )
    service = ChaosService(config, ProcessDriver(manager), plan=plan)
    service.start()
    base, auth = f"http://127.0.0.1:{service.port}", {"X-Chaos-Token": "tok"}
    try:
        refused = requests.post(
            base + "/faults/power", json={"target": "cloud", "duration": 1}, headers=auth, timeout=5
        )
        assert refused.status_code == 403 and refused.json()["allowlist"] == ["tool"]
        deadline = time.monotonic() + 5
        while manager.is_running("tool"):  # the planned pause lands at 0.2 s
            assert time.monotonic() < deadline, "planned pause never applied"
            time.sleep(0.05)
        calm = requests.post(base + "/calm", headers=auth, timeout=10).json()
        assert calm["ok"] and calm["restored"][0]["fault"] == "f001" and calm["running"] == {"tool": True}
        assert requests.post(base + "/calm", headers=auth, timeout=10).json()["restored"] == []
        events = requests.get(base + "/events", headers=auth, timeout=5).json()["events"]
        assert [(e["fault"], e["step"]) for e in events] == [
            ("f001", "planned"),
            ("f001", "intent"),
            ("f001", "applied"),
            ("f001", "restored"),
        ]
        assert manager.pid("tool") == first  # pause/resume, not a restart
    finally:
        service.close()


def test_chaos_service_power_fault_restarts_after_its_duration(stack):
    manager, _, port_file, tmp_path = stack
    start_healthy(manager, port_file)
    first = manager.pid("tool")
    config = ChaosServiceConfig(
        token="tok", ledger_path=tmp_path / "injected.jsonl", host="127.0.0.1", port=0
    )
    service = ChaosService(config, ProcessDriver(manager), plan={"schema": 1, "faults": []})
    service.start()
    base, auth = f"http://127.0.0.1:{service.port}", {"X-Chaos-Token": "tok"}
    try:
        port_file.unlink()
        got = requests.post(
            base + "/faults/power", json={"target": "tool", "duration": 0.3}, headers=auth, timeout=5
        )
        assert got.status_code == 200 and manager.pid("tool") is None
        url = health_url(port_file, timeout=10)  # written only by the restarted process
        manager.wait_healthy("tool", url, timeout=10)
        assert manager.pid("tool") != first
    finally:
        report = service.close()
    assert report["ok"] and report["restored"] == []
