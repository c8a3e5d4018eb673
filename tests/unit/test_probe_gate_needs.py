"""Which probe capabilities a run's gates need, and how a failed one is named."""

from __future__ import annotations

from battle.invariants import all_specs
from battle.probe.before_soak import ProbeOutcome
from battle.probe.capabilities import GROUPS
from battle.probe.gate_needs import GATE_NEEDS, gates_needing, groups_for
from battle.probe.results import CapabilityResult


def test_every_run_probes_health_and_the_queue_and_each_gate_adds_its_own():
    assert groups_for([]) == {"health", "queue state"}
    assert groups_for(["I4"]) == {"health", "queue state", "write"}
    assert groups_for(["I7"]) == {"health", "queue state", "cloud edit"}
    assert groups_for(["I5"]) == set(GROUPS)  # the push and pull events need a write and an edit first


def test_the_mapping_names_only_known_gates_and_groups():
    known = {spec.id for spec in all_specs()}
    assert set(GATE_NEEDS) <= known
    assert {group for needs in GATE_NEEDS.values() for group in needs} <= set(GROUPS)


def test_a_failed_capability_names_itself_the_gates_that_need_it_and_why():
    gates = ["I1", "I4", "I5", "I6"]
    assert gates_needing("write: seen in the cloud [point]", gates) == ["I4", "I6"]
    outcome = ProbeOutcome((CapabilityResult("health: tool", "ok", "", 0.0),
                            CapabilityResult("write: seen in the cloud [point]", "failed", "not seen within 20 s",
                                             20.0, "point"),
                            CapabilityResult("queue state: read", "failed", "GET /outbox failed", 0.1)),
                           ("health", "queue state", "write"), 20.1)
    refusal = outcome.refusal(gates)
    assert refusal is not None
    assert "'write: seen in the cloud [point]' failed (needed by I4, I6): not seen within 20 s" in refusal
    assert "'queue state: read' failed (needed by every run)" in refusal
    assert outcome.to_manifest() == {"file": "probe.json", "ok": False, "seconds": 20.1,
                                     "failed": ["write: seen in the cloud [point]", "queue state: read"]}
    assert ProbeOutcome((), (), 0.0).refusal(gates) is None
