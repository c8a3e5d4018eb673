"""Serve tags over EtherNet/IP with cpppo's server loop, bypassing its command-line `main()`.

Why not `cpppo.server.enip.main.main(argv)`: it takes tags as `name=TYPE` strings (so every tag
starts at the type's zero, not at the file's `initial`), reads cpppo.cfg files from the working
directory, and — the expensive part — hands the whole tag table to `logix.process` with every
request, whose `logix.setup(tags=...)` then re-registers all ~1,644 tags: ~10 ms on every request,
so a cold full read (pylogix discovers each tag's type with its own request) took ~19 s. Here the
tags are registered once and each request is processed without them (cold full read ~5.5 s,
single request ~2.4 ms); reads and writes resolve a tag through cpppo's symbol table.

The per-request delay uses cpppo's own hook: `enip_srv`'s `delay` argument, which sleeps in the
connection's thread after the request is processed and before the reply is sent — so every
EtherNet/IP reply (one per multi-read packet, not per tag) is late. cpppo reads `delay.value`
(seconds) afresh for every reply, so a `DelaySource` goes there: DELAY_MS, or the chaos fault's
number from PLC_DELAY_FILE while that file exists.

cpppo keeps its CIP object directory in module globals, so there is one simulator per process;
a restart (new process) is what resets every tag.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

from cpppo.dotdict import dotdict
from cpppo.server import network
from cpppo.server.enip import device, logix, parser
from cpppo.server.enip.main import enip_srv

from sut.plcsim.config import PlcSimConfig
from sut.plcsim.delay_file import DelaySource
from sut.plcsim.errors import PlcSimError
from sut.plcsim.tags import TagSpec

_CIP_TYPES = {"BOOL": parser.BOOL, "DINT": parser.DINT, "REAL": parser.REAL}
# How often cpppo's accept loop and connection threads look at the done flag; bounds stop() time.
_POLL_S = 0.1

_process_claimed = threading.Lock()


def build_cpppo_tags(specs: Sequence[TagSpec]) -> dict[str, dotdict]:
    """One cpppo tag entry (a scalar Attribute holding `initial`) per spec."""
    entries: dict[str, dotdict] = {}
    for spec in specs:
        # cpppo converts assigned values with type(default)(v), so the default's Python type
        # decides what a write stores: int for BOOL/DINT, float for REAL.
        default: int | float = float(spec.initial) if spec.type == "REAL" else int(spec.initial)
        entry = dotdict()
        entry.attribute = device.Attribute(spec.name, _CIP_TYPES[spec.type], default=default)
        entry.path = None
        entry.error = 0x00
        entries[spec.name] = entry
    return entries


def _process_request(addr: Any, data: Any, **kwds: Any) -> Any:
    # Tags were registered once at start; keeping them out of kwds stops logix.setup from walking
    # the whole table on every request.
    kwds.pop("tags", None)
    return logix.process(addr, data, **kwds)


def ensure_port_free(host: str, port: int) -> None:
    """Refuse a port another listener holds.

    cpppo binds with SO_REUSEPORT, so a second server on a taken port would silently share it
    (the kernel would spread clients over both); probing without SO_REUSEPORT turns that into a
    clear error. SO_REUSEADDR keeps a restart on the same port possible while old connections
    sit in TIME_WAIT.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        raise PlcSimError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; another process holds the port "
            "(an old simulator still running?) — stop it or set PLC_PORT/--port"
        ) from None
    finally:
        probe.close()


class PlcSimulator:
    """The EtherNet/IP server in a background thread; `start` returns once it is listening."""

    def __init__(self, config: PlcSimConfig, specs: Sequence[TagSpec]):
        self._config = config
        self._specs = list(specs)
        self._control: dict[str, Any] = {"done": False, "disable": False, "latency": _POLL_S, "timeout": 1.0}
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def tag_count(self) -> int:
        return len(self._specs)

    def start(self, timeout_s: float = 30.0) -> tuple[str, int]:
        """Register the tags, start serving, and return the bound (host, port)."""
        if not _process_claimed.acquire(blocking=False):
            raise PlcSimError(
                "a simulator already ran in this process; cpppo keeps tags in module globals, "
                "so start a new process for a fresh PLC"
            )
        if self._config.port != 0:
            ensure_port_free(self._config.host, self._config.port)
        logix.setup(tags=build_cpppo_tags(self._specs))
        delay: DelaySource | float | None = self._config.delay_ms / 1000.0 or None
        if self._config.delay_file is not None:
            delay = DelaySource(self._config.delay_file, self._config.delay_ms)
        kwargs = {
            "enip_process": _process_request,
            "delay": delay,
            "server": {"control": self._control},
            "latency": _POLL_S,
            "size": None,
        }
        self._thread = threading.Thread(target=self._serve, args=(kwargs,), name="plcsim-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while "address" not in self._control:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._control["done"] = True
                raise PlcSimError(
                    f"EtherNet/IP server did not start listening on {self._config.host}:{self._config.port}: "
                    f"{self._failure or 'timed out'}"
                )
            time.sleep(0.01)
        host, port = self._control["address"][:2]
        return str(host), int(port)

    def _serve(self, kwargs: dict[str, Any]) -> None:
        try:
            network.server_main(
                address=(self._config.host, self._config.port),
                target=enip_srv,
                kwargs=kwargs,
                tcp=True,
                udp=False,  # pylogix uses TCP only; UDP would need its own free port with port 0
            )
        except BaseException as exc:  # reported by start() or is_serving(); the thread must not die silently
            self._failure = exc

    def is_serving(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def failure(self) -> BaseException | None:
        return self._failure

    def stop(self, timeout_s: float = 5.0) -> None:
        self._control["done"] = True
        if self._thread is not None:
            self._thread.join(timeout_s)
