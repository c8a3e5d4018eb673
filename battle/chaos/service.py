"""The chaos service: plan runner + HTTP API served by waitress (`python -m battle chaos`).

In the Docker stack: `serve_chaos(ChaosServiceConfig.from_env(), docker_driver_for(config))`.

`serve_chaos(config, driver, proxy_client)` blocks until SIGTERM/SIGINT and calms before exiting,
so stopping the chaos service never leaves a fault behind. `ChaosService` is the same thing
without blocking, for the local backend (run in-process) and tests.

It listens on loopback unless CHAOS_HOST says otherwise (the compose stack sets it, see
docker-compose.battle.yml). waitress reads a request's whole body (past 512 KB into a temporary
file) before the app runs, so a token check in the app alone would come after reading whatever an
unauthenticated client sends. The server's parser therefore applies the API's `gate` (token, then
Content-Length, at most 64 KiB) as soon as the headers are in, answers a refusal itself and closes
the connection without reading the body; `max_request_body_size` bounds what waitress reads in any
case to the same 64 KiB.

Dead-man's switch: with `CHAOS_HEARTBEAT_FILE` set (the stack sets it to the run's
`control/heartbeat`), the plan runner reads that file on every turn and calms on its own when the
observer's heartbeat, once seen, stays unchanged for longer than the knob `DEADMAN_S`
(battle/chaos/deadman.py).
"""

from __future__ import annotations

import http
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import waitress
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.utilities import Error as WaitressError

from battle.chaos.api import MAX_BODY_BYTES, create_chaos_app, gate
from battle.chaos.deadman import DeadmanSwitch, file_beat
from battle.chaos.drivers import RuntimeDriver
from battle.chaos.errors import ChaosError
from battle.chaos.ledger import Ledger
from battle.chaos.runner import PlanRunner

_EMPTY_PLAN: dict[str, Any] = {"schema": 1, "faults": []}
DEFAULT_HOST = "127.0.0.1"  # loopback unless told: the stack names its network explicitly


@dataclass(frozen=True)
class ChaosServiceConfig:
    token: str
    ledger_path: Path  # runs/<id>/injected.jsonl
    plan_path: Path | None = None  # runs/<id>/plan.json; None = API-only
    host: str = DEFAULT_HOST
    port: int = 8088  # 0 = any free port
    plan_start: str = "boot"  # "boot": the plan begins when the service starts; "api": on POST /plan/start
    proxy_url: str | None = None  # cloud-proxy control API, e.g. http://cloud-proxy:8091
    project: str = ""  # compose project (Docker backend)
    network: str | None = None  # the network to cut (Docker backend; default: the only one attached)
    plc_delay_file: str = "/tmp/plc_delay_ms"
    heartbeat_path: Path | None = None  # runs/<id>/control/heartbeat; None = no dead-man's switch
    deadman_s: float = 60.0  # the knob DEADMAN_S

    def __post_init__(self) -> None:
        if not self.token:
            raise ChaosError("CHAOS_TOKEN is empty; the chaos API refuses to run without a token")
        if self.plan_start not in ("boot", "api"):
            raise ChaosError(f"CHAOS_PLAN_START is {self.plan_start!r}; accepted: boot, api")

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> ChaosServiceConfig:
        plan = env.get("CHAOS_PLAN_FILE", "")
        try:
            port = int(env.get("CHAOS_PORT", "8088"))
        except ValueError:
            raise ChaosError(
                f"CHAOS_PORT is {env.get('CHAOS_PORT')!r}; accepted: an integer 0..65535"
            ) from None
        return cls(
            token=env.get("CHAOS_TOKEN", ""),
            ledger_path=Path(env.get("CHAOS_LEDGER_FILE", "injected.jsonl")),
            plan_path=Path(plan) if plan else None,
            host=env.get("CHAOS_HOST", DEFAULT_HOST),
            port=port,
            plan_start=env.get("CHAOS_PLAN_START", "boot"),
            proxy_url=env.get("CHAOS_PROXY_URL") or None,
            project=env.get("COMPOSE_PROJECT_NAME", ""),
            network=env.get("CHAOS_NETWORK") or None,
            plc_delay_file=env.get("PLC_DELAY_FILE", "/tmp/plc_delay_ms"),
            heartbeat_path=Path(env["CHAOS_HEARTBEAT_FILE"]) if env.get("CHAOS_HEARTBEAT_FILE") else None,
            deadman_s=_deadman_s(env),
        )

    @classmethod
    def from_env(cls) -> ChaosServiceConfig:
        return cls.from_mapping(os.environ)


def _deadman_s(env: Mapping[str, str]) -> float:
    """The knob DEADMAN_S as the run resolved it (explicit environment > scenario > default)."""
    from battle.config import ConfigError, resolve

    try:
        return float(resolve(env).value("DEADMAN_S"))
    except ConfigError as exc:
        raise ChaosError(f"the chaos service cannot read its knobs: {exc}") from exc


def deadman_for(config: ChaosServiceConfig, clock: Callable[[], float] = time.monotonic) -> DeadmanSwitch | None:
    if config.heartbeat_path is None:
        return None
    return DeadmanSwitch(file_beat(config.heartbeat_path), config.deadman_s, clock,
                         what=f"the observer's heartbeat ({config.heartbeat_path})")


def load_plan(path: Path | None) -> dict[str, Any]:
    if path is None:
        return dict(_EMPTY_PLAN)
    try:
        plan = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ChaosError(
            f"cannot read the fault plan {path}: {exc}; write it with battle.chaos.plan first"
        ) from exc
    if not isinstance(plan, dict):
        raise ChaosError(f"the fault plan {path} is not a JSON object")
    return plan


def proxy_client_for(config: ChaosServiceConfig) -> Any:
    if not config.proxy_url:
        return None
    from battle.chaos.proxy.client import ProxyClient

    return ProxyClient(config.proxy_url, config.token)


def docker_driver_for(config: ChaosServiceConfig) -> RuntimeDriver:
    """The Docker backend's driver for this config (the engine from DOCKER_HOST or the socket)."""
    from battle.chaos.docker_driver import DockerDriver

    return DockerDriver.from_env(config.project, network=config.network, delay_file=config.plc_delay_file)


class _Refusal(WaitressError):
    """A refusal waitress answers itself, as JSON like the app's own errors."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.code = status
        self.reason = http.HTTPStatus(status).phrase

    def to_response(self, ident: str | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
        body = json.dumps({"error": self.body}).encode("utf-8")
        return f"{self.code} {self.reason}", [("Content-Type", "application/json")], body


def gated_channel(token: str) -> type[HTTPChannel]:
    """A waitress channel whose parser applies the API's gate once the headers are in."""

    class GatedParser(HTTPRequestParser):
        def parse_header(self, header_plus: bytes) -> None:
            try:
                super().parse_header(header_plus)
            except ParsingError:
                # waitress refuses e.g. a Content-Length that is not all digits; once the request
                # line is read, the gate answers first (401 without the token, else its own 400).
                if getattr(self, "path", None) is None or not self._refused():
                    raise
                return
            self._refused()

        def _refused(self) -> bool:
            refused = gate(
                self.path,
                self.headers.get("X_CHAOS_TOKEN"),  # waitress's spelling of X-Chaos-Token
                self.headers.get("CONTENT_LENGTH"),
                bool(getattr(self, "chunked", False)),  # set by waitress for Transfer-Encoding: chunked
                token,
            )
            if refused is None:
                return False
            self.error = _Refusal(*refused)
            # Read none of the body: no receiver and no length, so the request completes with the
            # headers; no "100 Continue" to invite it. The error task answers and closes.
            self.body_rcv = None
            self.content_length = 0
            self.chunked = False
            self.expect_continue = False
            self.connection_close = True
            return True

    class GatedChannel(HTTPChannel):
        parser_class = GatedParser

    return GatedChannel


class ChaosService:
    def __init__(
        self,
        config: ChaosServiceConfig,
        driver: RuntimeDriver,
        proxy_client: Any = None,
        *,
        plan: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.ledger = Ledger(config.ledger_path)
        self.runner = PlanRunner(
            plan if plan is not None else load_plan(config.plan_path),
            driver,
            proxy_client,
            self.ledger,
            clock,
            deadman=deadman_for(config, clock),
        )
        self.app = create_chaos_app(self.runner, driver, config.ledger_path, config.token)
        # waitress refuses a Content-Length >= max_request_body_size: +1 makes 64 KiB itself pass,
        # as the gate does.
        self._server = waitress.create_server(
            self.app, host=config.host, port=config.port, threads=4, max_request_body_size=MAX_BODY_BYTES + 1
        )
        self._server.channel_class = gated_channel(config.token)  # before the first accept (in start)
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> None:
        """Start the plan loop (and the plan itself when plan_start is "boot") and serve in a thread."""
        self.runner.start(begin_plan=self.config.plan_start == "boot")
        self._thread = threading.Thread(target=self._serve, name="chaos-api", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        # waitress's own run() loops until every kept-alive client connection is gone; this loop
        # also stops on close(), and closes what is left from the serving thread itself.
        server = self._server
        while not self._closing.is_set() and server._map:
            server.asyncore.loop(timeout=0.2, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1)
        for channel in list(server._map.values()):
            channel.close()
        server.task_dispatcher.shutdown()

    def close(self) -> dict[str, Any]:
        """Calm (restore everything), stop serving; returns the calm report."""
        report = self.runner.calm().to_json()
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.ledger.close()
        return report


def serve_chaos(config: ChaosServiceConfig, driver: RuntimeDriver, proxy_client: Any = None,
                on_service: Callable[[ChaosService], object] | None = None) -> int:
    """Serve until SIGTERM/SIGINT, then calm. Returns 0, or 2 if a fault could not be restored.
    `on_service` wires the service to the rest of the chaos process (e.g. the engine's events)."""
    service = ChaosService(
        config, driver, proxy_client if proxy_client is not None else proxy_client_for(config)
    )
    if on_service is not None:
        on_service(service)
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    service.start()
    print(
        json.dumps(
            {"event": "chaos.listening", "port": service.port, "backend": getattr(driver, "backend", "?")}
        ),
        flush=True,
    )
    while not done.wait(1.0):
        pass
    report = service.close()
    print(json.dumps({"event": "chaos.calm", **report}, sort_keys=True), flush=True)
    if not report["ok"]:
        print(
            "chaos: some faults could not be restored or targets are not running; see the ledger",
            file=sys.stderr,
        )
        return 2
    return 0
