"""CloudConfig.from_env: defaults, parsing, and errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from sut.cloud.config import CloudConfig
from sut.cloud.errors import ConfigError


def test_defaults_match_the_contract() -> None:
    config = CloudConfig.from_env({})
    assert (config.host, config.port, config.rate_limit_per_min) == ("0.0.0.0", 8081, 300)
    assert config.api_keys == ("battle-key",)
    assert (config.database_url, config.backend, config.seed_file) == (None, "sqlite", None)
    assert config.sqlite_path == Path("data/cloud.db")


def test_values_are_read_and_trimmed() -> None:
    config = CloudConfig.from_env({
        "CLOUD_HOST": "127.0.0.1", "CLOUD_PORT": "0", "CLOUD_API_KEYS": " a , b ,",
        "CLOUD_RATE_LIMIT_PER_MIN": " 5 ", "CLOUD_DATABASE_URL": "postgresql://u@db:5432/cloud",
        "CLOUD_SEED_FILE": "/seed/cloud_seed.json", "CLOUD_SQLITE_PATH": "/data/x.db",
    })
    assert (config.host, config.port, config.api_keys, config.rate_limit_per_min) == ("127.0.0.1", 0, ("a", "b"), 5)
    assert config.backend == "postgres"
    assert config.seed_file == Path("/seed/cloud_seed.json")
    assert config.sqlite_path == Path("/data/x.db")


@pytest.mark.parametrize(("env", "names"), [
    ({"CLOUD_PORT": "http"}, "CLOUD_PORT='http' is not an integer"),
    ({"CLOUD_PORT": "65536"}, "CLOUD_PORT=65536"),
    ({"CLOUD_RATE_LIMIT_PER_MIN": "0"}, "CLOUD_RATE_LIMIT_PER_MIN=0 is too small"),
    ({"CLOUD_API_KEYS": " , "}, "CLOUD_API_KEYS"),
    ({"CLOUD_DATABASE_URL": "sqlite:///x.db"}, "CLOUD_DATABASE_URL"),
])
def test_bad_values_name_the_setting_and_the_accepted_form(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as caught:
        CloudConfig.from_env(env)
    assert names in str(caught.value) and "accepted" in str(caught.value)


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        CloudConfig().port = 1  # type: ignore[misc]
