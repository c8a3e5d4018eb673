"""The cloud-proxy: a small HTTP reverse proxy on the tool→cloud path, plus its control API.

Each request is handled in order: link cut → the connection is reset before anything is read;
error burst → the proxy answers the status itself (429/503 carry `Retry-After`); shaping → the
connection may be dropped after the request was read (the cloud never sees it, the tool sees a
reset), then latency ± jitter and the bandwidth cost of both bodies are slept; then the request is
forwarded with a fresh upstream connection and the whole answer relayed. An unreachable upstream
is answered 502. A cut that starts while a request is in flight drops its answer too.

The control API (second port, `X-Chaos-Token` on everything but GET /health):
GET /health, GET /mode, PUT /mode (layers named in the body), GET /stats. The token is checked
from the headers before any body is read; a refusal (401, a missing or malformed Content-Length
400, a body over MAX_CONTROL_BODY_BYTES 413) is answered and the connection closed with the body
left unread, so an unauthenticated client cannot make the proxy buffer anything (it runs under a
256 MB memory limit in the stack).
"""

from __future__ import annotations

import hmac
import http.client
import json
import re
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from battle.chaos.errors import ProxyControlError
from battle.chaos.proxy.config import ProxyConfig
from battle.chaos.proxy.state import ProxyState

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
    }
)
_IDLE_TIMEOUT_S = 120  # an idle keep-alive connection is closed after this
MAX_CONTROL_BODY_BYTES = 64 * 1024  # a mode is a few hundred bytes
_DIGITS = re.compile(r"[0-9]+")
_ROUTES = "routes: GET /health, GET|PUT /mode, GET /stats"


def _reset(sock: socket.socket) -> None:
    """Close with RST (linger 0): the client sees a reset, as on a broken link."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], config: ProxyConfig, state: ProxyState) -> None:
        self.config = config
        self.state = state
        parts = urlsplit(config.upstream)
        self.upstream_https = parts.scheme == "https"
        self.upstream_host = parts.hostname or ""
        self.upstream_port = parts.port or (443 if self.upstream_https else 80)
        self.upstream_prefix = parts.path.rstrip("/")
        self.upstream_netloc = parts.netloc
        super().__init__(address, _ProxyHandler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        if self.state.mode.cut:
            self.state.count("refused")
            _reset(request)
            return False
        return True


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = _IDLE_TIMEOUT_S
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # one line per request would drown the service log; /stats counts them

    def do_GET(self) -> None:
        self._relay()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _drop(self, counter: str) -> None:
        self.server.state.count(counter)
        self.close_connection = True
        _reset(self.connection)

    def _relay(self) -> None:
        state = self.server.state
        mode = state.mode
        if mode.cut:
            self._drop("refused")
            return
        body = self._read_body()
        if body is None:
            return
        if mode.errors and state.chance() < mode.errors.fraction:
            self._answer_error(mode.errors.status, mode.errors.retry_after_s)
            return
        if mode.shape:
            if mode.shape.drop_rate and state.chance() < mode.shape.drop_rate:
                self._drop("dropped")
                return
            self._shape_delay(mode.shape, len(body))
        try:
            status, reason, headers, answer = self._forward(body)
        except (OSError, http.client.HTTPException) as exc:
            state.count("upstream_errors")
            self._send(
                502,
                [("Content-Type", "application/json")],
                _error_body(f"cloud-proxy: upstream unreachable: {exc}"),
            )
            return
        if mode.shape:
            self._shape_bandwidth(mode.shape, len(answer))
        if state.mode.cut:  # the link went down while the request was in flight: the answer is lost
            self._drop("refused")
            return
        state.count("passed")
        self._send(status, headers, answer, reason)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            try:
                return self._read_chunked()
            except ValueError:
                self._bad_request("cloud-proxy: bad chunk size in a chunked body; accepted: hex digits")
                return None
        text = (self.headers.get("Content-Length") or "0").strip()
        if not _DIGITS.fullmatch(text):
            self._bad_request(f"cloud-proxy: Content-Length is {text[:40]!r}; accepted: a decimal number of bytes")
            return None
        length = int(text)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size < 0:
                raise ValueError(size)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _bad_request(self, text: str) -> None:
        self._send(400, [("Content-Type", "application/json"), ("Connection", "close")], _error_body(text))
        self.close_connection = True  # the rest of the body cannot be framed: never read it as a request

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        server = self.server
        factory = http.client.HTTPSConnection if server.upstream_https else http.client.HTTPConnection
        connection = factory(
            server.upstream_host, server.upstream_port, timeout=server.config.upstream_timeout_s
        )
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers["Host"] = server.upstream_netloc
            if body or self.command in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = str(len(body))
            connection.request(
                self.command, server.upstream_prefix + self.path, body=body or None, headers=headers
            )
            response = connection.getresponse()
            answer = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            if self.command == "HEAD" and response.getheader("Content-Length"):
                kept.append(("Content-Length", response.getheader("Content-Length") or "0"))
            return response.status, response.reason, kept, answer
        finally:
            connection.close()

    def _answer_error(self, status: int, retry_after_s: int) -> None:
        self.server.state.count("errored")
        headers = [("Content-Type", "application/json"), ("X-Battle-Chaos", "cloud-errors")]
        if status in (429, 503):
            headers.append(("Retry-After", str(retry_after_s)))
        text = "rate limited" if status == 429 else "service unavailable"
        self._send(status, headers, _error_body(f"{text} (injected by the battle cloud-proxy)"))

    def _shape_delay(self, shape: Any, request_bytes: int) -> None:
        jitter = self.server.state.uniform(-shape.jitter_ms, shape.jitter_ms) if shape.jitter_ms else 0.0
        seconds = max(0.0, shape.latency_ms + jitter) / 1000.0
        self._shape_bandwidth(shape, request_bytes, extra_s=seconds)

    @staticmethod
    def _shape_bandwidth(shape: Any, size: int, extra_s: float = 0.0) -> None:
        seconds = extra_s
        if shape.bandwidth_kbps > 0:
            seconds += size * 8 / (shape.bandwidth_kbps * 1000.0)
        if seconds > 0:
            time.sleep(seconds)

    def _send(
        self, status: int, headers: list[tuple[str, str]], body: bytes, reason: str | None = None
    ) -> None:
        self.send_response_only(status, reason)
        has_length = False
        for key, value in headers:
            has_length = has_length or key.lower() == "content-length"
            self.send_header(key, value)
        if not has_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _error_body(text: str) -> bytes:
    return json.dumps({"error": text}).encode("utf-8")


class _ControlServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], config: ProxyConfig, state: ProxyState) -> None:
        self.config = config
        self.state = state
        super().__init__(address, _ControlHandler)


class _ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = _IDLE_TIMEOUT_S  # a client that stalls mid-request does not hold a thread for ever
    server: _ControlServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _json(self, status: int, value: Any, close: bool = False) -> None:
        body = json.dumps(value, sort_keys=True).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        if close:
            self.close_connection = True

    def _refuse(self, status: int, message: str) -> None:
        """Answer and close without reading the body: whatever the client still sends is never read
        (the kernel drops it and resets the connection), so a refused body costs no memory."""
        self._json(status, {"error": message}, close=True)

    def _has_body(self) -> bool:
        return "Content-Length" in self.headers or "Transfer-Encoding" in self.headers

    def _authorized(self) -> bool:
        given = self.headers.get("X-Chaos-Token", "")
        if given and hmac.compare_digest(given.encode(), self.server.config.token.encode()):
            return True
        self._refuse(401, "missing or wrong X-Chaos-Token; send the run's CHAOS_TOKEN")
        return False

    def _body(self) -> bytes | None:
        """The request body, read only once its declared length is known to be acceptable."""
        if "Transfer-Encoding" in self.headers:
            self._refuse(
                400,
                f"Transfer-Encoding is not accepted on the control API; send a Content-Length "
                f"(at most {MAX_CONTROL_BODY_BYTES} bytes)",
            )
            return None
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) != 1 or not _DIGITS.fullmatch(lengths[0].strip()):
            got = "missing" if not lengths else f"{', '.join(lengths)[:40]!r}"
            self._refuse(
                400,
                f"Content-Length is {got}; accepted: one decimal number of bytes, at most "
                f"{MAX_CONTROL_BODY_BYTES}",
            )
            return None
        length = int(lengths[0].strip())
        if length > MAX_CONTROL_BODY_BYTES:
            self._refuse(
                413, f"the body is {length} bytes; accepted: at most {MAX_CONTROL_BODY_BYTES} bytes (64 KiB)"
            )
            return None
        return self.rfile.read(length)

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/health":
            self._json(200, {"status": "ok", "mode": state.mode.name}, close=self._has_body())
        elif not self._authorized():
            return
        elif self.path in ("/mode", "/stats"):
            # a GET body is never read; closing keeps it from being parsed as the next request
            value = state.mode.to_json() if self.path == "/mode" else state.stats()
            self._json(200, value, close=self._has_body())
        else:
            self._json(404, {"error": f"no route GET {self.path}; {_ROUTES}"}, close=self._has_body())

    def do_PUT(self) -> None:
        if not self._authorized():  # before the body: a refused body is never read
            return
        if self.path != "/mode":
            self._json(404, {"error": f"no route PUT {self.path}; {_ROUTES}"}, close=self._has_body())
            return
        raw = self._body()
        if raw is None:
            return
        try:
            body = json.loads(raw or b"null")
            mode = self.server.state.update(body)
        except json.JSONDecodeError as exc:
            self._json(400, {"error": f'the body is not JSON ({exc}); send e.g. {{"cut": true}}'})
            return
        except ProxyControlError as exc:
            self._json(400, {"error": str(exc)})
            return
        print(json.dumps({"event": "proxy.mode", "mode": mode.to_json()}, sort_keys=True), flush=True)
        self._json(200, mode.to_json())


class CloudProxy:
    """Both servers of one proxy; `start()` binds and serves in background threads."""

    def __init__(self, config: ProxyConfig, state: ProxyState | None = None) -> None:
        self.config = config
        self.state = state or ProxyState(config.seed)
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> tuple[int, int]:
        try:
            data = _ProxyServer((self.config.host, self.config.listen_port), self.config, self.state)
            control = _ControlServer((self.config.host, self.config.control_port), self.config, self.state)
        except OSError as exc:
            self.close()
            raise ProxyControlError(
                f"cannot bind the cloud-proxy on {self.config.host} ports {self.config.listen_port}/"
                f"{self.config.control_port}: {exc}; pick free ports or 0"
            ) from exc
        self._servers = [data, control]
        for server, name in ((data, "proxy-data"), (control, "proxy-control")):
            thread = threading.Thread(target=server.serve_forever, args=(0.2,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self.ports

    @property
    def ports(self) -> tuple[int, int]:
        return self._servers[0].server_address[1], self._servers[1].server_address[1]

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []
