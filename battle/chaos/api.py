"""The chaos HTTP API (Flask app factory): inject a fault, calm, read the ledger.

Every route but GET /health needs `X-Chaos-Token`; a missing or wrong token is answered 401 before
anything else is looked at, the body included. `gate()` is that first look (token, then the
declared body size), shared by this app and by the waitress parser in `service.py`, which applies
it as soon as the headers are in, so an unauthenticated or oversized body is never read. Bodies are
at most MAX_BODY_BYTES (64 KiB; 413), sent with a Content-Length (a malformed one, or a chunked
body, is 400). Refusals do nothing: unknown kind → 404 listing the kinds, target outside the
allowlist → 403 naming the target and the allowlist (the proxy kinds linkshape and cloud-errors
excepted: they act only on the cloud-proxy's control API), malformed body → 400, a target that
already has an active fault → 409 naming that fault, after calm → 409.

Routes:
  GET  /health                 {"status": "ok", "backend"}
  POST /faults/<kind>          {"target", "duration", "params"} → 200 {"fault", "applied": true}
                               or 500 {"error", "fault"} when the runtime failed (journaled as failed)
                               or 409 {"error", "target", "active"} when the target has an active fault
  POST /plan/start             begin the plan now if it has not begun (soak start)
  GET  /status                 runner state: active faults, pending, counts
  POST /calm                   stop the plan, restore everything, confirm targets run (idempotent)
  GET  /events                 the ledger lines, plus any malformed-line problems
"""

from __future__ import annotations

import hmac
import re
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request

from battle.chaos.drivers import RuntimeDriver
from battle.chaos.errors import ChaosError, FaultSpecError, TargetRefused
from battle.chaos.faults import get_kind, kinds
from battle.chaos.ledger import read_ledger
from battle.chaos.runner import CalmedError, PlanRunner, TargetBusy

MAX_BODY_BYTES = 64 * 1024  # the largest request is a fault with its params: a few hundred bytes
OPEN_PATHS = frozenset({"/health"})  # the only route answered without the token
UNAUTHORIZED = "missing or wrong X-Chaos-Token; send the run's CHAOS_TOKEN"
_DIGITS = re.compile(r"[0-9]+")


def token_matches(given: str | None, token: str) -> bool:
    """Constant-time comparison; an empty or missing token never matches."""
    return bool(given) and hmac.compare_digest(str(given).encode("utf-8"), token.encode("utf-8"))


def gate(
    path: str, given_token: str | None, content_length: str | None, chunked: bool, token: str
) -> tuple[int, str] | None:
    """What to refuse from the request line and headers alone, before any body is read.

    Returns (status, message) or None to go on: 401 without the token (every path but /health),
    then 400 for a chunked body or a Content-Length that is not a decimal number, 413 above
    MAX_BODY_BYTES.
    """
    if path not in OPEN_PATHS and not token_matches(given_token, token):
        return 401, UNAUTHORIZED
    if chunked:
        return 400, (
            f"Transfer-Encoding: chunked is not accepted; send the body with a Content-Length "
            f"(at most {MAX_BODY_BYTES} bytes)"
        )
    if content_length is None:
        return None
    text = content_length.strip()
    if not _DIGITS.fullmatch(text):
        return 400, (
            f"Content-Length is {content_length[:40]!r}; accepted: a decimal number of bytes, "
            f"at most {MAX_BODY_BYTES}"
        )
    if int(text) > MAX_BODY_BYTES:
        return 413, f"the body is {int(text)} bytes; accepted: at most {MAX_BODY_BYTES} bytes (64 KiB)"
    return None


def _error(status: int, message: str, **extra: Any) -> Any:
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def create_chaos_app(runner: PlanRunner, driver: RuntimeDriver, ledger_path: Path, token: str) -> Flask:
    if not token:
        raise ChaosError("the chaos API refuses to run without a token (CHAOS_TOKEN)")
    app = Flask("battle.chaos")
    # Werkzeug stops reading past this (413) even where the gate below did not see a length.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @app.before_request
    def require_token() -> Any:
        # The same gate the waitress parser applies before reading the body (service.py); here it
        # covers any other WSGI server and the test client. Nothing below runs before it.
        refused = gate(
            request.path,
            request.headers.get("X-Chaos-Token"),
            request.headers.get("Content-Length"),
            "chunked" in request.headers.get("Transfer-Encoding", "").lower(),
            token,
        )
        return _error(*refused) if refused is not None else None

    @app.errorhandler(413)
    def too_large(_: Any) -> Any:
        return _error(413, f"the body is larger than {MAX_BODY_BYTES} bytes; accepted: at most 64 KiB")

    @app.get("/health")
    def health() -> Any:
        return jsonify({"status": "ok", "backend": getattr(driver, "backend", "?")})

    @app.post("/faults/<kind>")
    def inject(kind: str) -> Any:
        if kind not in kinds():
            return _error(404, f"fault kind {kind!r} is unknown", kinds=kinds())
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error(400, 'the body must be a JSON object {"target", "duration", "params"}')
        target = body.get("target")
        if not isinstance(target, str) or not target:
            return _error(400, "target is required: a service name such as tool or plc-sim")
        try:
            allowed = driver.allowlist()
        except ChaosError as exc:
            return _error(503, f"cannot read the allowlist: {exc}")
        if get_kind(kind).uses_runtime and target not in allowed:
            return _error(
                403,
                f"target {target!r} is not on the allowlist {sorted(allowed)}; nothing was done",
                target=target,
                allowlist=sorted(allowed),
            )
        try:
            outcome = runner.inject(kind, target, body.get("duration", 0.0), body.get("params") or {})
        except TargetRefused as exc:
            return _error(403, str(exc), target=target, allowlist=exc.allowlist)
        except FaultSpecError as exc:
            return _error(400, str(exc))
        except TargetBusy as exc:
            return _error(409, str(exc), target=target, active=exc.active)
        except CalmedError as exc:
            return _error(409, str(exc))
        if not outcome["applied"]:
            return _error(
                500, f"{kind} on {target!r} failed; {outcome['error']}", fault=outcome["fault"]["id"]
            )
        return jsonify({"fault": outcome["fault"], "applied": True})

    @app.post("/plan/start")
    def plan_start() -> Any:
        runner.start(begin_plan=True)
        return jsonify(runner.status())

    @app.get("/status")
    def status() -> Any:
        return jsonify(runner.status())

    @app.post("/calm")
    def calm() -> Any:
        return jsonify(runner.calm().to_json())

    @app.get("/events")
    def events() -> Any:
        read = read_ledger(ledger_path)
        return jsonify({"events": list(read.entries), "problems": list(read.problems)})

    return app
