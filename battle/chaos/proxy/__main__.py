"""`python -m battle.chaos.proxy`: run the cloud-proxy until SIGTERM/SIGINT.

Environment: PROXY_UPSTREAM (required), CHAOS_TOKEN (required), PROXY_HOST (127.0.0.1),
PROXY_LISTEN_PORT (8090), PROXY_CONTROL_PORT (8091), PROXY_SEED (else SEED, else 1).
Ports may be 0; the bound ports are printed as one JSON line on stdout:
{"event": "proxy.listening", "listenPort": N, "controlPort": M, "upstream": URL}.
Exit codes: 0 after a signal, 2 on bad configuration or a port that cannot be bound.
"""

from __future__ import annotations

import json
import signal
import sys
import threading

from battle.chaos.errors import ChaosError
from battle.chaos.proxy.config import ProxyConfig
from battle.chaos.proxy.server import CloudProxy


def main() -> int:
    try:
        config = ProxyConfig.from_env()
        proxy = CloudProxy(config)
        listen_port, control_port = proxy.start()
    except ChaosError as exc:
        print(f"cloud-proxy: {exc}", file=sys.stderr, flush=True)
        return 2
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    print(
        json.dumps(
            {
                "event": "proxy.listening",
                "listenPort": listen_port,
                "controlPort": control_port,
                "upstream": config.upstream,
            }
        ),
        flush=True,
    )
    while not done.wait(1.0):
        pass
    proxy.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
