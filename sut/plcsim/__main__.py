"""`python -m sut.plcsim [--tags FILE] [--port N] [--host H] [--delay-ms N] [--delay-file PATH]`.

Flags beat the environment (PLC_HOST, PLC_PORT, PLC_TAGS_FILE, DELAY_MS, PLC_DELAY_FILE). Exit codes: 0 after a
clean SIGTERM/SIGINT, 1 if the server thread died, 2 for bad configuration or an unusable tag file.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from sut.plcsim.config import PlcSimConfig, parse_delay_ms, parse_port
from sut.plcsim.errors import PlcSimError
from sut.plcsim.events import emit_event
from sut.plcsim.server import PlcSimulator
from sut.plcsim.tags import load_tag_file


def build_config(argv: Sequence[str] | None, environ: Mapping[str, str] | None = None) -> PlcSimConfig:
    parser = argparse.ArgumentParser(prog="python -m sut.plcsim", description="EtherNet/IP PLC simulator")
    parser.add_argument("--tags", help="plc_tags.json to serve (env PLC_TAGS_FILE)")
    parser.add_argument("--port", help="TCP port, 0 = any free port (env PLC_PORT, default 44818)")
    parser.add_argument("--host", help="interface to bind (env PLC_HOST, default 0.0.0.0)")
    parser.add_argument("--delay-ms", help="delay before every reply, ms (env DELAY_MS, default 0)")
    parser.add_argument(
        "--delay-file",
        help="file whose number of ms overrides --delay-ms while it exists; '' = none "
        "(env PLC_DELAY_FILE, default /tmp/plc_delay_ms)",
    )
    args = parser.parse_args(argv)
    return PlcSimConfig.from_env(environ).with_overrides(
        host=args.host,
        port=None if args.port is None else parse_port(args.port, "--port"),
        tags_file=None if args.tags is None else Path(args.tags),
        delay_ms=None if args.delay_ms is None else parse_delay_ms(args.delay_ms, "--delay-ms"),
        delay_file=args.delay_file,
    )


def main(argv: Sequence[str] | None = None) -> int:
    # cpppo logs every connection at its NORMAL level; keep stderr for warnings and errors.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        config = build_config(argv)
        specs = load_tag_file(config.tags_file)
        simulator = PlcSimulator(config, specs)
        host, port = simulator.start()
    except PlcSimError as exc:
        print(f"plcsim: {exc}", file=sys.stderr, flush=True)
        emit_event("plcsim.error", error=str(exc))
        return 2

    stop_requested = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop_requested.set())
    emit_event(
        "plcsim.start", tags=simulator.tag_count, port=port, host=host, delayMs=config.delay_ms,
        delayFile=None if config.delay_file is None else str(config.delay_file),
    )

    while not stop_requested.wait(0.5):
        if not simulator.is_serving():
            emit_event("plcsim.failed", error=str(simulator.failure or "server loop ended"))
            return 1
    simulator.stop()
    emit_event("plcsim.stop", port=port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
