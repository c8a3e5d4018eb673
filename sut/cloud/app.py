"""Flask app factory for the reference cloud (routes in docs/contracts.md section 2)."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from .cell_routes import register_cell_routes
from .cells import CellStore
from .config import CloudConfig
from .errors import CursorAhead, RequestError, StoreUnavailable
from .events import emit
from .ratelimit import Clock, SlidingWindowLimiter
from .seeding import read_seed_file, read_sheet_seed
from .store import Store, open_store
from .validation import parse_int_arg, parse_json_object, parse_new_io, parse_patch, parse_push

EXTENSION_KEY = "battle_cloud"
MAX_BODY_BYTES = 2 * 1024 * 1024
UNAVAILABLE_RETRY_AFTER_S = 1


@dataclass(frozen=True)
class CloudState:
    config: CloudConfig
    store: Store
    limiter: SlidingWindowLimiter
    seeded: int  # IOs loaded from the seed file at start (0 when the database already had data)


def create_app(config: CloudConfig, *, store: Store | None = None, clock: Clock = time.monotonic) -> Flask:
    """Build the app. Opens the configured store unless one is given; loads the seed into an empty store."""
    owns_store = store is None
    if store is None:
        store = open_store(config)
    try:
        seeded = store.load_seed_if_empty(read_seed_file(config.seed_file)) if config.seed_file else 0
        cells = CellStore(store.backend)
        if config.seed_file:
            cells.load_seed_if_empty(*read_sheet_seed(config.seed_file))
    except BaseException:
        if owns_store:
            store.close()
        raise

    app = Flask("sut.cloud")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    state = CloudState(
        config=config,
        store=store,
        limiter=SlidingWindowLimiter(config.rate_limit_per_min, config.rate_window_s, clock),
        seeded=seeded,
    )
    app.extensions[EXTENSION_KEY] = state
    _register_guard(app, state)
    _register_sync_routes(app, state.store, config)
    _register_admin_routes(app, state.store)
    register_cell_routes(app, cells, config)
    _register_error_handlers(app)
    return app


def cloud_state(app: Flask) -> CloudState:
    return app.extensions[EXTENSION_KEY]


def _error(status: int, message: str, **extra: Any) -> Response:
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def _register_guard(app: Flask, state: CloudState) -> None:
    accepted = [k.encode() for k in state.config.api_keys]

    @app.before_request
    def authenticate_and_limit() -> Response | None:
        if not request.path.startswith("/api/") or request.path == "/api/health":
            return None
        key = request.headers.get("X-API-Key", "")
        if not key:
            return _error(401, "missing X-API-Key header; accepted: one of the keys in CLOUD_API_KEYS")
        # Compare every key in constant time; the header is never echoed back.
        if not any(hmac.compare_digest(key.encode(), k) for k in accepted):
            return _error(401, "X-API-Key not recognised; accepted: one of the keys in CLOUD_API_KEYS")
        decision = state.limiter.check(key)
        if not decision.allowed:
            response = _error(429, "rate limited")
            response.headers["Retry-After"] = str(decision.retry_after_s)
            return response
        return None


def _register_sync_routes(app: Flask, store: Store, config: CloudConfig) -> None:
    @app.get("/api/health")
    def health() -> Any:
        return {"status": "ok"}

    @app.post("/api/sync/push")
    def push() -> Any:
        items = parse_push(parse_json_object(request.get_data()), config.max_push_items)
        return {"results": store.push(items)}

    @app.get("/api/sync/pull")
    def pull() -> Any:
        ios, cursor = store.pull(parse_int_arg(request.args, "subsystemId"))
        return {"ios": ios, "cursor": cursor}

    @app.get("/api/sync/changes")
    def changes() -> Any:
        subsystem_id = parse_int_arg(request.args, "subsystemId")
        changed, cursor = store.changes(subsystem_id, parse_int_arg(request.args, "since"))
        return {"changes": changed, "cursor": cursor}


def _register_admin_routes(app: Flask, store: Store) -> None:
    @app.post("/api/admin/ios")
    def add_io() -> Any:
        return store.add_io(parse_new_io(parse_json_object(request.get_data()))), 201

    @app.get("/api/admin/ios/<int:io_id>")
    def get_io(io_id: int) -> Any:
        return store.get_io(io_id)

    @app.patch("/api/admin/ios/<int:io_id>")
    def patch_io(io_id: int) -> Any:
        return store.update_io(io_id, parse_patch(parse_json_object(request.get_data())))

    @app.delete("/api/admin/ios/<int:io_id>")
    def delete_io(io_id: int) -> Any:
        return store.delete_io(io_id)


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RequestError)
    def request_error(exc: RequestError) -> Response:
        return _error(exc.status, str(exc))

    @app.errorhandler(CursorAhead)
    def cursor_ahead(exc: CursorAhead) -> Response:
        return _error(409, str(exc), resync=True, cursor=exc.cursor)

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(exc: StoreUnavailable) -> Response:
        emit("store.unavailable", path=request.path, error=str(exc))
        response = _error(503, f"database unavailable: {exc}")
        response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_S)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        response = _error(exc.code or 500, f"{exc.name}: {exc.description}")
        if exc.code == 405:
            allowed = exc.get_response().headers.get("Allow")
            if allowed:
                response.headers["Allow"] = allowed
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        # The cloud must keep serving: log the evidence, answer 500, count it in the log.
        emit("server.error", path=request.path, method=request.method, error=repr(exc))
        return _error(500, f"internal error ({type(exc).__name__}); see the cloud log")
