"""Configuration from the environment: defaults, bad values named, unknown bugs refused."""

from pathlib import Path

import pytest

from sut.tool.config import ToolConfig
from sut.tool.errors import ConfigError


def test_defaults_match_the_contract():
    config = ToolConfig.from_env({})
    assert (config.host, config.port, config.plc_port, config.subsystem_id) == ("0.0.0.0", 8080, 44818, 38)
    assert (config.push_interval_s, config.pull_interval_s, config.plc_poll_s) == (1.0, 2.0, 1.0)
    assert (config.conflict_cap, config.retry_cap, config.bugs) == (3, 10, frozenset())
    assert config.cloud_url is None and config.plc_host is None and config.event_log is None


def test_values_are_read_and_frozen():
    config = ToolConfig.from_env({"TOOL_PORT": "0", "TOOL_DATA_DIR": "/x", "TOOL_CONFLICT_CAP": "5",
                                  "BATTLE_SUT_BUGS": "stall, clobber", "TOOL_EVENT_LOG": "/x/e.jsonl"})
    assert config.port == 0 and config.db_path == Path("/x/tool.db") and config.conflict_cap == 5
    assert config.bugs == frozenset({"stall", "clobber"}) and config.has_bug("stall")
    with pytest.raises(AttributeError):
        config.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(("env", "needle"), [
    ({"TOOL_PORT": "eighty"}, "TOOL_PORT='eighty' is not an integer"),
    ({"TOOL_PORT": "70000"}, "TOOL_PORT='70000' is above 65535"),
    ({"TOOL_PUSH_INTERVAL_S": "-1"}, "TOOL_PUSH_INTERVAL_S='-1' is below"),
    ({"TOOL_CONFLICT_CAP": "0"}, "TOOL_CONFLICT_CAP='0' is below 1"),
    ({"BATTLE_SUT_BUGS": "stall,teleport"}, "'teleport'"),
])
def test_bad_values_name_the_knob_and_the_accepted_form(env, needle):
    with pytest.raises(ConfigError) as refused:
        ToolConfig.from_env(env)
    assert needle in str(refused.value)
