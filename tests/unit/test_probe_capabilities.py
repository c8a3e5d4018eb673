"""The probe's paths the real fixture does not reach: a tool that refuses every write, no tool log, and every
wait bounded by the injected clock (no real sleeps)."""

from __future__ import annotations

import random

from battle.adapters.base import BotWrite, SutEndpoints
from battle.probe.capabilities import Probe, ProbeClock, ProbeSettings
from tests.fixtures.othertool.adapter import OtherToolAdapter, PointKind


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class InMemoryPoints(PointKind):
    """The example's record kind over two dicts instead of HTTP: the tool's records and the cloud's."""

    def __init__(self) -> None:
        super().__init__("http://tool.invalid", "http://cloud.invalid")
        self.local = {1: {"id": 1, "state": None, "note": ""}}
        self.cloud = {1: {"id": 1, "state": None, "note": ""}}

    def local_snapshot(self):
        return list(self.local.values())

    def cloud_snapshot(self):
        return list(self.cloud.values())


class InMemoryAdapter(OtherToolAdapter):
    def __init__(self) -> None:
        super().__init__(SutEndpoints("http://tool.invalid", "http://cloud.invalid"))
        self.points = InMemoryPoints()

    def record_kinds(self):
        return {"point": self.points}

    def tool_healthy(self) -> bool:
        return True

    def cloud_healthy(self) -> bool:
        return True


def probe_of(adapter: InMemoryAdapter, send_write, clock: FakeClock) -> dict[str, tuple[str, str]]:
    probe = Probe(adapter, send_write, None, ProbeClock(lambda: clock.t, clock.sleep), ProbeSettings(wait_s=5))
    results = {}
    with probe.capability("health: tool"):
        pass
    probe.probe_kind(adapter.points, random.Random(1))
    probe.probe_events()
    for result in probe.results:
        results[result.capability] = (result.status, result.detail)
    return results


def test_a_tool_that_refuses_every_write_fails_the_write_and_says_what_it_answered():
    found = probe_of(InMemoryAdapter(), lambda write: 422, FakeClock())
    status, detail = found["write: read back locally [point]"]
    assert status == "failed" and "POST /v2/points/1/mark answered HTTP 422" in detail
    assert found["write: seen in the cloud [point]"] == ("failed", "no write to look for: the local write failed")


def test_a_write_never_synced_fails_after_the_bound_on_the_injected_clock():
    adapter, clock = InMemoryAdapter(), FakeClock()

    def store_locally(write: BotWrite) -> int:
        adapter.points.local[1].update(state=write.body["state"], note=write.body["note"])
        return 200

    found = probe_of(adapter, store_locally, clock)
    assert found["write: read back locally [point]"][0] == "ok"
    assert found["write: seen in the cloud [point]"][0] == "failed"
    assert "not seen within 5 s" in found["write: seen in the cloud [point]"][1]
    assert 5 <= clock.t < 6
    assert found["events: observed in the tool's log"] == ("failed", "no tool log to follow (give --tool-log FILE)")
