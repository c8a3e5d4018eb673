"""The harness's own PLC reader: read tags over CIP with pylogix and compare them with what is expected.

pylogix against the cpppo simulator (`sut.plcsim`; measured on loopback, details in docs/plc-notes.md):

- Connect with `PLC(host, port=port, timeout=s)`; keep `Micro800=False` (True turns every list read
  into one request per tag) and the default `ProcessorSlot=0` / `Route=None`. The simulator accepts
  any route path, so a slot number is harmless, and it grants pylogix's Large Forward Open
  (`ConnectionSize` 4002).
- `Read([names])` sends one Multiple Service Packet per ~4 KB (~165 scalar tags; 1,644 tags = 10
  packets, so a simulator `DELAY_MS` costs 10 delays); a 1-element list takes the single-tag path.
  Statuses come back per tag: an unknown tag is `"Path destination unknown"` with `Value None`,
  promptly (no hang), and the other tags in the same call still read.
- pylogix learns each tag's type with one extra single-tag read the first time it sees the name
  (per `PLC` object). For 1,644 tags that is 1,644 extra round trips (~5.5 s cold vs ~1.8 s warm),
  and with a `DELAY_MS` on the simulator each of them pays the delay. Passing the type,
  `Read([(name, 1, 0xC1)])` (BOOL 0xC1, DINT 0xC4, REAL 0xCA), skips the discovery — hence
  `types=` below; `load_tag_expectations` reads both types and expected values from plc_tags.json.
- pylogix never raises on I/O trouble; it reports it in `Status`: `"Unknown error [Errno 111]
  Connection refused"`, `"Register session failed"`, or CIP 0x01 `"Connection failure"` / 0x07
  `"Connection lost"` when the socket died mid-call. The first call on a `PLC` whose simulator was
  restarted fails that way and the next call reconnects — so a read is retried once on a fresh
  connection before `PlcError` is raised.
- `SocketTimeout` bounds each socket operation, not a whole call. Against a frozen PLC (SIGSTOP)
  a batch fails after about 2 x timeout (the failed packet, then the reconnect's Register Session).
  When a packet fails, pylogix returns responses for that packet only, so replies are matched to
  names by count and position, never by `TagName`. Keep the timeout above the simulator's `DELAY_MS`.
- Writing a DINT outside int32 raises `struct.error` inside pylogix (not a Status); check ranges
  before writing.

Not thread-safe: one reader per thread.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pylogix import PLC
from pylogix.lgx_response import cip_error_codes

CIP_TYPE_CODES = {"BOOL": 0xC1, "DINT": 0xC4, "REAL": 0xCA}
SUCCESS = "Success"
# CIP statuses that describe the tag or the request, not the link; pylogix uses 0x01 and 0x07 for
# its own socket failures, so those two (and any non-CIP text) mean the connection is bad.
_TAG_STATUSES = frozenset(cip_error_codes.values()) - {SUCCESS, "Connection failure", "Connection lost"}
# REAL is float32 on the wire; a float64 expectation such as 0.1 comes back as 0.10000000149.
_REAL_REL_TOL = 1e-6


class PlcError(Exception):
    """The PLC could not be read: unreachable, refused, or timed out. The message names host:port."""


class PlcTagError(PlcError):
    """The PLC answered but refused some tags; `statuses` maps each refused tag to pylogix's status."""

    def __init__(self, message: str, statuses: Mapping[str, str]):
        super().__init__(message)
        self.statuses = dict(statuses)


class _Response(Protocol):
    Value: Any
    Status: str


@dataclass(frozen=True)
class BatchOutcome:
    values: dict[str, Any]
    tag_errors: dict[str, str]
    link_error: str | None  # first transport status seen, None when the link was fine


def classify_responses(names: Sequence[str], responses: Sequence[_Response]) -> BatchOutcome:
    """Split one pylogix Read reply into values, per-tag refusals and a link failure.

    Responses are matched to names by position: pylogix keeps request order, but on a failed
    packet it puts the request tuple, not the name, into `TagName`.
    """
    if len(responses) != len(names):
        return BatchOutcome({}, {}, f"pylogix returned {len(responses)} responses for {len(names)} tags")
    values: dict[str, Any] = {}
    tag_errors: dict[str, str] = {}
    link_error: str | None = None
    for name, response in zip(names, responses, strict=True):
        status = str(response.Status)
        if status == SUCCESS:
            values[name] = response.Value
        elif status in _TAG_STATUSES:
            tag_errors[name] = status
        elif link_error is None:
            link_error = status
    return BatchOutcome(values, tag_errors, link_error)


def values_equal(expected: Any, actual: Any) -> bool:
    """Compare a tag value as the PLC holds it: BOOL True == 1, REAL within float32 precision."""
    if actual is None:
        return False
    if isinstance(expected, float) or isinstance(actual, float):
        try:
            return math.isclose(float(expected), float(actual), rel_tol=_REAL_REL_TOL, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    if isinstance(expected, bool | int) and isinstance(actual, bool | int):
        return int(expected) == int(actual)
    return bool(expected == actual)


def compare_flags(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """Names whose read value differs from the expected one (or was not read), in `expected` order.

    An expected value of None means 'no expectation' (plc_tags.json sets `expected` for VFD flags only).
    """
    return [
        name
        for name, want in expected.items()
        if want is not None and (name not in actual or not values_equal(want, actual[name]))
    ]


@dataclass(frozen=True)
class TagExpectations:
    expected: dict[str, Any]  # tags with a non-null `expected` only
    types: dict[str, str]  # every tag: BOOL | DINT | REAL


def load_tag_expectations(path: Path) -> TagExpectations:
    """Read expected values and types from a seed plc_tags.json (docs/contracts.md section 1)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        tags = document["tags"]
        types = {str(tag["name"]): str(tag["type"]) for tag in tags}
        expected = {str(tag["name"]): tag["expected"] for tag in tags if tag.get("expected") is not None}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PlcError(
            f"cannot read tag expectations from {path}: {type(exc).__name__}: {exc}; "
            'expected {"schema": 1, "tags": [{"name", "type", "expected"}, ...]}'
        ) from exc
    unknown = sorted(name for name, kind in types.items() if kind not in CIP_TYPE_CODES)
    if unknown:
        raise PlcError(f"{path}: tags {unknown[:5]} have a type other than {', '.join(CIP_TYPE_CODES)}")
    return TagExpectations(expected=expected, types=types)


class PlcReader:
    """Batched multi-reads of named tags from one PLC, with one reconnect-and-retry on link failure."""

    def __init__(
        self,
        host: str,
        port: int = 44818,
        timeout: float = 5.0,
        types: Mapping[str, str] | None = None,
        batch_size: int = 1000,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size is {batch_size}; accepted: an integer >= 1")
        self.host = host
        self.port = port
        self.timeout = timeout
        self.batch_size = batch_size
        self._type_codes = {name: CIP_TYPE_CODES[kind] for name, kind in (types or {}).items()}
        self._plc: PLC | None = None

    def __enter__(self) -> PlcReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._plc is not None:
            plc, self._plc = self._plc, None
            try:
                plc.Close()
            except OSError:
                pass  # the PLC is already gone; nothing left to release

    def read_tags(self, names: Iterable[str]) -> dict[str, Any]:
        """Read every name; raise PlcTagError if the PLC refused any, PlcError if it cannot be reached."""
        wanted = list(dict.fromkeys(names))
        values: dict[str, Any] = {}
        refused: dict[str, str] = {}
        for start in range(0, len(wanted), self.batch_size):
            outcome = self._read_batch(wanted[start : start + self.batch_size])
            values.update(outcome.values)
            refused.update(outcome.tag_errors)
        if refused:
            sample = ", ".join(f"{name}: {status}" for name, status in list(refused.items())[:10])
            raise PlcTagError(
                f"PLC {self.host}:{self.port} refused {len(refused)} of {len(wanted)} tags ({sample}); "
                "check the names against the PLC's tag list (plc_tags.json)",
                refused,
            )
        return values

    def check_flags(self, expected: Mapping[str, Any]) -> list[str]:
        """Names whose value on the PLC differs from `expected` (None values are not checked)."""
        wanted = [name for name, value in expected.items() if value is not None]
        return compare_flags(expected, self.read_tags(wanted))

    def _read_batch(self, names: list[str]) -> BatchOutcome:
        request = [(name, 1, self._type_codes[name]) if name in self._type_codes else name for name in names]
        outcome = BatchOutcome({}, {}, "not attempted")
        # A PLC object whose peer restarted fails its next call once and then reconnects; one retry
        # on a fresh connection covers that without hiding a PLC that is really down.
        for _attempt in range(2):
            outcome = classify_responses(names, self._connection().Read(request))
            if outcome.link_error is None:
                return outcome
            self.close()
        raise PlcError(
            f"cannot read {len(names)} tags from PLC {self.host}:{self.port} (timeout {self.timeout}s): "
            f"{outcome.link_error}; is the simulator running and PLC_HOST/PLC_PORT right?"
        )

    def _connection(self) -> PLC:
        if self._plc is None:
            self._plc = PLC(self.host, port=self.port, timeout=self.timeout)
        return self._plc
