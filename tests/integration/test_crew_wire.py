"""The crew's HTTP connection against real servers on loopback: keep-alive, reconnects, and what each failure means."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from battle.crew.wire import KeepAliveConnection, MaybeSent, NotSent


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise

    def do_PUT(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((self.path, json.loads(body), self.client_address[1]))  # type: ignore[attr-defined]
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        answer = json.dumps({"ok": True, "path": self.path}).encode()
        status = 409 if self.path.startswith("/conflict") else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if self.path.startswith("/chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (answer[:5], answer[5:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path.startswith("/close"):
            self.send_header("Connection", "close")
            self.close_connection = True
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def http_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def raw_server(behave: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server that accepts one connection at a time and does `behave` with it."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                behave(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def test_many_requests_share_one_kept_alive_connection_and_bodies_arrive_whole():
    with http_server() as server:
        connection = KeepAliveConnection(url(server.server_address[1]), timeout_s=5)
        for n in range(20):
            answer = connection.request("PUT", f"/api/ios/{n}", json.dumps({"n": n}).encode())
            assert answer.status == 200 and json.loads(answer.body)["path"] == f"/api/ios/{n}"
        chunked = connection.request("PUT", "/chunked", b"{}")
        assert json.loads(chunked.body) == {"ok": True, "path": "/chunked"}
        assert connection.request("PUT", "/conflict", b"{}").status == 409
        connection.close()
    ports = {client_port for _, _, client_port in server.seen}
    assert len(server.seen) == 22 and len(ports) == 1
    assert [body for _, body, _ in server.seen[:3]] == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_a_connection_the_server_closed_is_reopened_before_the_next_request():
    with http_server() as server:
        connection = KeepAliveConnection(url(server.server_address[1]), timeout_s=5)
        assert connection.request("PUT", "/close", b"{}").status == 200  # the server says Connection: close
        assert connection.request("PUT", "/a", b"{}").status == 200
        connection.close()
    assert len({client_port for _, _, client_port in server.seen}) == 2

    accepted = []

    def answer_once_then_hang_up(conn: socket.socket) -> None:  # an idle timeout, or a tool restart
        accepted.append(conn)
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    with raw_server(answer_once_then_hang_up) as port:
        connection = KeepAliveConnection(url(port), timeout_s=2)
        for _ in range(3):
            assert connection.request("PUT", "/api/ios/1", b"{}").status == 200
            time.sleep(0.2)  # idle: the server's close reaches the client
    assert len(accepted) == 3  # each request found the old connection closed and opened a new one, unharmed


def test_a_refused_connection_is_not_sent():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    connection = KeepAliveConnection(url(port), timeout_s=2)
    with pytest.raises(NotSent, match=f"127.0.0.1:{port}"):
        connection.request("PUT", "/api/ios/1", b"{}")


def test_an_answer_that_never_comes_is_maybe_sent():
    with http_server() as server:
        connection = KeepAliveConnection(url(server.server_address[1]), timeout_s=0.3)
        with pytest.raises(MaybeSent, match="after the request was sent"):
            connection.request("PUT", "/slow", b"{}")
        assert len(server.seen) == 1  # it did arrive: `fail` here would be a lie
        time.sleep(1.0)
        assert connection.request("PUT", "/again", b"{}").status == 200  # a fresh connection afterwards


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_a_connection_closed_after_the_request_is_maybe_sent():
    with raw_server(lambda conn: read_request(conn)) as port:  # reads the request, closes without a word
        connection = KeepAliveConnection(url(port), timeout_s=2)
        with pytest.raises(MaybeSent, match="closed before a complete answer"):
            connection.request("PUT", "/api/ios/1", b"{}")


def test_an_answer_that_is_not_http_is_maybe_sent():
    def garbage(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")

    with raw_server(garbage) as port:
        connection = KeepAliveConnection(url(port), timeout_s=2)
        with pytest.raises(MaybeSent, match="not HTTP"):
            connection.request("PUT", "/api/ios/1", b"{}")


def test_only_plain_http_urls_are_accepted():
    with pytest.raises(ValueError, match="plain http"):
        KeepAliveConnection("https://tool:8080", timeout_s=1)
