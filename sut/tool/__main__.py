"""`python -m sut.tool`: validate, prepare the database, start the workers, serve until SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from collections.abc import Mapping
from types import FrameType

import waitress

from sut.tool.app import ToolServices, create_app
from sut.tool.cell_pull import CellPullWorker
from sut.tool.cell_push import CellPushWorker
from sut.tool.config import ToolConfig
from sut.tool.db import ToolDb
from sut.tool.errors import ConfigError, ToolError
from sut.tool.events import EventLog
from sut.tool.health import HealthWorker
from sut.tool.plc import PlcStatus, PlcWorker
from sut.tool.pull import PullWorker
from sut.tool.push import PushWorker
from sut.tool.supervisor import Supervisor

EXIT_OK = 0
EXIT_CONFIG = 2


def ensure_database(config: ToolConfig) -> bool:
    """Copy the seed database in when the data folder has none; True when it did."""
    if config.db_path.exists():
        return False
    if config.seed_dir is None:
        raise ConfigError(f"no database at {config.db_path} and TOOL_SEED_DIR is not set; "
                          "point TOOL_SEED_DIR at a folder made by `python -m seed generate`")
    seed_db = config.seed_dir / "tool.db"
    if not seed_db.is_file():
        raise ConfigError(f"no database at {config.db_path} and no seed database at {seed_db}; "
                          "run `python -m seed generate --out <TOOL_SEED_DIR>` first")
    config.data_dir.mkdir(parents=True, exist_ok=True)
    partial = config.db_path.with_suffix(".db.copying")
    shutil.copyfile(seed_db, partial)
    os.replace(partial, config.db_path)  # a kill mid-copy must not leave a half database behind
    return True


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(EXIT_OK)


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    try:
        config = ToolConfig.from_env(env)
        seeded = ensure_database(config)
    except ToolError as exc:
        print(f"sut.tool: {exc}", file=sys.stderr, flush=True)
        return EXIT_CONFIG
    events = EventLog(path=config.event_log)
    db = ToolDb(config.db_path)
    db.initialise()
    supervisor = Supervisor(events)
    plc_status = PlcStatus()
    services = ToolServices(config=config, db=db, events=events, plc_status=plc_status,
                            worker_errors=supervisor.error_counts, started_monotonic=time.monotonic())
    app = create_app(config, services)
    server = waitress.create_server(app, host=config.host, port=config.port, threads=config.threads)
    events.emit("server.start", pid=os.getpid(), bugs=sorted(config.bugs), port=int(server.effective_port),  # type: ignore[union-attr]
                seeded=seeded, cloud=config.cloud_url, plc=config.plc_host)
    if config.cloud_url:
        supervisor.start(PushWorker(config, db, events))
        supervisor.start(PullWorker(config, db, events))
        supervisor.start(CellPushWorker(config, db, events))
        supervisor.start(CellPullWorker(config, db, events))
    if config.plc_host:
        supervisor.start(PlcWorker(config, db, events, plc_status))
    supervisor.start(HealthWorker(db, events, config.health_interval_s, supervisor.error_counts))
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    try:
        server.run()
    except SystemExit:
        pass
    finally:
        supervisor.stop()
        server.close()
        events.emit("server.stop", pid=os.getpid())
        db.close_all()
        events.close()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
