"""`python -m sut.cloud`: read the environment once, open the store, serve with waitress."""

from __future__ import annotations

import os
import signal
import sys
import time
from types import FrameType

import waitress

from .app import create_app
from .config import CloudConfig
from .errors import CloudError, StoreUnavailable
from .events import emit
from .store import Store, open_store

EXIT_CONFIG = 2


def _open_store_waiting(config: CloudConfig) -> Store:
    """cloud-db may still be starting when the cloud does: retry for config.db_wait_s, then give up."""
    deadline = time.monotonic() + config.db_wait_s
    attempt = 0
    while True:
        attempt += 1
        try:
            return open_store(config)
        except StoreUnavailable as exc:
            if time.monotonic() >= deadline:
                raise StoreUnavailable(
                    f"{exc} (gave up after {attempt} attempts over {config.db_wait_s:.0f} s; "
                    "check CLOUD_DATABASE_URL and that the database is up)"
                ) from exc
            emit("store.waiting", attempt=attempt, error=str(exc))
            time.sleep(1.0)


def _stop(_signum: int, _frame: FrameType | None) -> None:
    # waitress's run() turns SystemExit into an orderly close.
    raise SystemExit(0)


def main() -> int:
    try:
        config = CloudConfig.from_env()
        store = _open_store_waiting(config)
    except (CloudError, OSError) as exc:
        emit("server.fatal", error=str(exc))
        print(f"cloud: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        app = create_app(config, store=store)
        server = waitress.create_server(app, host=config.host, port=config.port, threads=config.threads)
    except (CloudError, OSError) as exc:
        store.close()
        emit("server.fatal", error=str(exc))
        print(f"cloud: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    signal.signal(signal.SIGTERM, _stop)
    emit(
        "server.start",
        pid=os.getpid(),
        host=config.host,
        port=server.effective_port,  # type: ignore[union-attr]
        backend=store.backend_name,
        seeded=app.extensions["battle_cloud"].seeded,
        cursor=store.cursor(),
        rateLimitPerMin=config.rate_limit_per_min,
    )
    try:
        server.run()
    finally:
        store.close()
        emit("server.stop", pid=os.getpid())
    return 0


if __name__ == "__main__":
    sys.exit(main())
