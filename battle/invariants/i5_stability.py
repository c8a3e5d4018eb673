"""I5 stability: no unplanned restarts, PLC connection flaps within budget, no OOM kill.

Tool server starts (`tool_started` events) ≤ 1 + applied faults whose kind declares that it
restarts the tool (battle.chaos.kinds: power cut, kill, wipe, graceful restart, ...). PLC
disconnects (`plc_disconnected`) ≤ FLAP_BUDGET + applied faults whose kind declares the PLC
simulator down (download, power cut, graceful restart, ...). Each fault counts only against the
target it declares. Any Docker `oom` event fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from battle.adapters.events import BattleEvent
from battle.evidence import Evidence, Fault

from .base import InvariantSpec, Result, knob, register

TOOL, PLC = "tool", "plc-sim"


def _tool_restarts(f: Fault) -> bool:
    return f.target == TOOL and f.effects.restarts


def _plc_outage(f: Fault) -> bool:
    return f.target == PLC and (f.effects.down or f.effects.restarts)


def _applied(evidence: Evidence, planned: Callable[[Fault], bool]) -> list[str]:
    return [f.fault for f in evidence.faults if f.applied_at is not None and planned(f)]


def judge(evidence: Evidence, limits: Mapping[str, Any]) -> Result:
    flap_budget = knob(limits, "FLAP_BUDGET", SPEC.id)

    starts = [e.t for e in evidence.events if e.event == BattleEvent.TOOL_STARTED]
    disconnects = [e for e in evidence.events if e.event == BattleEvent.PLC_DISCONNECTED]
    oom_events = [d for d in evidence.docker_events if d.action == "oom"]
    ooms = [{"service": d.service, "t": d.t} for d in oom_events]
    tool_restarts = _applied(evidence, _tool_restarts)
    plc_outages = _applied(evidence, _plc_outage)
    allowed_starts = 1 + len(tool_restarts)
    allowed_disconnects = flap_budget + len(plc_outages)
    evidence_n = len(starts) + len(disconnects) + len(evidence.docker_events)
    details = {
        "server_starts": len(starts),
        "allowed_starts": allowed_starts,
        "planned_tool_restarts": tool_restarts,
        "plc_disconnects": len(disconnects),
        "allowed_disconnects": allowed_disconnects,
        "planned_plc_outages": plc_outages,
        "disconnect_errors": sorted({str(e.fields.get("error")) for e in disconnects})[:10],
        "ooms": ooms,
        "docker_events": len(evidence.docker_events),
    }

    problems = []
    if ooms:
        problems.append(f"OOM kill of {', '.join(sorted({d.service for d in oom_events}))}")
    if len(starts) > allowed_starts:
        problems.append(
            f"{len(starts) - allowed_starts} unplanned tool restart(s): {len(starts)} server starts, "
            f"{len(tool_restarts)} planned"
        )
    if len(disconnects) > allowed_disconnects:
        problems.append(
            f"PLC connection flapped: {len(disconnects)} disconnects > budget {flap_budget:g} + "
            f"{len(plc_outages)} planned PLC outage(s)"
        )
    if problems:
        return SPEC.result("fail", evidence_n, "; ".join(problems), **details)
    if not starts:
        return SPEC.result(
            "inconclusive", evidence_n,
            (f"no {BattleEvent.TOOL_STARTED} event seen: the tool's event log was not followed, so restarts "
             "cannot be counted"),
            **details,
        )
    return SPEC.result(
        "pass", evidence_n,
        f"{len(starts)} server start(s) for {len(tool_restarts)} planned restart(s); "
        f"{len(disconnects)} PLC disconnect(s) within {allowed_disconnects:g}",
        **details,
    )


SPEC = register(InvariantSpec(
    id="I5",
    name="stability",
    default_role="gate",
    knobs=("FLAP_BUDGET",),
    judge=judge,
    artifacts=("events.jsonl", "docker-events.jsonl", "plan.json", "injected.jsonl"),
))
