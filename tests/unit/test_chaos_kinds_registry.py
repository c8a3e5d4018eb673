"""A fault kind is one declaration: the registry refuses an incomplete one, and everything else
(validation, the judges' planned outages, the ledger reader, the report) derives from it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from battle.chaos import kinds as kinds_pkg
from battle.chaos.kinds import (
    AttritionRole,
    Effects,
    FaultKind,
    KindDeclarationError,
    check_declaration,
    effects_of,
    register,
    registered,
    unregister,
    validate_fault,
)
from battle.chaos.plan import PlanError, attrition_kinds
from battle.evidence import Evidence, Probe, ToolEvent
from battle.invariants import i1_responsiveness, i5_stability
from battle.observer.gather import load_faults
from battle.report.svg import kind_color, kind_label

DOCS = Path(__file__).resolve().parents[2] / "docs" / "chaos.md"


def test_every_registered_kind_declares_everything():
    assert registered(), "importing battle.chaos.kinds registers the kinds"
    for kind in registered():
        assert check_declaration(kind) == [], kind.name


def test_every_module_of_the_package_registers_a_kind():
    modules = {p.stem for p in Path(kinds_pkg.__file__).parent.glob("*.py")
               if p.stem not in ("__init__", "base") and not p.stem.startswith("_")}
    declared_in = {type(k).__module__.rsplit(".", 1)[1] for k in registered()}
    assert modules == declared_in


def test_every_kind_has_a_row_in_the_docs_naming_its_effects():
    text = DOCS.read_text(encoding="utf-8")
    for kind in registered():
        row = re.search(rf"^\| `{re.escape(kind.name)}` \|.*$", text, re.M)
        assert row, f"docs/chaos.md has no row for fault kind {kind.name}"
        declared = "; ".join(f"{target}: {effects.describe()}" for target, effects in kind.effects.items())
        assert row.group(0).endswith(f"| {declared} |"), f"docs/chaos.md row of {kind.name}: effects are {declared}"


class _NoEffects(FaultKind):
    name = "incomplete"
    summary = "forgot its effects"
    label = "incomplete"
    color = "#000000"
    effects: Mapping[str, Effects] = {"tool": Effects()}


class _NoColor(FaultKind):
    name = "colourless"
    summary = "forgot its colour"
    label = "colourless"
    color = ""
    effects = {"tool": Effects(freezes=True)}


@pytest.mark.parametrize(("cls", "message"), [(_NoEffects, "declares no effect"), (_NoColor, "no color")])
def test_a_kind_lacking_a_declaration_is_refused(cls, message):
    with pytest.raises(KindDeclarationError, match=message):
        register(cls)
    assert effects_of(cls.name, "tool") is None


# ---------------------------------------------------------------- a throwaway kind, end to end


class Brownout(FaultKind):
    """A throwaway kind: the tool's supply sags, it reboots. Declared here and nowhere else."""

    name = "brownout"
    summary = "the tool's supply sags: it reboots after `duration`"
    label = "brownout"
    color = "#123456"
    effects = {"tool": Effects(down=True, restarts=True)}

    def apply(self, driver: Any, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.kill(fault["target"])

    def restore(self, driver: Any, proxy: Any, fault: Mapping[str, Any]) -> None:
        driver.start(fault["target"])


@pytest.fixture
def brownout():
    register(Brownout)
    yield
    unregister("brownout")


def _ledger(tmp_path: Path) -> Path:
    path = tmp_path / "injected.jsonl"
    base = {"schema": 1, "fault": "f001", "kind": "brownout", "target": "tool", "params": {}, "error": None,
            "duration": 10.0}
    lines = [{**base, "ts": "2026-12-01T00:05:00.000Z", "step": "planned"},
             {**base, "ts": "2026-12-01T00:05:00.000Z", "step": "applied"},
             {**base, "ts": "2026-12-01T00:05:10.000Z", "step": "restored"}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_new_kind_is_planned_outage_for_every_judge_with_no_other_edit(brownout, tmp_path):
    assert validate_fault({"id": "f1", "kind": "brownout", "target": "tool", "at": 1, "duration": 10})
    problems: list[str] = []
    [fault] = load_faults(_ledger(tmp_path), problems)
    assert problems == [] and fault.effects == Effects(down=True, restarts=True)

    start = fault.applied_at - 300.0
    probes = tuple(Probe(t=start + s, ok=not (300 < s < 325), latency_ms=None if 300 < s < 325 else 5.0,
                         status=200, phase="calm") for s in range(0, 600))
    starts = (ToolEvent(start, "tool_started", {}), ToolEvent(start + 320.0, "tool_started", {}))
    evidence = Evidence(run_id="r", started_at=start, soak_end=start + 600, warmup_s=0.0, probes=probes,
                        faults=(fault,), events=starts)
    i1 = i1_responsiveness.judge(evidence, {"WARMUP_S": 0, "P95_MS": 500, "P99_MS": 2000, "MAX_GAP_S": 10,
                                            "RESTART_GRACE_S": 20})
    assert i1.status == "pass", i1.reason
    i5 = i5_stability.judge(evidence, {"FLAP_BUDGET": 0})
    assert i5.status == "pass" and i5.details["planned_tool_restarts"] == ["f001"], i5.reason
    assert kind_color("brownout") == "#123456" and kind_label("brownout") == "brownout (brownout)"


def test_an_unknown_kind_in_a_ledger_is_reported_not_guessed(tmp_path):
    problems: list[str] = []
    [fault] = load_faults(_ledger(tmp_path), problems)
    assert not fault.effects.any()
    assert any("brownout" in p and "does not know" in p for p in problems)


def test_an_attrition_role_the_weights_knob_has_no_label_for_is_a_plan_error():
    class Meteor(Brownout):
        name = "meteor"
        attrition = AttritionRole("meteor", ("tool",))

    register(Meteor)
    try:
        with pytest.raises(PlanError, match="ATTRITION_WEIGHTS labels"):
            attrition_kinds()
    finally:
        unregister("meteor")
    assert [kind for kind, _ in attrition_kinds()] == ["restart", "power", "wipe"]
