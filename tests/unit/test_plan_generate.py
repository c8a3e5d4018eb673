"""The seeded fault plan: deterministic, every family fires, restored in time, no overlaps per target."""

import json

import pytest

from battle.chaos.kinds import registered
from battle.chaos.plan import (
    SAME_TARGET_GAP_S,
    PlanError,
    enabled_families,
    generate_plan,
    plan_for,
    plan_to_json,
    window_for,
)
from battle.config import ConfigError, resolve, scenario_names

# Derived from the kinds' declarations, never copied: a kind added there is checked here too.
KIND_TARGETS = {k.name: set(k.targets) for k in registered()}
FAMILY_KINDS: dict[str, set[str]] = {}
for _kind in registered():
    for _draw in _kind.draws:
        FAMILY_KINDS.setdefault(_draw.knob, set()).add(_kind.name)
    if _kind.attrition is not None:
        FAMILY_KINDS.setdefault("ATTRITION", set()).add(_kind.name)


def check_plan_rules(plan, cfg):
    soak = cfg.soak_seconds
    deadline = soak - max(0.1 * soak, 20.0)
    faults = plan.faults
    assert [f.id for f in faults] == [f"f{i:03d}" for i in range(1, len(faults) + 1)]
    assert list(faults) == sorted(faults, key=lambda f: (f.at, f.id))
    for f in faults:
        assert f.target in KIND_TARGETS[f.kind], f
        assert f.kind in FAMILY_KINDS[f.family], f
        assert f.at >= 0 and f.duration >= 0
        assert f.at + f.duration <= deadline + 1e-9, f"{f} restores after {deadline}"
    by_target = {}
    for f in faults:
        by_target.setdefault(f.target, []).append(f)
    for target, fs in by_target.items():
        for a, b in zip(fs, fs[1:], strict=False):
            assert a.end + SAME_TARGET_GAP_S <= b.at + 1e-9, f"overlap on {target}: {a} / {b}"
    attrition = [f for f in faults if f.family == "ATTRITION"]
    for f in attrition:  # counted with the gap: a return and the next kill never coincide
        down = [g for g in attrition if g.at <= f.at < g.end + SAME_TARGET_GAP_S - 1e-9]
        assert len(down) <= cfg.value("MAX_DEAD")
    # every family the scenario turns on fires, and every variant of it
    assert plan.families() == set(enabled_families(cfg))
    if cfg.value("POWER_STORM") is not None:
        assert {f.target for f in faults if f.family == "POWER_STORM"} == {"tool", "plc-sim"}
    if cfg.value("CLOUD_ERRORS") is not None:
        statuses = {f.params["status"] for f in faults if f.kind == "cloud-errors"}
        assert statuses == set(cfg.value("CLOUD_ERRORS_STATUS"))


@pytest.mark.parametrize("minutes", [3, 5, 10, 480])
@pytest.mark.parametrize("scenario", ["s1", "s2", "s3", "s4", "s6", "mutate", "attrition", "all"])
def test_every_scenario_fires_every_family_restores_in_time_without_overlaps(scenario, minutes):
    cfg = resolve({}, scenario, minutes)
    plan = generate_plan(cfg)
    check_plan_rules(plan, cfg)


def test_the_scenarios_turn_on_the_families_they_name():
    expected = {"s1": set(), "s2": {"DOWNLOAD_STORM"}, "s3": {"CLOUD_FLAP", "CLOUD_ERRORS"},
                "s4": {"POWER_STORM"}, "s6": set(), "mutate": set(), "attrition": {"ATTRITION"},
                "all": set(FAMILY_KINDS)}
    assert set(expected) == set(scenario_names())
    for name, families in expected.items():
        assert set(enabled_families(resolve({}, name))) == families


@pytest.mark.parametrize("seed", range(1, 31))
def test_short_soaks_hold_the_rules_across_seeds(seed):
    for scenario, minutes in (("all", 3), ("all", 4), ("s3", 2), ("attrition", 3)):
        cfg = resolve({"MAX_DEAD": "2"} if scenario == "attrition" else {}, scenario, minutes, seed)
        check_plan_rules(generate_plan(cfg), cfg)


def test_busy_attrition_respects_max_dead_and_targets():
    for max_dead in ("1", "2", "3"):
        cfg = resolve({"MAX_DEAD": max_dead, "ATTRITION_PERIOD": "0,0.5", "ATTRITION_RECOVERY_S": "20,60"},
                      "attrition", 60)
        plan = generate_plan(cfg)
        check_plan_rules(plan, cfg)
        assert len(plan.faults) > 50
        overlapping = max(sum(1 for g in plan.faults if g.at <= f.at < g.end + SAME_TARGET_GAP_S - 1e-9)
                          for f in plan.faults)
        assert overlapping == int(max_dead)  # the budget is used, never exceeded


def test_attrition_weights_choose_the_kinds():
    wipes = generate_plan(resolve({"ATTRITION_WEIGHTS": "0,0,1"}, "attrition", 480))
    assert {(f.kind, f.target) for f in wipes.faults} == {("wipe", "tool")}
    graceful = generate_plan(resolve({"ATTRITION_WEIGHTS": "1,0,0"}, "attrition", 480))
    assert {f.kind for f in graceful.faults} == {"restart"}
    assert {f.target for f in graceful.faults} == {"tool", "plc-sim", "cloud"}
    mixed = generate_plan(resolve({}, "attrition", 480))
    assert {f.kind for f in mixed.faults} == {"restart", "power", "wipe"}
    assert all(5.0 <= f.duration <= 30.0 for f in mixed.faults)


def test_same_seed_same_bytes_different_seed_different_plan():
    a = plan_for({"SCENARIO": "all"}, minutes=480, seed=7)
    b = plan_to_json(generate_plan(resolve({"SCENARIO": "all", "SOAK_MINUTES": "480", "SEED": "7"})))
    assert a == b and a.endswith("}\n")
    assert plan_for({"SCENARIO": "all"}, minutes=480, seed=8) != a
    assert plan_for({}, "s2", 30, 1) != plan_for({}, "s2", 30, 2)


def test_families_draw_independently():
    """Turning on a family on another target does not move the downloads."""
    alone = generate_plan(resolve({}, "s2", 480))
    with_more = generate_plan(resolve({"TOOLKILL_STORM": "5,10", "CLOUD_ERRORS": "1,2"}, "s2", 480))
    downloads = [(f.at, f.duration) for f in with_more.faults if f.kind == "download"]
    assert downloads == [(f.at, f.duration) for f in alone.faults]


def test_each_family_has_its_own_random_stream():
    """Two storms with the same interval on different targets must not march in step."""
    plan = generate_plan(resolve({"DOWNLOAD_STORM": "5,10", "TOOLKILL_STORM": "5,10"}, "s1", 120))
    downloads = [f.at for f in plan.faults if f.kind == "download"]
    kills = [f.at for f in plan.faults if f.kind == "toolkill"]
    assert len(downloads) > 5 and len(kills) > 5
    assert downloads[:5] != kills[:5]


def test_smoke_shorter_than_the_storm_still_downloads_in_the_first_third():
    """A 15-minute smoke with a 20-40-minute download storm must inject (DESIGN.md section 14)."""
    for seed in range(1, 21):
        plan = generate_plan(resolve({"DOWNLOAD_STORM": "20,40"}, "s2", 15, seed))
        (download,) = plan.faults
        assert download.kind == "download" and download.target == "plc-sim"
        assert 0 < download.at <= 15 * 60 / 3
        assert download.duration == 10.0


def test_long_storms_keep_their_spacing():
    plan = generate_plan(resolve({}, "s2", 480))
    starts = [f.at for f in plan.faults]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) >= 10 and starts[0] >= 20 * 60
    assert all(20 * 60 - 0.1 <= g <= 40 * 60 + 0.1 for g in gaps)


def test_flap_is_down_every_period():
    plan = generate_plan(resolve({}, "s3", 480))
    cuts = [f for f in plan.faults if f.kind == "cloudcut"]
    assert all(f.duration == 120.0 for f in cuts[:-1])  # the last one may be clipped to the calm tail
    assert cuts[-1].duration <= 120.0
    assert {round(b.at - a.at, 1) for a, b in zip(cuts, cuts[1:], strict=False)} == {360.0}


def test_moved_in_events_of_a_tiny_soak_are_clipped_to_fit():
    cfg = resolve({"CLOUD_FLAP": "20,60"}, "s1", 3)
    (cut,) = generate_plan(cfg).faults
    assert cut.at <= 60 and cut.end <= window_for(180).end and cut.duration <= 30


def test_delay_is_a_constant_not_an_event():
    plan = generate_plan(resolve({}, "s6", 10))
    assert plan.faults == () and dict(plan.constant) == {"DELAY_MS": 50}
    assert json.loads(plan_to_json(plan))["constant"] == {"DELAY_MS": 50}
    assert json.loads(plan_for({}, "s1", 10))["constant"] == {}


def test_plan_json_format():
    data = json.loads(plan_for({"CLOUD_ERRORS_STATUS": "503"}, "all", 10, 3))
    assert set(data) == {"schema", "scenario", "seed", "soakSeconds", "constant", "faults"}
    assert (data["schema"], data["scenario"], data["seed"], data["soakSeconds"]) == (1, "all", 3, 600.0)
    for f in data["faults"]:
        assert set(f) == {"id", "kind", "target", "at", "duration", "params"}
        assert isinstance(f["at"], float) and isinstance(f["duration"], float)
    errors = [f["params"] for f in data["faults"] if f["kind"] == "cloud-errors"]
    assert errors and all(p == {"status": 503, "fraction": 1.0} for p in errors)
    shapes = [f["params"] for f in data["faults"] if f["kind"] == "linkshape"]
    assert shapes and set(shapes[0]) == {"latencyMs", "jitterMs", "bandwidthKbps", "dropRate"}


def test_a_soak_too_short_for_every_family_is_a_config_error():
    with pytest.raises(PlanError) as err:
        generate_plan(resolve({}, "all", 0.2))
    assert isinstance(err.value, ConfigError)
    assert "SOAK_MINUTES=0.2" in str(err.value) and "raise SOAK_MINUTES" in str(err.value)


def test_plan_is_frozen():
    plan = generate_plan(resolve({}, "s2", 10))
    with pytest.raises(AttributeError):
        plan.faults[0].at = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        plan.faults[0].params["x"] = 1  # type: ignore[index]
