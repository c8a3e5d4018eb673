"""Resolving knobs: precedence, typed values, freezing, forwarding and the manifest."""

import dataclasses
import json

import pytest

from battle.config import ConfigError, RunConfig, load_catalogue, resolve, scenario_names

# The knob names every part of the harness relies on (shared harness decisions).
SHARED_KNOBS = """SCENARIO SOAK_MINUTES BOTS SEED COMPOSE_PROFILES THINK_MIN_MS THINK_MAX_MS HOT_FRACTION
MUTATE_PERIOD_SEC DOWNLOAD_STORM DOWNLOAD_DOWN_S CLOUD_FLAP CLOUD_ERRORS CLOUD_ERRORS_STATUS CLOUD_ERRORS_S
POWER_STORM POWER_DOWN_S DELAY_MS TOOLKILL_STORM PAUSE_STORM PAUSE_S LINKSHAPE LINKSHAPE_S ATTRITION
ATTRITION_PERIOD MAX_DEAD ATTRITION_WEIGHTS ATTRITION_RECOVERY_S WARMUP_S P95_MS P99_MS MAX_GAP_S
RESTART_GRACE_S LEAK_MB_PER_H LEAK_MIN_WINDOW_S RESTORE_MAX_S FLAP_BUDGET SETTLE_MAX_S PROPAGATION_MAX_S
BATTLE_SUT_BUGS""".split()

THRESHOLDS = {"WARMUP_S", "P95_MS", "P99_MS", "MAX_GAP_S", "RESTART_GRACE_S", "LEAK_MB_PER_H",
              "LEAK_MIN_WINDOW_S", "RESTORE_MAX_S", "FLAP_BUDGET", "SETTLE_MAX_S", "PROPAGATION_MAX_S"}


def test_catalogue_declares_every_shared_knob_and_scenario():
    cat = load_catalogue()
    assert set(SHARED_KNOBS) <= set(cat.knobs)
    assert scenario_names() == ("s1", "s2", "s3", "s4", "s6", "mutate", "attrition", "all")


@pytest.mark.parametrize("scenario", scenario_names())
def test_no_scenario_demotes_a_gate_itself(scenario):
    """Every invariant the soak can judge gates (battle/gating.py); feasibility alone demotes the rest today."""
    assert dict(resolve({}, scenario).report_only) == {}


def test_scenario_overrides_from_the_design():
    assert resolve({}, "s2").value("DOWNLOAD_STORM") == (20.0, 40.0)
    s3 = resolve({}, "s3")
    assert (s3.value("CLOUD_FLAP"), s3.value("CLOUD_ERRORS"), s3.value("CLOUD_ERRORS_STATUS")) == \
        ((2.0, 6.0), (1.0, 4.0), (429, 503))
    assert resolve({}, "s4").value("POWER_STORM") is not None
    assert resolve({}, "s6").value("DELAY_MS") > 0
    mutate = resolve({}, "mutate")
    assert "mutate" in mutate.value("COMPOSE_PROFILES") and mutate.value("HOT_FRACTION") == 0
    assert mutate.value("MUTATE_PERIOD_SEC") > 0
    assert resolve({}, "attrition").value("ATTRITION") is True


def test_defaults_when_nothing_is_set():
    cfg = resolve({})
    assert (cfg.scenario, cfg.minutes, cfg.seed, cfg.bots) == ("s1", 30.0, 1, 8)
    assert set(cfg.sources.values()) == {"default"}
    assert cfg.value("DOWNLOAD_STORM") is None and cfg.value("ATTRITION") is False
    assert cfg.value("ATTRITION_RECOVERY_S") == (5.0, 30.0)
    assert isinstance(cfg.value("ATTRITION_PERIOD")[0], float)


def test_scenario_beats_default_and_env_beats_scenario():
    cfg = resolve({"SCENARIO": "s2"})
    assert cfg.value("DOWNLOAD_STORM") == (20.0, 40.0) and cfg.sources["DOWNLOAD_STORM"] == "scenario"
    assert cfg.sources["SCENARIO"] == "env" and cfg.sources["BOTS"] == "default"
    cfg = resolve({"SCENARIO": "s2", "DOWNLOAD_STORM": "1, 2", "BOTS": "3"})
    assert cfg.value("DOWNLOAD_STORM") == (1.0, 2.0) and cfg.sources["DOWNLOAD_STORM"] == "env"
    assert cfg.bots == 3


def test_empty_env_turns_a_scenario_storm_off_but_means_unset_for_numbers():
    cfg = resolve({"SCENARIO": "s2", "DOWNLOAD_STORM": "", "BOTS": "", "SOAK_MINUTES": "  "})
    assert cfg.value("DOWNLOAD_STORM") is None and cfg.sources["DOWNLOAD_STORM"] == "env"
    assert cfg.bots == 8 and cfg.sources["BOTS"] == "default" and cfg.minutes == 30.0


def test_cli_flags_beat_everything():
    env = {"SCENARIO": "s3", "SOAK_MINUTES": "10", "SEED": "4"}
    cfg = resolve(env, scenario_override="s2", minutes_override=3, seed_override=9)
    assert (cfg.scenario, cfg.minutes, cfg.seed) == ("s2", 3.0, 9)
    assert {cfg.sources[k] for k in ("SCENARIO", "SOAK_MINUTES", "SEED")} == {"cli"}
    assert cfg.value("CLOUD_FLAP") is None  # s3's overrides are gone with s3
    assert resolve(env, minutes_override="0.5").minutes == 0.5


def test_from_env_reads_the_process_environment(monkeypatch):
    monkeypatch.setenv("SCENARIO", "s4")
    monkeypatch.setenv("POWER_DOWN_S", "3")
    cfg = RunConfig.from_env(minutes=2)
    assert cfg.scenario == "s4" and cfg.value("POWER_DOWN_S") == 3.0 and cfg.minutes == 2.0


def test_config_is_frozen():
    cfg = resolve({}, "s2")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.scenario = "s1"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.knobs["BOTS"] = 99  # type: ignore[index]
    with pytest.raises(TypeError):
        cfg.limits()["P95_MS"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        cfg.report_only["I7"] = "why"  # type: ignore[index]


def test_limits_are_the_typed_thresholds():
    limits = resolve({"P95_MS": "250"}).limits()
    assert set(limits) == THRESHOLDS
    assert limits["P95_MS"] == 250.0 and isinstance(limits["P95_MS"], float)
    assert limits["FLAP_BUDGET"] == 2 and limits["WARMUP_S"] == 120.0


def test_to_env_forwards_every_knob_as_text_and_reads_back_the_same():
    cfg = resolve({"HOT_FRACTION": "0.25", "ATTRITION": "yes"}, "all", 15, 3)
    env = cfg.to_env()
    assert set(env) == set(cfg.knobs) and all(isinstance(v, str) for v in env.values())
    assert env["SOAK_MINUTES"] == "15" and env["DOWNLOAD_STORM"] == "30,60" and env["ATTRITION"] == "true"
    assert env["CLOUD_ERRORS_STATUS"] == "429,503" and env["HOT_FRACTION"] == "0.25" and env["DELAY_MS"] == "20"
    again = resolve(env)
    assert dict(again.knobs) == dict(cfg.knobs)
    assert set(again.sources.values()) == {"env"}


def test_manifest_is_json_and_says_where_each_value_came_from():
    cfg = resolve({"BOTS": "4"}, "s2", 5)
    manifest = json.loads(json.dumps(cfg.to_manifest()))
    assert manifest["scenario"] == "s2" and "gates" not in manifest  # the gates need the plan: battle/gating.py
    knobs = manifest["knobs"]
    assert set(knobs) == set(cfg.knobs)
    assert knobs["BOTS"] == {"value": 4, "text": "4", "source": "env"}
    assert knobs["DOWNLOAD_STORM"] == {"value": [20.0, 40.0], "text": "20,40", "source": "scenario"}
    assert knobs["SOAK_MINUTES"]["source"] == "cli" and knobs["P95_MS"]["source"] == "default"


def test_sut_bugs_are_forwarded_untouched():
    cfg = resolve({"BATTLE_SUT_BUGS": "leak,not_a_real_bug"})
    assert cfg.to_env()["BATTLE_SUT_BUGS"] == "leak,not_a_real_bug"


def test_unknown_knob_lookup_is_a_config_error():
    with pytest.raises(ConfigError, match="NOPE"):
        resolve({}).value("NOPE")
