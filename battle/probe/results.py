"""One probed capability's outcome, the table a person reads and the JSON a machine reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

Status = Literal["ok", "failed", "skipped"]


@dataclass(frozen=True)
class CapabilityResult:
    """`skipped` is not a failure: the capability could not be exercised here (e.g. an event that only a
    fault provokes), and `detail` says why."""

    capability: str
    status: Status
    detail: str
    seconds: float
    kind: str | None = None


def all_passed(results: Sequence[CapabilityResult]) -> bool:
    return all(result.status != "failed" for result in results)


def render_table(adapter_name: str, results: Sequence[CapabilityResult]) -> str:
    width = max([len("capability")] + [len(result.capability) for result in results])
    lines = [f"probe of adapter {adapter_name!r}", f"{'capability':<{width}}  {'result':<7} {'seconds':>7}  why",
             f"{'-' * width}  {'-' * 7} {'-' * 7}  {'-' * 3}"]
    for result in results:
        lines.append(f"{result.capability:<{width}}  {result.status:<7} {result.seconds:>7.2f}  {result.detail}")
    failed = sum(result.status == "failed" for result in results)
    lines.append(f"{len(results) - failed} of {len(results)} capabilities ok or skipped"
                 + (f"; {failed} failed" if failed else ""))
    return "\n".join(lines)


def render_json(adapter_name: str, results: Sequence[CapabilityResult]) -> str:
    return json.dumps({"adapter": adapter_name, "ok": all_passed(results),
                       "capabilities": [asdict(result) for result in results]}, sort_keys=True)
