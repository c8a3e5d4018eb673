"""A bot's HTTP/1.1 connection to the tool: one kept-alive socket, requests framed here, answers parsed by httptools.

Why not `requests`: at zero think time it cost ~1,000 µs of CPU per op, as much as the tool spent answering,
so the harness, not the system under test, set the ceiling on a 2-core runner (issue 9). `http.client` cost
~180 µs (its header parsing goes through the email package), this ~60 µs. The answer is parsed by httptools
(the llhttp parser that uvicorn uses), so only the request line and three headers are written here.

What a failure means is the journal's contract (`battle.crew.outcome`): the socket layer knows exactly
whether a byte of the request could have left, so it says so instead of a message being guessed from:
- `NotSent`: no connection could be opened (refused, unreachable, connect timeout): never applied;
- `MaybeSent`: anything after the connection was open (a reset, a timeout waiting for the answer, a
  connection closed mid-answer, an answer that is not HTTP): the tool may have applied it.
"""

from __future__ import annotations

import select
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools


class WireError(Exception):
    """One request did not get an answer; the subclass says whether it may have reached the tool."""


class NotSent(WireError):
    """No connection could be opened: the request never left."""


class MaybeSent(WireError):
    """The connection was open when it failed: the request may have been applied."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class _Reader:
    """httptools callbacks: the body and whether the message is complete."""

    def __init__(self) -> None:
        self.body = bytearray()
        self.complete = False
        self.keep_alive = False
        self.parser: httptools.HttpResponseParser | None = None

    def on_body(self, chunk: bytes) -> None:
        self.body += chunk

    def on_message_complete(self) -> None:
        # llhttp answers should_keep_alive() only inside the callbacks: after it returns, always False.
        self.keep_alive = self.parser is not None and bool(self.parser.should_keep_alive())
        self.complete = True


class KeepAliveConnection:
    """One bot's connection to one base URL (http:// only). Not thread-safe: one per bot."""

    def __init__(self, base_url: str, timeout_s: float, connect_timeout_s: float | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the crew speaks plain http:// to the tool; got {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s if connect_timeout_s is not None else min(timeout_s, 5.0)
        self._host_header = f"Host: {parts.netloc}\r\n".encode("ascii")
        self._sock: socket.socket | None = None
        self._idle_check: select.poll | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str = "application/json") -> Answer:
        sock = self._usable_socket()
        head = f"{method} {self.prefix}{path} HTTP/1.1\r\n".encode("ascii") + self._host_header
        if body is not None:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n".encode("ascii")
        try:
            sock.sendall(head + b"\r\n" + (body or b""))
            return self._answer(sock)
        except MaybeSent:
            self.close()
            raise
        except OSError as exc:  # reset, broken pipe, timeout: the connection was open, so maybe applied
            self.close()
            raise MaybeSent(f"{type(exc).__name__} after the request was sent: {exc}") from exc

    def _usable_socket(self) -> socket.socket:
        if self._idle_check is not None and self._idle_check.poll(0):
            self.close()  # the tool restarted or closed an idle connection: open a new one
        if self._sock is None:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout_s)
            except OSError as exc:
                raise NotSent(f"cannot connect to {self.host}:{self.port}: {type(exc).__name__}: {exc}") from exc
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.timeout_s)
            self._sock = sock
            # A kept-alive socket that is readable while idle was closed by the tool (restart, idle timeout)
            # or holds bytes nobody asked for: either way it is not reused.
            self._idle_check = select.poll()
            self._idle_check.register(sock, select.POLLIN)
        return self._sock

    def _answer(self, sock: socket.socket) -> Answer:
        reader = _Reader()
        parser = reader.parser = httptools.HttpResponseParser(reader)
        while not reader.complete:
            chunk = sock.recv(65536)
            if not chunk:
                raise MaybeSent("the connection closed before a complete answer")
            try:
                parser.feed_data(chunk)
            except httptools.HttpParserError as exc:
                raise MaybeSent(f"the answer is not HTTP/1.1: {exc}") from exc
        if not reader.keep_alive:
            self.close()
        return Answer(int(parser.get_status_code()), bytes(reader.body))

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._idle_check = None

