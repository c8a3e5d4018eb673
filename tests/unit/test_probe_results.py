"""The probe's pure parts: which events it expects of an adapter, and how results become an exit and a table."""

from battle.adapters.base import SutEndpoints
from battle.adapters.reference import ReferenceAdapter
from battle.probe.capabilities import mapped_events
from battle.probe.results import CapabilityResult, all_passed, render_table
from tests.fixtures.othertool.adapter import OtherToolAdapter

ENDPOINTS = SutEndpoints("http://127.0.0.1:1", "http://127.0.0.1:2")


def test_an_adapter_without_a_plc_is_expected_no_plc_events():
    assert mapped_events(OtherToolAdapter(ENDPOINTS)) == [
        "tool_started", "records_pushed", "record_parked", "record_dropped", "pull_applied"]
    assert {"plc_connected", "plc_restored"} <= set(mapped_events(ReferenceAdapter(ENDPOINTS)))


def test_skipped_is_no_failure_and_the_table_names_what_failed_and_why():
    ok = CapabilityResult("health: tool", "ok", "", 0.01)
    skipped = CapabilityResult("events: only under faults", "skipped", "needs a fault", 0.0)
    failed = CapabilityResult("write: seen in the cloud [point]", "failed", "not seen within 5 s", 5.0, "point")
    assert all_passed([ok, skipped]) and not all_passed([ok, failed])
    table = render_table("othertool", [ok, failed])
    assert "write: seen in the cloud [point]  failed     5.00  not seen within 5 s" in table
    assert table.endswith("1 of 2 capabilities ok or skipped; 1 failed")
