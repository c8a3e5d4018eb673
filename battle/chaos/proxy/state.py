"""What the cloud-proxy does to traffic right now (its mode) and what it has done (its stats).

The mode has three independent layers so that overlapping faults restore independently:
`cut` (close every connection), `errors` (answer a status itself for a fraction of requests) and
`shape` (latency, jitter, bandwidth, dropped connections). A control PUT sets only the layers it
names; `{"mode": "pass"}` clears all three.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from battle.chaos.errors import ProxyControlError

ERROR_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Shape:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    bandwidth_kbps: float = 0.0  # 0 = unlimited
    drop_rate: float = 0.0  # fraction of requests whose connection is closed without an answer

    def to_json(self) -> dict[str, float]:
        return {
            "latencyMs": self.latency_ms,
            "jitterMs": self.jitter_ms,
            "bandwidthKbps": self.bandwidth_kbps,
            "dropRate": self.drop_rate,
        }


@dataclass(frozen=True)
class ErrorBurst:
    status: int = 503
    fraction: float = 1.0
    retry_after_s: int = 1

    def to_json(self) -> dict[str, float | int]:
        return {"status": self.status, "fraction": self.fraction, "retryAfterS": self.retry_after_s}


@dataclass(frozen=True)
class ProxyMode:
    cut: bool = False
    shape: Shape | None = None
    errors: ErrorBurst | None = None

    @property
    def name(self) -> str:
        if self.cut:
            return "cut"
        if self.errors:
            return "errors"
        if self.shape:
            return "shape"
        return "pass"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cut": self.cut,
            "shape": self.shape.to_json() if self.shape else None,
            "errors": self.errors.to_json() if self.errors else None,
        }

    def updated(self, body: Mapping[str, Any]) -> ProxyMode:
        """A new mode with the layers `body` names replaced; raises ProxyControlError on bad input."""
        if not isinstance(body, Mapping):
            raise ProxyControlError('the mode must be a JSON object, e.g. {"cut": true} or {"mode": "pass"}')
        unknown = set(body) - {"mode", "cut", "shape", "errors", "name"}
        if unknown:
            raise ProxyControlError(
                f"unknown mode field(s) {sorted(unknown)}; accepted: mode, cut, shape, errors"
            )
        mode = self
        if "mode" in body:
            if body["mode"] == "pass":
                mode = ProxyMode()
            elif body["mode"] == "cut":
                mode = ProxyMode(cut=True, shape=mode.shape, errors=mode.errors)
            else:
                raise ProxyControlError(f'mode {body["mode"]!r} unknown; accepted: "pass", "cut"')
        cut = mode.cut
        if "cut" in body:
            if not isinstance(body["cut"], bool):
                raise ProxyControlError(f"cut must be true or false, not {body['cut']!r}")
            cut = body["cut"]
        shape = parse_shape(body["shape"]) if "shape" in body else mode.shape
        errors = parse_errors(body["errors"]) if "errors" in body else mode.errors
        return ProxyMode(cut=cut, shape=shape, errors=errors)


def _number(
    section: str, data: Mapping[str, Any], key: str, default: float, high: float | None = None
) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ProxyControlError(f"{section}.{key} must be a number >= 0, not {value!r}")
    if high is not None and value > high:
        raise ProxyControlError(f"{section}.{key} must be at most {high}, not {value!r}")
    return float(value)


def parse_shape(data: Any) -> Shape | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise ProxyControlError("shape must be null or {latencyMs, jitterMs, bandwidthKbps, dropRate}")
    unknown = set(data) - {"latencyMs", "jitterMs", "bandwidthKbps", "dropRate"}
    if unknown:
        raise ProxyControlError(
            f"unknown shape field(s) {sorted(unknown)}; accepted: latencyMs, jitterMs, bandwidthKbps, dropRate"
        )
    return Shape(
        latency_ms=_number("shape", data, "latencyMs", 0.0, 600_000),
        jitter_ms=_number("shape", data, "jitterMs", 0.0, 600_000),
        bandwidth_kbps=_number("shape", data, "bandwidthKbps", 0.0),
        drop_rate=_number("shape", data, "dropRate", 0.0, 1.0),
    )


def parse_errors(data: Any) -> ErrorBurst | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise ProxyControlError("errors must be null or {status, fraction, retryAfterS}")
    unknown = set(data) - {"status", "fraction", "retryAfterS"}
    if unknown:
        raise ProxyControlError(
            f"unknown errors field(s) {sorted(unknown)}; accepted: status, fraction, retryAfterS"
        )
    status = data.get("status", 503)
    if status not in ERROR_STATUSES or isinstance(status, bool):
        raise ProxyControlError(f"errors.status {status!r} not accepted; accepted: {sorted(ERROR_STATUSES)}")
    return ErrorBurst(
        status=int(status),
        fraction=_number("errors", data, "fraction", 1.0, 1.0),
        retry_after_s=int(_number("errors", data, "retryAfterS", 1, 3600)),
    )


@dataclass
class ProxyStats:
    passed: int = 0  # forwarded and answered by the upstream
    errored: int = 0  # answered by the proxy itself with an injected error status
    dropped: int = 0  # connection closed mid-request by shaping
    refused: int = 0  # connection closed at once because the link is cut
    upstream_errors: int = 0  # the upstream could not be reached: answered 502

    def to_json(self) -> dict[str, int]:
        data = asdict(self)
        return {
            "passed": data["passed"],
            "errored": data["errored"],
            "dropped": data["dropped"],
            "refused": data["refused"],
            "upstreamErrors": data["upstream_errors"],
        }


class ProxyState:
    """The shared, lock-guarded mode, counters and random source of one proxy."""

    def __init__(self, seed: int = 1) -> None:
        self._lock = threading.Lock()
        self._mode = ProxyMode()
        self._stats = ProxyStats()
        self._random = random.Random(seed)

    @property
    def mode(self) -> ProxyMode:
        with self._lock:
            return self._mode

    def update(self, body: Mapping[str, Any]) -> ProxyMode:
        with self._lock:
            self._mode = self._mode.updated(body)
            return self._mode

    def count(self, what: str) -> None:
        with self._lock:
            setattr(self._stats, what, getattr(self._stats, what) + 1)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return self._stats.to_json()

    def chance(self) -> float:
        with self._lock:
            return self._random.random()

    def uniform(self, low: float, high: float) -> float:
        with self._lock:
            return self._random.uniform(low, high)
