"""The chaos HTTP API (Flask app factory): inject a fault, calm, read the ledger.

Every route but GET /health needs `X-Chaos-Token`; a missing or wrong token is answered 401 before
anything else is looked at. Refusals do nothing: unknown kind → 404 listing the kinds, target
outside the allowlist → 403 naming the target and the allowlist (the proxy
kinds linkshape and cloud-errors excepted: they act only on the cloud-proxy's control API), malformed body → 400, after calm
→ 409.

Routes:
  GET  /health                 {"status": "ok", "backend"}
  POST /faults/<kind>          {"target", "duration", "params"} → 200 {"fault", "applied": true}
                               or 500 {"error", "fault"} when the runtime failed (journaled as failed)
  POST /plan/start             begin the plan now if it has not begun (soak start)
  GET  /status                 runner state: active faults, pending, counts
  POST /calm                   stop the plan, restore everything, confirm targets run (idempotent)
  GET  /events                 the ledger lines, plus any malformed-line problems
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request

from battle.chaos.drivers import RuntimeDriver
from battle.chaos.errors import ChaosError, FaultSpecError, TargetRefused
from battle.chaos.faults import get_kind, kinds
from battle.chaos.ledger import read_ledger
from battle.chaos.runner import CalmedError, PlanRunner


def _error(status: int, message: str, **extra: Any) -> Any:
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def create_chaos_app(runner: PlanRunner, driver: RuntimeDriver, ledger_path: Path, token: str) -> Flask:
    if not token:
        raise ChaosError("the chaos API refuses to run without a token (CHAOS_TOKEN)")
    app = Flask("battle.chaos")
    token_bytes = token.encode("utf-8")

    @app.before_request
    def require_token() -> Any:
        if request.path == "/health":
            return None
        given = request.headers.get("X-Chaos-Token", "").encode("utf-8")
        if not given or not hmac.compare_digest(given, token_bytes):
            return _error(401, "missing or wrong X-Chaos-Token; send the run's CHAOS_TOKEN")
        return None

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
