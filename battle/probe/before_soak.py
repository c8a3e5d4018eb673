"""The probe as the first thing a run does: after the stack is healthy, before the soak.

The run's gates decide which capabilities are probed (battle/probe/gate_needs.py); the table is written to
the run dir's `probe.json`. A failed capability stops the run before any soak time is spent: its gates
could only fail or be inconclusive, and the probe's row says why in seconds instead of hours.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from battle.adapters.base import SutAdapter
from battle.common.atomic import write_text_atomic
from battle.probe.capabilities import Probe, ProbeClock, ProbeSettings
from battle.probe.command import http_writer
from battle.probe.gate_needs import gates_needing, groups_for
from battle.probe.log_follow import ToolLogFollower
from battle.probe.results import CapabilityResult

PROBE_FILE = "probe.json"
WAIT_S = 20.0  # each bounded wait; a healthy system answers within a second or two


@dataclass(frozen=True)
class ProbeOutcome:
    results: tuple[CapabilityResult, ...]
    groups: tuple[str, ...]
    seconds: float

    def failed(self) -> list[CapabilityResult]:
        return [result for result in self.results if result.status == "failed"]

    def to_json(self) -> dict[str, Any]:
        return {"ok": not self.failed(), "groups": list(self.groups), "seconds": self.seconds,
                "capabilities": [asdict(result) for result in self.results]}

    def to_manifest(self) -> dict[str, Any]:
        return {"file": PROBE_FILE, "ok": not self.failed(), "seconds": self.seconds,
                "failed": [result.capability for result in self.failed()]}

    def refusal(self, gates: Sequence[str]) -> str | None:
        """Why the run must stop here (each failed capability, the gates needing it, its why), or None."""
        failed = self.failed()
        if not failed:
            return None
        return "the probe before the soak failed: " + "; ".join(_refusal(result, gates) for result in failed)


def probe_before_soak(adapter: SutAdapter, tool_log: Path, gates: Sequence[str], run_dir: Path,
                      seed: int, wait_s: float = WAIT_S) -> ProbeOutcome:
    """Probe what `gates` need and write probe.json; the outcome says whether the run may go on."""
    groups = groups_for(gates)
    started = time.monotonic()
    follower = ToolLogFollower(tool_log, adapter.vocabulary())
    probe = Probe(adapter, http_writer(adapter.endpoints.tool_url), follower.seen,
                  ProbeClock(time.monotonic, time.sleep), ProbeSettings(wait_s=wait_s, seed=seed))
    results = tuple(probe.run(groups))
    outcome = ProbeOutcome(results, tuple(sorted(groups)), round(time.monotonic() - started, 2))
    write_text_atomic(run_dir / PROBE_FILE, json.dumps({"adapter": adapter.name, **outcome.to_json()},
                                                       indent=2, sort_keys=True) + "\n")
    return outcome


def _refusal(result: CapabilityResult, gates: Sequence[str]) -> str:
    needed_by = gates_needing(result.capability, gates)
    by = f"needed by {', '.join(needed_by)}" if needed_by else "needed by every run"
    return f"capability '{result.capability}' failed ({by}): {result.detail}"
