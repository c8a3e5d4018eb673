"""The cloud over real HTTP: the app under waitress on a free loopback port, SQLite underneath."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from test_cloud_support import SUBSYSTEM, CloudClient, ServerThread, first_id, make_seed_ios

from sut.cloud.app import cloud_state, create_app
from sut.cloud.config import CloudConfig


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def seed_file(tmp_path) -> Any:
    path = tmp_path / "cloud_seed.json"
    path.write_text(json.dumps({"schema": 1, "subsystemId": SUBSYSTEM, "ios": make_seed_ios(40)}))
    return path


def serve(config: CloudConfig, clock: Any = None) -> tuple[ServerThread, Any]:
    app = create_app(config, clock=clock) if clock else create_app(config)
    return ServerThread(app), app


@pytest.fixture
def cloud(tmp_path, seed_file) -> Iterator[CloudClient]:
    server, app = serve(CloudConfig(sqlite_path=tmp_path / "cloud.db", seed_file=seed_file, rate_limit_per_min=10_000))
    yield CloudClient(server.url)
    server.stop()
    cloud_state(app).store.close()


@pytest.fixture
def seed() -> list[dict[str, Any]]:
    return make_seed_ios(40)


def push_item(io: dict[str, Any], result: Any = "Passed", comments: str = "ok", base: int | None = None) -> dict:
    return {"ioId": io["id"], "result": result, "comments": comments,
            "baseVersion": io["version"] if base is None else base}


def test_health_needs_no_key(cloud: CloudClient) -> None:
    response = CloudClient(cloud.base_url, api_key=None).request("GET", "/api/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_missing_or_wrong_key_is_401_and_writes_nothing(cloud: CloudClient, seed, key) -> None:
    before = cloud.pull()
    intruder = CloudClient(cloud.base_url, api_key=key)
    for method, path, body in [
        ("POST", "/api/sync/push", {"items": [push_item(seed[0])]}),
        ("GET", "/api/sync/pull?subsystemId=38", None),
        ("PATCH", "/api/admin/ios/1", {"name": "hijacked"}),
    ]:
        response = intruder.request(method, path, json=body)
        assert response.status_code == 401
        assert "X-API-Key" in response.json()["error"]
    assert cloud.pull() == before


def test_push_outcomes_applied_conflict_spare_unknown(cloud: CloudClient, seed) -> None:
    live, stale = seed[0], seed[1]
    spare = seed[first_id(seed, spare=True) - 1]
    response = cloud.push(
        push_item(live, "Passed", "verified"),
        push_item(stale, "Failed", base=stale["version"] - 1),
        push_item(spare, "Passed"),
        {"ioId": 4242, "result": "Failed", "comments": "", "baseVersion": 1},
    )
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"ioId": live["id"], "status": "applied", "version": live["version"] + 1},
        {"ioId": stale["id"], "status": "conflict", "version": stale["version"],
         "result": stale["result"], "comments": stale["comments"]},
        {"ioId": spare["id"], "status": "rejected", "reason": "SPARE cannot be Passed"},
        {"ioId": 4242, "status": "rejected", "reason": "unknown IO"},
    ]
    after = {io["id"]: io for io in cloud.pull()["ios"]}
    assert (after[live["id"]]["result"], after[live["id"]]["comments"]) == ("Passed", "verified")
    assert after[stale["id"]] == stale and after[spare["id"]] == spare


def test_invalid_result_is_rejected_per_item_and_writes_nothing(cloud: CloudClient, seed) -> None:
    before = cloud.pull()
    response = cloud.push(push_item(seed[0], "passed"), push_item(seed[1], 7))
    assert response.status_code == 200
    reasons = [r["reason"] for r in response.json()["results"]]
    assert reasons == ['invalid result "passed"; accepted: Passed, Failed, Cleared',
                       "invalid result 7; accepted: Passed, Failed, Cleared"]
    assert cloud.pull() == before


@pytest.mark.parametrize(("body", "names"), [
    (b"{not json", "JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"item": []}', "items"),
    (b'{"items": {"ioId": 1}}', "items"),
    (b'{"items": [{"result": "Passed", "baseVersion": 1}]}', "items[0].ioId"),
    (b'{"items": [{"ioId": 1, "result": "Passed"}]}', "items[0].baseVersion"),
    (b'{"items": [{"ioId": 1, "result": null, "baseVersion": 1}, {"ioId": "2", "baseVersion": 1}]}', "items[1].ioId"),
    (b'{"items": [{"ioId": 1, "result": null, "baseVersion": "1"}]}', "items[0].baseVersion"),
    (b'{"items": [{"ioId": 2, "result": "Passed", "baseVersion": 2, "comments": 5}]}', "items[0].comments"),
    (b'{"items": [{"ioId": 2, "baseVersion": 2}]}', "items[0].result"),
])
def test_malformed_push_is_400_naming_the_field_and_writes_nothing(cloud: CloudClient, body, names) -> None:
    before = cloud.pull()
    response = cloud.request("POST", "/api/sync/push", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert names in response.json()["error"]
    assert cloud.pull() == before


def test_push_over_200_items_is_400_and_writes_nothing(cloud: CloudClient, seed) -> None:
    before = cloud.pull()
    items = [push_item(seed[0])] + [push_item(seed[1], base=99)] * 200
    response = cloud.push(*items)
    assert response.status_code == 400
    assert "201" in response.json()["error"] and "at most 200" in response.json()["error"]
    assert cloud.pull() == before


def test_full_pull_then_delta_feed_with_cursor(cloud: CloudClient, seed) -> None:
    full = cloud.pull()
    assert full["ios"] == seed and full["cursor"] == 0
    edited = cloud.request("PATCH", f"/api/admin/ios/{seed[5]['id']}", json={"description": "relocated"})
    assert edited.status_code == 200
    cloud.push(push_item(seed[6], "Failed", "loose wire"))
    delta = cloud.changes(full["cursor"])
    assert delta.status_code == 200
    body = delta.json()
    assert [(c["id"], c["version"]) for c in body["changes"]] == [
        (seed[5]["id"], seed[5]["version"] + 1), (seed[6]["id"], seed[6]["version"] + 1)]
    assert body["changes"][0]["description"] == "relocated"
    assert body["cursor"] == full["cursor"] + 2 == cloud.pull()["cursor"]
    assert cloud.changes(body["cursor"]).json() == {"changes": [], "cursor": body["cursor"]}
    ahead = cloud.changes(body["cursor"] + 10)
    assert ahead.status_code == 409
    assert ahead.json()["resync"] is True and "full pull" in ahead.json()["error"]


@pytest.mark.parametrize("query", ["", "?subsystemId=38", "?subsystemId=38&since=abc", "?subsystemId=38&since=-1"])
def test_delta_feed_needs_valid_parameters(cloud: CloudClient, query) -> None:
    response = cloud.request("GET", "/api/sync/changes" + query)
    assert response.status_code == 400
    assert "query parameter" in response.json()["error"]


def test_admin_add_edit_delete(cloud: CloudClient, seed) -> None:
    cursor = cloud.pull()["cursor"]
    created = cloud.request("POST", "/api/admin/ios",
                            json={"subsystemId": SUBSYSTEM, "name": "MCM02_DO_0100", "description": "beacon",
                                  "tagName": "MCM02:O.Data[100]", "isSpare": False})
    assert created.status_code == 201
    io = created.json()
    assert io["id"] == max(s["id"] for s in seed) + 1
    assert (io["version"], io["result"], io["isSpare"], io["tagName"]) == (1, None, 0, "MCM02:O.Data[100]")
    assert cloud.request("GET", f"/api/admin/ios/{io['id']}").json() == io

    patched = cloud.request("PATCH", f"/api/admin/ios/{io['id']}", json={"comments": "check lamp", "name": "BEACON_1"})
    assert patched.status_code == 200
    assert (patched.json()["version"], patched.json()["comments"], patched.json()["name"]) == (2, "check lamp", "BEACON_1")

    deleted = cloud.request("DELETE", f"/api/admin/ios/{io['id']}")
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert cloud.request("GET", f"/api/admin/ios/{io['id']}").status_code == 404
    assert io["id"] not in {i["id"] for i in cloud.pull()["ios"]}
    changes = cloud.changes(cursor).json()["changes"]
    assert [(c["id"], c["version"], c.get("deleted", False)) for c in changes] == [(io["id"], 3, True)]
    assert cloud.push({"ioId": io["id"], "result": "Failed", "comments": "", "baseVersion": 3}).json()["results"][0]["reason"] == "unknown IO"


def test_admin_never_changes_result_and_refuses_bad_bodies(cloud: CloudClient, seed) -> None:
    before = cloud.pull()
    target = f"/api/admin/ios/{seed[1]['id']}"
    cases = [
        ("PATCH", target, {"result": "Passed"}, 400, "result cannot be changed"),
        ("PATCH", target, {"result": None, "comments": "x"}, 400, "result cannot be changed"),
        ("PATCH", target, {"colour": "red"}, 400, "unknown field(s) colour"),
        ("PATCH", target, {}, 400, "nothing to change"),
        ("PATCH", target, {"isSpare": 2}, 400, "isSpare"),
        ("PATCH", "/api/admin/ios/777", {"name": "x"}, 404, "IO 777 not found"),
        ("DELETE", "/api/admin/ios/777", None, 404, "IO 777 not found"),
        ("POST", "/api/admin/ios", {"subsystemId": SUBSYSTEM, "name": "x", "description": "d", "result": "Passed"},
         400, "result cannot be set"),
        ("POST", "/api/admin/ios", {"subsystemId": SUBSYSTEM, "name": "x"}, 400, "missing description"),
        ("POST", "/api/admin/ios", {"subsystemId": "38", "name": "x", "description": "d"}, 400, "subsystemId"),
    ]
    for method, path, body, status, message in cases:
        response = cloud.request(method, path, json=body)
        assert response.status_code == status, (method, path, body, response.text)
        assert message in response.json()["error"], response.json()
    assert cloud.pull() == before


def test_unknown_routes_and_methods_answer_json(cloud: CloudClient) -> None:
    missing = cloud.request("GET", "/api/nope")
    assert missing.status_code == 404 and "error" in missing.json()
    wrong = cloud.request("GET", "/api/sync/push")
    assert wrong.status_code == 405 and "POST" in wrong.headers["Allow"]


def test_rate_limit_answers_429_with_retry_after_per_key(tmp_path, seed_file) -> None:
    clock = FakeClock()
    config = CloudConfig(sqlite_path=tmp_path / "cloud.db", seed_file=seed_file,
                         rate_limit_per_min=5, api_keys=("key-a", "key-b"))
    server, app = serve(config, clock)
    try:
        a, b = CloudClient(server.url, "key-a"), CloudClient(server.url, "key-b")
        for _ in range(5):
            assert a.changes(0).status_code == 200
            clock.now += 1.0
        limited = a.changes(0)
        assert limited.status_code == 429
        assert limited.json() == {"error": "rate limited"}
        # The oldest admitted request was at t=1000; the window frees it at t=1060; now is t=1005.
        assert limited.headers["Retry-After"] == "55"
        assert b.changes(0).status_code == 200, "the limit is per key"
        assert a.request("GET", "/api/health").status_code == 200, "health is never limited"
        clock.now += 55.0
        assert a.changes(0).status_code == 200
        assert a.changes(0).status_code == 429
    finally:
        server.stop()
        cloud_state(app).store.close()
