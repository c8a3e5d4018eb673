"""The cloud-proxy on loopback in front of a tiny real upstream: pass, errors, cut, drops, latency, control."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from battle.chaos.proxy import CloudProxy, ProxyClient, ProxyConfig

TOKEN = "tok"
REPO = Path(__file__).resolve().parents[2]


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: list[tuple[str, str, bytes]] = []

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).hits.append((self.command, self.path, body))
        status = 404 if self.path.startswith("/missing") else 200
        payload = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "body": body.decode(),
                "key": self.headers.get("X-API-Key"),
                "host": self.headers.get("Host"),
            }
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Upstream", "yes")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _answer


@pytest.fixture
def upstream():
    Upstream.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(upstream):
    cloud_proxy = CloudProxy(
        ProxyConfig(
            upstream=upstream,
            token=TOKEN,
            host="127.0.0.1",
            listen_port=0,
            control_port=0,
            upstream_timeout_s=5,
        )
    )
    listen, control = cloud_proxy.start()
    yield f"http://127.0.0.1:{listen}", ProxyClient(f"http://127.0.0.1:{control}", TOKEN), cloud_proxy
    cloud_proxy.close()


def test_passthrough_relays_method_path_body_headers_and_status(proxy):
    url, control, _ = proxy
    with requests.Session() as session:  # keep-alive, as the tool's client does
        got = session.post(
            url + "/api/sync/push?x=1", json={"items": [1]}, headers={"X-API-Key": "k"}, timeout=5
        )
        assert got.status_code == 200 and got.headers["X-Upstream"] == "yes"
        assert got.json()["method"] == "POST" and got.json()["path"] == "/api/sync/push?x=1"
        assert json.loads(got.json()["body"]) == {"items": [1]} and got.json()["key"] == "k"
        missing = session.get(url + "/missing", timeout=5)
        assert missing.status_code == 404 and missing.json()["path"] == "/missing"
    assert len(Upstream.hits) == 2
    assert control.stats()["passed"] == 2


@pytest.mark.parametrize("status", [429, 503])
def test_errors_mode_answers_the_status_itself(proxy, status):
    url, control, _ = proxy
    control.set_mode({"errors": {"status": status, "fraction": 1.0}})
    got = requests.get(url + "/api/sync/pull", timeout=5)
    assert got.status_code == status and got.headers["Retry-After"] == "1"
    assert "injected" in got.json()["error"]
    assert Upstream.hits == []  # the cloud never saw it
    control.set_mode({"errors": None})
    assert requests.get(url + "/api/sync/pull", timeout=5).status_code == 200
    assert control.stats()["errored"] == 1


def test_errors_fraction_hits_only_part_of_the_requests(proxy):
    url, control, _ = proxy
    control.set_mode({"errors": {"status": 503, "fraction": 0.5}})
    codes = [requests.get(url + "/x", timeout=5).status_code for _ in range(60)]
    assert 10 < codes.count(503) < 50 and codes.count(503) + codes.count(200) == 60


def test_cut_mode_refuses_new_and_kept_alive_connections(proxy):
    url, control, _ = proxy
    with requests.Session() as session:
        assert (
            session.get(url + "/a", timeout=5).status_code == 200
        )  # an idle kept-alive connection now exists
        control.set_mode({"cut": True})
        for _ in range(2):
            with pytest.raises(requests.ConnectionError):
                session.get(url + "/b", timeout=5)
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/c", timeout=5)
        control.set_mode({"cut": False})
        assert session.get(url + "/d", timeout=5).status_code == 200
    assert [h[1] for h in Upstream.hits] == ["/a", "/d"]
    assert control.stats()["refused"] >= 3


def test_drop_rate_closes_connections_before_the_cloud_sees_them(proxy):
    url, control, _ = proxy
    control.set_mode({"shape": {"dropRate": 1.0}})
    with pytest.raises(requests.ConnectionError):
        requests.post(url + "/api/sync/push", json={"items": []}, timeout=5)
    assert Upstream.hits == [] and control.stats()["dropped"] == 1


def test_latency_shaping_measurably_slows_requests(proxy):
    url, control, _ = proxy

    def median_s(n=5):
        times = []
        for _ in range(n):
            began = time.perf_counter()
            assert requests.get(url + "/t", timeout=5).status_code == 200
            times.append(time.perf_counter() - began)
        return sorted(times)[n // 2]

    baseline = median_s()
    control.set_mode({"shape": {"latencyMs": 300, "jitterMs": 20}})
    shaped = median_s()
    assert shaped >= 0.28 and shaped - baseline >= 0.2


def test_bandwidth_limit_slows_big_bodies(proxy):
    url, control, _ = proxy
    control.set_mode({"shape": {"bandwidthKbps": 400}})  # 50 KB/s: 20 KB up + the echo back ≈ 0.8 s
    began = time.perf_counter()
    assert requests.post(url + "/big", data=b"x" * 20_000, timeout=10).status_code == 200
    assert time.perf_counter() - began >= 0.6


def test_unreachable_upstream_is_502(upstream):
    dead = CloudProxy(
        ProxyConfig(
            upstream="http://127.0.0.1:9",
            token=TOKEN,
            host="127.0.0.1",
            listen_port=0,
            control_port=0,
            upstream_timeout_s=2,
        )
    )
    listen, _ = dead.start()
    try:
        got = requests.get(f"http://127.0.0.1:{listen}/api/health", timeout=5)
        assert got.status_code == 502 and "upstream unreachable" in got.json()["error"]
    finally:
        dead.close()


def test_control_api_needs_the_token_and_validates(proxy):
    _, control, cloud_proxy = proxy
    base = control._base
    assert requests.get(base + "/health", timeout=5).json() == {"status": "ok", "mode": "pass"}
    assert requests.get(base + "/stats", timeout=5).status_code == 401
    assert (
        requests.put(
            base + "/mode", json={"cut": True}, headers={"X-Chaos-Token": "no"}, timeout=5
        ).status_code
        == 401
    )
    assert cloud_proxy.state.mode.cut is False
    bad = requests.put(
        base + "/mode", json={"shape": {"dropRate": 3}}, headers={"X-Chaos-Token": TOKEN}, timeout=5
    )
    assert bad.status_code == 400 and "dropRate" in bad.json()["error"]
    assert control.set_mode({"mode": "cut"})["name"] == "cut"
    assert control.get_mode()["cut"] is True


@pytest.mark.parametrize(
    ("framing", "needle"),
    [
        ("Content-Length: -5\r\n", "Content-Length"),
        ("Content-Length: abc\r\n", "Content-Length"),
        ("Transfer-Encoding: chunked\r\n\r\nzz", "chunk size"),
    ],
)
def test_data_path_answers_400_to_a_body_it_cannot_frame(proxy, framing, needle):
    base, _, cloud_proxy = proxy
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"POST /api/x HTTP/1.1\r\nHost: c\r\n{framing}\r\n".encode())
        answer = b""
        while data := sock.recv(65536):
            answer += data
    assert answer.startswith(b"HTTP/1.1 400") and needle.encode() in answer  # answered, then closed
    assert Upstream.hits == [] and cloud_proxy.state.stats()["passed"] == 0


def test_control_api_without_the_token_is_401_on_every_route_but_health(proxy):
    _, control, _ = proxy
    for path in ("/mode", "/stats", "/nowhere"):
        assert requests.get(control._base + path, timeout=5).status_code == 401
    assert requests.put(control._base + "/nowhere", json={}, timeout=5).status_code == 401


def test_module_entry_point_prints_its_ports_and_stops_on_sigterm(upstream):
    env = {
        **os.environ,
        "PROXY_UPSTREAM": upstream,
        "CHAOS_TOKEN": TOKEN,
        "PROXY_HOST": "127.0.0.1",
        "PROXY_LISTEN_PORT": "0",
        "PROXY_CONTROL_PORT": "0",
        "PYTHONPATH": str(REPO),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "battle.chaos.proxy"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    try:
        line = json.loads(process.stdout.readline())
        assert line["event"] == "proxy.listening" and line["listenPort"] > 0 and line["controlPort"] > 0
        assert (
            requests.get(f"http://127.0.0.1:{line['listenPort']}/hello", timeout=5).json()["path"] == "/hello"
        )
        process.terminate()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_module_entry_point_exits_2_on_bad_config():
    env = {**os.environ, "PROXY_UPSTREAM": "not a url", "CHAOS_TOKEN": TOKEN, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "battle.chaos.proxy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
    )
    assert done.returncode == 2 and "PROXY_UPSTREAM" in done.stderr
