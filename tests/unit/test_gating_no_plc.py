"""A system without a PLC (`has_plc = False`): its PLC gate is demoted by the adapter, and a plan with a fault
on a PLC target is refused naming the kind and its knob."""

from __future__ import annotations

import pytest

from battle.chaos.kinds import plc_targets, registered
from battle.config import ConfigError, resolve
from battle.gating import plan_and_gates
from battle.verdict import demotion_line

NO_PLC = {"SUT_ADAPTER": "tests.fixtures.othertool.adapter:OtherToolAdapter"}


def test_plc_targets_come_from_the_kinds_declarations():
    declared = {target for kind in registered() for target, effects in kind.effects.items() if effects.resets_tags}
    assert plc_targets() == frozenset(declared)
    assert plc_targets()  # the reference kinds do declare a PLC


def test_without_a_plc_i3_is_demoted_by_the_adapter_and_i5_says_what_it_skips():
    _plan, decision = plan_and_gates(resolve(NO_PLC, "s1", 30))
    assert decision.demoted["I3"].cause == "adapter"
    assert "has no PLC (has_plc = False)" in decision.demoted["I3"].reason
    assert "I5" in decision.gates and "no PLC disconnect" in decision.feasibility["I5"].reason
    assert {"I1", "I4", "I6"} <= set(decision.gates)
    assert demotion_line("I3", "x", "adapter") == "gate I3 demoted to report by the adapter: x"


def test_strict_gates_does_not_refuse_what_only_the_adapter_rules_out():
    _plan, decision = plan_and_gates(resolve({**NO_PLC, "STRICT_GATES": "1", "COMPOSE_PROFILES": "mutate"}, "s1", 30))
    assert decision.demoted["I3"].cause == "adapter"


def test_a_fault_on_the_plc_is_refused_naming_kind_and_knob():
    with pytest.raises(ConfigError) as refused:
        plan_and_gates(resolve({**NO_PLC, "DOWNLOAD_STORM": "5,10"}, "s1", 30))
    text = str(refused.value)
    assert "DOWNLOAD_STORM plans" in text and "download fault" in text and "plc-sim" in text
    assert "has no PLC" in text


def test_faults_off_the_plc_still_run_without_one():
    plan, _decision = plan_and_gates(resolve({**NO_PLC, "TOOLKILL_STORM": "5,10", "CLOUD_FLAP": "5,10"}, "s1", 30))
    assert plan.faults and not {f.target for f in plan.faults} & plc_targets()


def test_the_reference_system_keeps_its_plc_faults():
    plan, decision = plan_and_gates(resolve({"DOWNLOAD_STORM": "5,10"}, "s1", 30))
    assert any(f.target in plc_targets() for f in plan.faults) and "I3" in decision.gates
