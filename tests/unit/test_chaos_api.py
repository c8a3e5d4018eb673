"""The chaos HTTP API: token first, refusals do nothing, faults go through the runner and the ledger."""

from __future__ import annotations

import pytest

from battle.chaos.api import create_chaos_app
from battle.chaos.errors import ChaosError
from battle.chaos.ledger import Ledger, read_ledger
from battle.chaos.recording_driver import RecordingDriver, RecordingProxy
from battle.chaos.runner import PlanRunner

TOKEN = "s3cret"
AUTH = {"X-Chaos-Token": TOKEN}


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def rig(tmp_path):
    clock = Clock()
    driver = RecordingDriver(["tool", "plc-sim", "cloud-proxy"], clock)
    ledger_path = tmp_path / "injected.jsonl"
    runner = PlanRunner(
        {"schema": 1, "faults": []}, driver, RecordingProxy(), Ledger(ledger_path), clock, lambda s: None
    )
    app = create_chaos_app(runner, driver, ledger_path, TOKEN)
    return app.test_client(), driver, runner, ledger_path


@pytest.mark.parametrize("headers", [{}, {"X-Chaos-Token": "wrong"}, {"X-Chaos-Token": ""}])
@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/faults/power"), ("post", "/calm"), ("get", "/events"), ("post", "/faults/nope")],
)
def test_missing_or_wrong_token_is_401_and_nothing_happens(rig, headers, method, path):
    client, driver, runner, ledger_path = rig
    response = getattr(client, method)(path, json={"target": "tool", "duration": 1}, headers=headers)
    assert response.status_code == 401 and "X-Chaos-Token" in response.get_json()["error"]
    assert driver.calls == [] and not ledger_path.exists() and not runner.status()["calmed"]


def test_health_needs_no_token(rig):
    client, *_ = rig
    assert client.get("/health").get_json() == {"status": "ok", "backend": "recording"}


def test_target_outside_the_allowlist_is_403_naming_both(rig):
    client, driver, _, ledger_path = rig
    response = client.post("/faults/power", json={"target": "cloud-db", "duration": 5}, headers=AUTH)
    assert response.status_code == 403
    body = response.get_json()
    assert body["target"] == "cloud-db" and body["allowlist"] == ["cloud-proxy", "plc-sim", "tool"]
    assert "'cloud-db'" in body["error"] and "nothing was done" in body["error"]
    assert driver.calls == [] and not ledger_path.exists()


def test_unknown_kind_is_404_listing_kinds(rig):
    client, driver, *_ = rig
    response = client.post("/faults/meteor", json={"target": "tool"}, headers=AUTH)
    assert response.status_code == 404
    assert "power" in response.get_json()["kinds"] and driver.calls == []


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/faults/power", ["tool"], "JSON object"),
        ("/faults/power", {"duration": 1}, "target is required"),
        ("/faults/delay", {"target": "plc-sim", "duration": 1, "params": {"delayMs": "lots"}}, "delayMs"),
        ("/faults/download", {"target": "tool", "duration": 1}, "cannot target 'tool'"),
    ],
)
def test_malformed_requests_are_400_and_do_nothing(rig, path, body, needle):
    client, driver, _, ledger_path = rig
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code == 400 and needle in response.get_json()["error"]
    assert driver.calls == [] and not ledger_path.exists()


def test_fault_is_applied_journaled_and_calm_restores_it(rig):
    client, driver, _, _ = rig
    response = client.post("/faults/pause", json={"target": "tool", "duration": 30}, headers=AUTH)
    assert response.status_code == 200 and response.get_json()["fault"]["id"] == "api001"
    assert driver.paused["tool"]
    calm = client.post("/calm", headers=AUTH).get_json()
    assert calm["ok"] and calm["restored"] == [{"fault": "api001", "kind": "pause", "target": "tool"}]
    assert calm["running"] == {"tool": True}
    assert client.post("/calm", headers=AUTH).get_json()["restored"] == []
    events = client.get("/events", headers=AUTH).get_json()
    assert [e["step"] for e in events["events"]] == ["planned", "intent", "applied", "restored"]
    assert (
        client.post("/faults/pause", json={"target": "tool", "duration": 1}, headers=AUTH).status_code == 409
    )


def test_runtime_failure_is_500_and_journaled(rig):
    client, driver, _, ledger_path = rig
    driver.fail_on[("kill", "tool")] = "engine said no"
    response = client.post("/faults/power", json={"target": "tool", "duration": 3}, headers=AUTH)
    assert response.status_code == 500 and response.get_json()["fault"] == "api001"
    failed = [e for e in read_ledger(ledger_path).entries if e["step"] == "failed"]
    assert "engine said no" in failed[0]["error"]


def test_status_and_plan_start(rig):
    client, *_ = rig
    assert client.get("/status", headers=AUTH).get_json()["started"] is False


def test_app_refuses_an_empty_token(tmp_path):
    with pytest.raises(ChaosError, match="CHAOS_TOKEN"):
        create_chaos_app(None, RecordingDriver([]), tmp_path / "x", "")


def test_proxy_kinds_need_no_runtime_allowlist_entry_and_calm_checks_proxy_health(tmp_path):
    driver = RecordingDriver(["tool"])  # the local backend keeps the cloud-proxy off the runtime allowlist
    proxy = RecordingProxy()
    ledger_path = tmp_path / "injected.jsonl"
    runner = PlanRunner(
        {"schema": 1, "faults": []}, driver, proxy, Ledger(ledger_path), Clock(), lambda s: None
    )
    client = create_chaos_app(runner, driver, ledger_path, TOKEN).test_client()
    response = client.post(
        "/faults/linkshape",
        json={"target": "cloud-proxy", "duration": 9, "params": {"latencyMs": 250}},
        headers=AUTH,
    )
    assert response.status_code == 200 and proxy.mode["shape"] == {"latencyMs": 250}
    assert (
        client.post("/faults/power", json={"target": "cloud-proxy", "duration": 1}, headers=AUTH).status_code
        == 403
    )
    calm = client.post("/calm", headers=AUTH).get_json()
    assert calm["ok"] and calm["running"] == {"cloud-proxy": True} and proxy.mode["shape"] is None
    assert driver.calls == []
