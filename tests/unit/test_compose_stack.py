"""docker-compose.battle.yml, read as data: knob plumbing, isolation, health and start order.

Every knob of battle/scenarios.yml must reach every harness container and the parts of the system
under test that read it, by its own name, with no default of its own (DESIGN.md section 14: a knob
the compose file does not forward silently does nothing).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from battle.backends.docker_env import IMAGE_VARS, STACK_VARS
from battle.config import load_catalogue

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.battle.yml"
HARNESS_SERVICES = ("chaos", "crew", "cloud-mutator", "observer")
SUT_KNOBS = {"tool": {"BATTLE_SUT_BUGS"}, "cloud": {"BATTLE_SUT_BUGS"}, "plc-sim": {"DELAY_MS"},
             "seeder": {"SEED"}, "cloud-proxy": {"SEED"}}
LONG_RUNNING = ("cloud-db", "cloud", "plc-sim", "cloud-proxy", "tool", "chaos")
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")


@pytest.fixture(scope="module")
def text() -> str:
    return COMPOSE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def stack(text: str) -> dict[str, Any]:
    return yaml.safe_load(text)


def env_of(stack: dict[str, Any], service: str) -> dict[str, str]:
    environment = stack["services"][service].get("environment") or {}
    assert isinstance(environment, dict), f"{service}: write environment as a mapping"
    return {str(k): str(v) for k, v in environment.items()}


def knobs() -> list[str]:
    return list(load_catalogue().knobs)


def test_compose_specification_without_version_key(stack):
    assert "version" not in stack
    assert set(stack["services"]) == {"seeder", "cloud-db", "cloud", "plc-sim", "cloud-proxy", "tool", "crew",
                                      "chaos", "cloud-mutator", "observer"}


@pytest.mark.parametrize("service", HARNESS_SERVICES)
def test_every_knob_reaches_every_harness_container_by_its_own_name(stack, service):
    env = env_of(stack, service)
    missing = [k for k in knobs() if k not in env]
    assert not missing, f"{service} does not get {missing}"
    for knob in knobs():
        # Forwarded as is, never with a compose default: the one source of defaults is scenarios.yml.
        assert env[knob] == f"${{{knob}?set by ci/run_scenario.sh}}", f"{service}: {knob}={env[knob]!r}"


@pytest.mark.parametrize("service", sorted(SUT_KNOBS))
def test_the_system_under_test_gets_the_knobs_it_reads(stack, service):
    env = env_of(stack, service)
    for knob in SUT_KNOBS[service]:
        assert env.get(knob) == f"${{{knob}?set by ci/run_scenario.sh}}", f"{service} lacks {knob}"


def test_seeder_seeds_with_the_resolved_seed(stack):
    command = stack["services"]["seeder"]["command"]
    assert command[:5] == ["python", "-m", "seed", "generate", "--out"]
    assert command[-2:] == ["--seed", "${SEED?set by ci/run_scenario.sh}"]


def test_every_interpolated_variable_is_exported_by_the_script(text):
    """compose-env exports the knobs and STACK_VARS, images.env the images; nothing else may be needed."""
    exported = set(knobs()) | set(STACK_VARS) | set(IMAGE_VARS) | {"DOCKER_SOCKET"}
    used = {name for name, _ in REFERENCE.findall(text)}
    assert used - exported == set()
    for name, tail in REFERENCE.findall(text):
        if name in IMAGE_VARS or name == "DOCKER_SOCKET":
            assert tail.startswith(":-"), f"{name} needs a default so the file also runs outside the script"
        else:
            assert tail == "?set by ci/run_scenario.sh", f"${{{name}{tail}}} must fail loudly when unset"


def test_images_are_overridable(stack):
    images = {name: body["image"] for name, body in stack["services"].items()}
    assert images["tool"].startswith("${TOOL_IMAGE:-")
    assert images["cloud"].startswith("${CLOUD_IMAGE:-")
    assert images["plc-sim"].startswith("${PLC_SIM_IMAGE:-")
    assert images["cloud-db"].startswith("${POSTGRES_IMAGE:-")
    for service in ("seeder", "cloud-proxy", "crew", "chaos", "cloud-mutator", "observer"):
        assert images[service].startswith("${HARNESS_IMAGE:-"), service


def test_named_volumes_only_and_the_socket_in_chaos_alone(stack):
    declared = set(stack["volumes"])
    assert declared == {"seed", "tool-data", "cloud-db-data", "run"}
    for name, body in stack["services"].items():
        for mount in body.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source in declared:
                continue
            assert name == "chaos" and mount.endswith(":/var/run/docker.sock"), f"{name} mounts a host path: {mount}"


def test_one_bridge_network(stack):
    assert stack["networks"] == {"default": {"driver": "bridge"}}
    assert all("networks" not in body for body in stack["services"].values())


def test_chaos_targets_carry_the_label_and_the_tool_its_wipe_path(stack):
    labelled = {n for n, b in stack["services"].items() if (b.get("labels") or {}).get("battle.chaos") == "allow"}
    assert labelled == {"tool", "plc-sim", "cloud"}
    tool = stack["services"]["tool"]
    assert tool["labels"]["battle.chaos.wipe"] == "/data"
    assert "tool-data:/data" in tool["volumes"] and env_of(stack, "tool")["TOOL_DATA_DIR"] == "/data"
    assert "seed:/seed:ro" in tool["volumes"] and env_of(stack, "tool")["TOOL_SEED_DIR"] == "/seed"


def test_resource_limits_on_every_service(stack):
    for name, body in stack["services"].items():
        assert re.fullmatch(r"\d+[mg]", str(body.get("mem_limit", ""))), f"{name}: mem_limit"
        assert 0 < float(body.get("cpus", 0)) <= 2, f"{name}: cpus"


def test_healthchecks_and_start_order(stack):
    services = stack["services"]
    for name in LONG_RUNNING:
        test = services[name]["healthcheck"]["test"]
        assert test[0] == "CMD" and ("curl" not in test), f"{name}: exec-form healthcheck without curl"
    allowed = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, body in services.items():
        for dependency, rule in (body.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert rule["condition"] in allowed
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck for {name}"
            if rule["condition"] == "service_completed_successfully":
                assert services[dependency]["restart"] == "no", f"{dependency} is one-shot"
    assert services["tool"]["depends_on"]["plc-sim"]["condition"] == "service_healthy"
    assert services["cloud"]["depends_on"]["cloud-db"]["condition"] == "service_healthy"
    assert services["crew"]["depends_on"]["tool"]["condition"] == "service_healthy"


def test_restart_policies(stack):
    services = stack["services"]
    assert services["observer"]["restart"] == "no"
    for name in ("chaos", "crew", "cloud-mutator", "seeder"):
        assert services[name]["restart"] == "no", name
    for name in ("tool", "cloud", "plc-sim", "cloud-db", "cloud-proxy"):
        assert services[name]["restart"] == "unless-stopped", name


def test_mutator_only_with_the_mutate_profile(stack):
    services = stack["services"]
    assert services["cloud-mutator"]["profiles"] == ["mutate"]
    assert all("profiles" not in body for name, body in services.items() if name != "cloud-mutator")


def test_secrets_only_where_needed(stack):
    for name in stack["services"]:
        env = env_of(stack, name)
        if "CHAOS_TOKEN" in env:
            assert name in ("chaos", "observer", "cloud-proxy"), f"{name} should not hold the chaos token"
    assert "CLOUD_API_KEY" not in env_of(stack, "crew")


def test_chaos_reads_the_plan_of_this_run_and_starts_it_on_request(stack):
    env = env_of(stack, "chaos")
    assert env["CHAOS_PLAN_START"] == "api"
    assert env["CHAOS_PLAN_FILE"] == "/runs/${RUN_ID?set by ci/run_scenario.sh}/plan.json"
    assert env["CHAOS_LEDGER_FILE"] == "/runs/${RUN_ID?set by ci/run_scenario.sh}/injected.jsonl"
    assert env["CHAOS_NETWORK"] == "${COMPOSE_PROJECT_NAME?set by ci/run_scenario.sh}_default"
    assert "run:/runs" in stack["services"]["chaos"]["volumes"]


@pytest.mark.parametrize(("service", "knob"), [("chaos", "CHAOS_HOST"), ("cloud-proxy", "PROXY_HOST")])
def test_control_apis_bind_the_stack_network_explicitly_and_are_not_published(stack, service, knob):
    # Both bind loopback by default; in the stack the compose file says where, and 0.0.0.0 inside
    # the container is loopback plus the stack network only as long as nothing is published or
    # shares the host's network.
    body = stack["services"][service]
    assert env_of(stack, service)[knob] == "0.0.0.0"
    assert "ports" not in body and "network_mode" not in body and "networks" not in body
