"""The chaos HTTP API: token first, refusals do nothing, faults go through the runner and the ledger."""

from __future__ import annotations

import pytest

from battle.chaos.api import MAX_BODY_BYTES, create_chaos_app, gate
from battle.chaos.errors import ChaosError
from battle.chaos.ledger import Ledger, read_ledger
from battle.chaos.recording_driver import RecordingDriver, RecordingProxy
from battle.chaos.runner import PlanRunner
from battle.chaos.service import ChaosServiceConfig

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


def test_second_fault_on_a_busy_target_is_409_naming_the_active_fault(rig):
    client, driver, _, ledger_path = rig
    first = client.post("/faults/pause", json={"target": "tool", "duration": 30}, headers=AUTH)
    assert first.status_code == 200
    lines_before = ledger_path.read_text().count("\n")
    second = client.post("/faults/power", json={"target": "tool", "duration": 5}, headers=AUTH)
    assert second.status_code == 409
    body = second.get_json()
    assert body["active"] == {"fault": "api001", "kind": "pause", "target": "tool"} and body["target"] == "tool"
    assert "api001 (pause)" in body["error"] and "one fault per target" in body["error"]
    assert driver.methods() == [("pause", "tool")] and ledger_path.read_text().count("\n") == lines_before
    # another target is not affected
    assert client.post("/faults/power", json={"target": "plc-sim", "duration": 5}, headers=AUTH).status_code == 200


def test_body_over_64_kib_is_413_naming_the_limit_and_nothing_happens(rig):
    client, driver, _, ledger_path = rig
    big = b'{"target": "tool", "duration": 1, "pad": "' + b"x" * (64 * 1024) + b'"}'
    response = client.post("/faults/power", data=big, content_type="application/json", headers=AUTH)
    assert response.status_code == 413 and "65536" in response.get_json()["error"]
    assert driver.calls == [] and not ledger_path.exists()


def test_token_is_checked_before_the_body_size(rig):
    client, *_ = rig
    big = b"x" * (128 * 1024)
    response = client.post("/faults/power", data=big, content_type="application/json")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("path", "token", "length", "chunked", "expected"),
    [
        ("/faults/power", None, "100", False, 401),
        ("/faults/power", "wrong", None, False, 401),
        ("/faults/power", TOKEN, "abc", False, 400),
        ("/faults/power", TOKEN, "-5", False, 400),
        ("/faults/power", TOKEN, "5, 5", False, 400),
        ("/faults/power", TOKEN, None, True, 400),
        ("/faults/power", TOKEN, str(MAX_BODY_BYTES + 1), False, 413),
        ("/faults/power", TOKEN, str(MAX_BODY_BYTES), False, None),
        ("/faults/power", TOKEN, None, False, None),
        ("/health", None, None, False, None),
        ("/health", None, "104857600", False, 413),  # even the open route does not take a big body
    ],
)
def test_gate_decides_from_the_headers_alone(path, token, length, chunked, expected):
    refused = gate(path, token, length, chunked, TOKEN)
    assert (refused[0] if refused else None) == expected
    if refused is not None and expected != 401:
        assert str(MAX_BODY_BYTES) in refused[1]  # every size/length message names the limit


def test_chaos_service_binds_loopback_unless_told(tmp_path):
    assert ChaosServiceConfig.from_mapping({"CHAOS_TOKEN": "t"}).host == "127.0.0.1"
    assert ChaosServiceConfig(token="t", ledger_path=tmp_path / "x").host == "127.0.0.1"
    assert ChaosServiceConfig.from_mapping({"CHAOS_TOKEN": "t", "CHAOS_HOST": "0.0.0.0"}).host == "0.0.0.0"
