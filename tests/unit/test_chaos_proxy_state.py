"""Cloud-proxy mode layers: independent set/clear, validation with a clear message."""

from __future__ import annotations

import pytest

from battle.chaos.errors import ProxyControlError
from battle.chaos.proxy.config import ProxyConfig
from battle.chaos.proxy.state import ProxyMode, ProxyState


def test_layers_are_set_and_cleared_independently():
    mode = ProxyMode().updated({"shape": {"latencyMs": 100, "dropRate": 0.2}})
    mode = mode.updated({"errors": {"status": 429, "fraction": 0.5}})
    mode = mode.updated({"cut": True})
    assert mode.name == "cut"
    mode = mode.updated({"cut": False})
    assert mode.name == "errors" and mode.shape.latency_ms == 100 and mode.errors.retry_after_s == 1
    mode = mode.updated({"errors": None})
    assert mode.name == "shape"
    assert mode.updated({"mode": "pass"}) == ProxyMode()
    assert mode.to_json()["shape"] == {
        "latencyMs": 100.0,
        "jitterMs": 0.0,
        "bandwidthKbps": 0.0,
        "dropRate": 0.2,
    }


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ([1], "JSON object"),
        ({"speed": 3}, "unknown mode field"),
        ({"mode": "chaos"}, 'accepted: "pass"'),
        ({"cut": "yes"}, "true or false"),
        ({"shape": {"latencyMs": -1}}, "shape.latencyMs must be a number >= 0"),
        ({"shape": {"dropRate": 1.5}}, "at most 1.0"),
        ({"shape": {"lag": 1}}, "unknown shape field"),
        ({"errors": {"status": 418}}, "accepted: [429, 500, 502, 503, 504]"),
        ({"errors": {"fraction": True}}, "errors.fraction"),
    ],
)
def test_bad_mode_is_refused_and_state_unchanged(body, needle):
    state = ProxyState()
    state.update({"cut": True})
    with pytest.raises(ProxyControlError) as raised:
        state.update(body)
    assert needle in str(raised.value)
    assert state.mode == ProxyMode(cut=True)


def test_counters_and_seeded_randomness():
    a, b = ProxyState(seed=7), ProxyState(seed=7)
    assert [a.chance() for _ in range(5)] == [b.chance() for _ in range(5)]
    a.count("dropped")
    a.count("passed")
    a.count("passed")
    assert a.stats() == {"passed": 2, "errored": 0, "dropped": 1, "refused": 0, "upstreamErrors": 0}


def test_config_from_env_validates():
    config = ProxyConfig.from_env(
        {"PROXY_UPSTREAM": "http://cloud:8081", "CHAOS_TOKEN": "t", "PROXY_LISTEN_PORT": "0"}
    )
    assert config.listen_port == 0 and config.control_port == 8091
    with pytest.raises(ProxyControlError, match="PROXY_UPSTREAM"):
        ProxyConfig.from_env({"PROXY_UPSTREAM": "cloud:8081", "CHAOS_TOKEN": "t"})
    with pytest.raises(ProxyControlError, match="CHAOS_TOKEN"):
        ProxyConfig.from_env({"PROXY_UPSTREAM": "http://cloud:8081"})
    with pytest.raises(ProxyControlError, match="PROXY_CONTROL_PORT"):
        ProxyConfig.from_env({"PROXY_UPSTREAM": "http://c", "CHAOS_TOKEN": "t", "PROXY_CONTROL_PORT": "x"})


def test_proxy_binds_loopback_unless_told():
    base = {"PROXY_UPSTREAM": "http://cloud:8081", "CHAOS_TOKEN": "t"}
    assert ProxyConfig.from_env(base).host == "127.0.0.1"
    assert ProxyConfig(upstream="http://c", token="t").host == "127.0.0.1"
    assert ProxyConfig.from_env({**base, "PROXY_HOST": "0.0.0.0"}).host == "0.0.0.0"
