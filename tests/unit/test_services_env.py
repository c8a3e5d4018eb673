"""The environment ci/run_scenario.sh exports before `up`: resolved knobs, identity, secrets."""

from __future__ import annotations

import subprocess

import pytest

from battle.backends.docker_env import (
    STACK_VARS,
    DockerStackError,
    check_run_id,
    compose_environment,
    decode_sources,
    docker_run_id,
    encode_sources,
    project_name,
    shell_exports,
)
from battle.chaos.plan import generate_plan
from battle.config import ConfigError, load_catalogue, resolve
from battle.gating import decide

CLOCK = 1_795_000_000.0  # 2026-11-18T11:06:40Z


def test_every_knob_is_exported_resolved_with_where_it_came_from():
    env = {"SCENARIO": "s2", "SOAK_MINUTES": "3", "DOWNLOAD_DOWN_S": "12"}
    out = compose_environment(resolve(env), env, clock=CLOCK)
    assert set(load_catalogue().knobs) | set(STACK_VARS) == set(out)
    assert out["DOWNLOAD_STORM"] == "20,40"  # from the scenario, although the caller did not set it
    assert out["DOWNLOAD_DOWN_S"] == "12" and out["SOAK_MINUTES"] == "3"
    assert out["CLOUD_FLAP"] == ""  # off, explicitly: '' in the container means off, not unset
    sources = decode_sources(out["BATTLE_KNOB_SOURCES"])
    assert sources["DOWNLOAD_STORM"] == "scenario" and sources["DOWNLOAD_DOWN_S"] == "env"
    assert sources["WARMUP_S"] == "default"


def test_resolving_the_exports_again_gives_the_same_values():
    """What a container resolves from the exported values equals what the host resolved."""
    env = {"SCENARIO": "mutate", "BOTS": "3"}
    host = resolve(env)
    out = compose_environment(host, env, clock=CLOCK)
    container = resolve(out)
    assert container.to_env() == host.to_env()
    assert decide(container, generate_plan(container)) == decide(host, generate_plan(host))


def test_mutate_scenario_turns_the_compose_profile_on():
    out = compose_environment(resolve({"SCENARIO": "mutate"}), {"SCENARIO": "mutate"}, clock=CLOCK)
    assert out["COMPOSE_PROFILES"] == "mutate"


def test_run_identity_secrets_and_project():
    env = {"SCENARIO": "s1"}
    out = compose_environment(resolve(env), env, clock=CLOCK, git_commit="abc123", images={"TOOL_IMAGE": "x"})
    assert out["RUN_ID"].startswith("s1-20261118T110640Z-s1-") and out["RUN_ID"].endswith(tuple("0123456789abcdef"))
    assert out["COMPOSE_PROJECT_NAME"] == "battle-" + out["RUN_ID"].lower()
    assert len(out["CHAOS_TOKEN"]) == 32 and out["CLOUD_API_KEY"].startswith("battle-")
    assert out["BATTLE_GIT_COMMIT"] == "abc123" and out["BATTLE_IMAGES"] == '{"TOOL_IMAGE":"x"}'
    again = compose_environment(resolve(env), env, clock=CLOCK)
    assert again["RUN_ID"] != out["RUN_ID"], "two runs in the same second must not share a project"
    assert again["CHAOS_TOKEN"] != out["CHAOS_TOKEN"]


def test_callers_run_id_and_secrets_are_kept():
    env = {"RUN_ID": "Nightly.42", "CHAOS_TOKEN": "t0k", "CLOUD_API_KEY": "k3y"}
    out = compose_environment(resolve(env), env, clock=CLOCK)
    assert (out["RUN_ID"], out["CHAOS_TOKEN"], out["CLOUD_API_KEY"]) == ("Nightly.42", "t0k", "k3y")
    assert out["COMPOSE_PROJECT_NAME"] == "battle-nightly-42"


@pytest.mark.parametrize("bad", ["", "../etc", "a b", "-lead", "x" * 90, "ünïcode"])
def test_bad_run_ids_are_refused(bad):
    with pytest.raises(DockerStackError, match="RUN_ID"):
        check_run_id(bad)


def test_project_name_is_lowercase_compose_safe():
    assert project_name("s2-20261122T043901Z-s1-7c70") == "battle-s2-20261122t043901z-s1-7c70"
    assert docker_run_id(resolve({}), CLOCK, suffix="beef").endswith("-s1-beef")


def test_sources_round_trip_and_tolerate_damage():
    sources = {"SCENARIO": "env", "SEED": "default", "DOWNLOAD_STORM": "scenario"}
    assert decode_sources(encode_sources(sources)) == sources
    assert decode_sources("SEED=default,junk,BOTS=guess,=env") == {"SEED": "default"}


def test_a_bad_knob_is_refused_before_anything_is_exported():
    with pytest.raises(ConfigError, match="DOWNLOAD_STORM"):
        compose_environment(resolve({"DOWNLOAD_STORM": "abc"}), {}, clock=CLOCK)


def test_shell_exports_survive_a_real_posix_shell():
    values = {"A": "20,40", "B": "", "C": "it's \"quoted\" $HOME `x`", "D": '{"k":"v"}'}
    script = shell_exports(values) + 'printf "%s\\n" "$A" "$B" "$C" "$D"'
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=10, check=True)
    assert done.stdout.split("\n")[:4] == ["20,40", "", "it's \"quoted\" $HOME `x`", '{"k":"v"}']
