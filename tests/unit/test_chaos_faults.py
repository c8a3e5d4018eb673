"""The fault-kind registry: names, targets, params checks, and what each kind does to the runtime."""

from __future__ import annotations

import pytest

from battle.chaos.errors import ChaosError, FaultSpecError
from battle.chaos.faults import get_kind, kinds, validate_fault
from battle.chaos.recording_driver import RecordingDriver, RecordingProxy


def test_every_kind_is_registered_and_unique():
    names = kinds()
    assert names == sorted(set(names)) and len(names) >= 10


@pytest.mark.parametrize(
    ("kind", "target", "params", "applied", "restored"),
    [
        ("download", "plc-sim", {}, [("stop", "plc-sim")], [("start", "plc-sim")]),
        ("power", "tool", {}, [("kill", "tool")], [("start", "tool")]),
        ("power", "plc-sim", {}, [("kill", "plc-sim")], [("start", "plc-sim")]),
        ("toolkill", "tool", {}, [("kill", "tool")], [("start", "tool")]),
        ("restart", "cloud", {"stopTimeoutS": 3}, [("stop", "cloud")], [("start", "cloud")]),
        ("cloudcut", "cloud", {}, [("disconnect", "cloud")], [("reconnect", "cloud")]),
        ("delay", "plc-sim", {"delayMs": 400}, [("set_plc_delay", None)], [("set_plc_delay", None)]),
        ("pause", "tool", {}, [("pause", "tool")], [("unpause", "tool")]),
        ("wipe", "tool", {}, [("wipe", "tool")], [("start", "tool")]),
    ],
)
def test_driver_kinds_apply_and_restore(kind, target, params, applied, restored):
    driver = RecordingDriver(["tool", "plc-sim", "cloud"])
    fault = validate_fault(
        {"id": "f1", "kind": kind, "target": target, "at": 0, "duration": 1, "params": params}
    )
    get_kind(kind).apply(driver, None, fault)
    assert driver.methods() == applied
    get_kind(kind).restore(driver, None, fault)
    assert driver.methods() == applied + restored


def test_delay_sets_then_clears_the_plc_delay():
    driver = RecordingDriver(["plc-sim"])
    fault = validate_fault(
        {"id": "f1", "kind": "delay", "target": "plc-sim", "at": 0, "duration": 1, "params": {"delayMs": 400}}
    )
    get_kind("delay").apply(driver, None, fault)
    assert driver.plc_delay_ms == 400
    get_kind("delay").restore(driver, None, fault)
    assert driver.plc_delay_ms is None


def test_download_uses_the_given_stop_timeout():
    driver = RecordingDriver(["plc-sim"])
    fault = validate_fault(
        {
            "id": "f1",
            "kind": "download",
            "target": "plc-sim",
            "at": 0,
            "duration": 1,
            "params": {"stopTimeoutS": 2.5},
        }
    )
    get_kind("download").apply(driver, None, fault)
    assert driver.calls[0].arg == 2.5


def test_proxy_kinds_set_and_clear_their_own_layer():
    proxy = RecordingProxy()
    shape = validate_fault(
        {
            "id": "f1",
            "kind": "linkshape",
            "target": "cloud-proxy",
            "at": 0,
            "duration": 1,
            "params": {"latencyMs": 300, "dropRate": 0.1},
        }
    )
    errors = validate_fault(
        {
            "id": "f2",
            "kind": "cloud-errors",
            "target": "cloud-proxy",
            "at": 0,
            "duration": 1,
            "params": {"status": 429, "fraction": 0.5},
        }
    )
    get_kind("linkshape").apply(None, proxy, shape)
    get_kind("cloud-errors").apply(None, proxy, errors)
    get_kind("linkshape").restore(None, proxy, shape)
    assert proxy.mode == {"cut": False, "shape": None, "errors": {"status": 429, "fraction": 0.5}}
    with pytest.raises(ChaosError, match="CHAOS_PROXY_URL"):
        get_kind("cloud-errors").apply(None, None, errors)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"kind": "meteor", "target": "tool"}, "known kinds: cloud-errors"),
        ({"kind": "download", "target": "tool"}, "download cannot target 'tool'; accepted: plc-sim"),
        ({"kind": "wipe", "target": "plc-sim"}, "accepted: tool"),
        ({"kind": "delay", "target": "plc-sim"}, "delayMs must be an integer"),
        ({"kind": "delay", "target": "plc-sim", "params": {"delayMs": 1.5}}, "delayMs must be an integer"),
        ({"kind": "power", "target": "tool", "params": {"signal": 9}}, "unknown param(s) ['signal']"),
        ({"kind": "cloud-errors", "target": "cloud-proxy", "params": {"status": 404}}, "not accepted"),
        ({"kind": "linkshape", "target": "cloud-proxy", "params": {"dropRate": 2}}, "at most 1.0"),
        ({"kind": "power", "target": "tool", "duration": -1}, "duration must be a number of seconds >= 0"),
        ({"kind": "power", "target": "tool", "at": "soon"}, "at must be a number"),
        ({"kind": "power", "target": "tool", "params": [1]}, "params must be a JSON object"),
    ],
)
def test_validation_names_the_problem(fault, message):
    full = {"id": "f9", "at": 1, "duration": 1, **fault}
    with pytest.raises(FaultSpecError) as raised:
        validate_fault(full)
    assert message in str(raised.value)


def test_validation_normalizes():
    got = validate_fault({"id": "f1", "kind": "power", "target": "tool", "at": 3, "duration": 2, "extra": 1})
    assert got == {"id": "f1", "kind": "power", "target": "tool", "at": 3.0, "duration": 2.0, "params": {}}
    assert "at" not in validate_fault({"kind": "power", "target": "tool"}, needs_at=False)
