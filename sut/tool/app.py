"""The tool's HTTP API (docs/contracts.md section 3): the tablet's IO list and field writes.

Errors are JSON `{"error": "..."}` with a 4xx status, and a refused request writes nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from sut.tool import undo
from sut.tool.audit import AuditTrail, audit_for, progress_by_card
from sut.tool.cell_routes import register_cell_routes
from sut.tool.cells import CellSheet
from sut.tool.config import ToolConfig
from sut.tool.db import ToolDb
from sut.tool.errors import BadRequest
from sut.tool.events import EventLog
from sut.tool.plc import PlcStatus
from sut.tool.tickets import ticket_refs
from sut.tool.timeutil import utc_iso
from sut.tool.validation import parse_mark

MAX_BODY_BYTES = 64 * 1024


@dataclass
class ToolServices:
    """What request handlers share with the workers; built once by the entry point."""

    config: ToolConfig
    db: ToolDb
    events: EventLog
    plc_status: PlcStatus = field(default_factory=PlcStatus)
    worker_errors: Callable[[], dict[str, int]] = dict
    started_monotonic: float = field(default_factory=time.monotonic)
    audit: AuditTrail | None = None


def create_app(config: ToolConfig, services: ToolServices | None = None) -> Flask:
    if services is None:
        db = ToolDb(config.db_path)
        db.initialise()
        services = ToolServices(config=config, db=db, events=EventLog(path=config.event_log))
    if services.audit is None:
        services.audit = audit_for(config.data_dir, stall_bug=config.has_bug("stall"),
                                   progress=lambda: progress_by_card(services.db.list_ios(config.subsystem_id)))
    app = Flask("sut.tool")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    _register_errors(app)
    _register_routes(app, services)
    register_cell_routes(app, config, CellSheet(services.db))
    return app


def _error(message: str, status: int) -> tuple[Any, int]:
    return jsonify({"error": message}), status


def _audit_view(io: dict[str, Any]) -> dict[str, Any]:
    return {k: io[k] for k in ("name", "tagName", "result", "comments", "version", "updatedAt")}


def _register_errors(app: Flask) -> None:
    @app.errorhandler(BadRequest)
    def _bad_request(exc: BadRequest) -> tuple[Any, int]:
        return _error(str(exc), exc.status)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Any, int]:
        hints = {404: "no such route; see GET /api/health, /api/ios, /api/cells, /api/sync/queue, /api/plc",
                 405: f"method {request.method} not allowed on {request.path}",
                 413: f"body too large; at most {MAX_BODY_BYTES} bytes accepted"}
        return _error(hints.get(exc.code or 500, exc.description or exc.name), exc.code or 500)


def _register_routes(app: Flask, services: ToolServices) -> None:
    config, db = services.config, services.db

    @app.get("/api/health")
    def health() -> Any:
        assert services.audit is not None
        return jsonify({"status": "ok", "pid": os.getpid(),
                        "uptimeS": round(time.monotonic() - services.started_monotonic, 3),
                        "auditEntries": services.audit.entries()})

    @app.get("/api/ios")
    def list_ios() -> Any:
        raw = request.args.get("subsystemId", str(config.subsystem_id))
        try:
            subsystem = int(raw)
        except ValueError:
            raise BadRequest(f"subsystemId={raw!r} is not an integer; e.g. subsystemId={config.subsystem_id}") from None
        return jsonify({"ios": db.list_ios(subsystem)})

    @app.get("/api/ios/<int:io_id>")
    def get_io(io_id: int) -> Any:
        io = db.get_io(io_id)
        if io is None:
            raise BadRequest(f"unknown IO {io_id}; GET /api/ios lists the IOs", status=404)
        return jsonify(io)

    @app.put("/api/ios/<int:io_id>")
    def mark_io(io_id: int) -> Any:
        mark = parse_mark(request.get_data(cache=False))
        ticket_refs(io_id, mark.result, mark.comments, crash_bug=config.has_bug("crash"))
        previous = db.get_io(io_id)
        if previous is None:
            raise BadRequest(f"unknown IO {io_id}; GET /api/ios lists the IOs", status=404)
        now = utc_iso()
        io = db.mark_io(io_id, mark.stored_result, mark.comments, now)
        if io is None:  # retired by a pull between the two statements
            raise BadRequest(f"unknown IO {io_id}; it was just retired by the cloud", status=404)
        assert services.audit is not None
        services.audit.record({"ts": now, "ioId": io_id, "user": mark.current_user, "result": mark.result,
                               "before": _audit_view(previous), "after": _audit_view(io)})
        undo.remember(db, previous, keep_page=config.has_bug("leak"))
        return jsonify(io)

    @app.get("/api/sync/queue")
    def sync_queue() -> Any:
        active, parked = db.queue_counts()
        return jsonify({"active": active, "parked": parked, "parkedRows": db.parked_rows()})

    @app.get("/api/plc")
    def plc() -> Any:
        return jsonify(services.plc_status.snapshot())

    @app.get("/api/workers")
    def workers() -> Any:
        return jsonify({"errors": services.worker_errors()})
