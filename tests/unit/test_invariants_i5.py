"""I5 stability: restarts, PLC flaps and OOM kills against what the plan explains."""

from battle.chaos.kinds import effects_of
from battle.evidence import DockerEvent, Evidence, Fault, ToolEvent
from battle.invariants import i5_stability

LIMITS = {"FLAP_BUDGET": 2}


def starts(n):
    return [ToolEvent(float(i * 100), "tool_started", {"pid": 100 + i, "bugs": []}) for i in range(n)]


def disconnects(n):
    return [ToolEvent(float(i * 10 + 5), "plc_disconnected", {"error": "timeout"}) for i in range(n)]


def fault(kind, target, applied=True, fid="f001"):
    return Fault(fid, kind, target, {}, 1.0, 2.0 if applied else None, 3.0 if applied else None,
                 effects=effects_of(kind, target))


def judge(events=(), faults=(), docker=()):
    ev = Evidence(run_id="r", started_at=0.0, soak_end=600.0, warmup_s=0.0, events=tuple(events),
                  faults=tuple(faults), docker_events=tuple(docker))
    return i5_stability.judge(ev, LIMITS)


def test_one_start_and_no_flaps_passes():
    r = judge(starts(1))
    assert r.status == "pass", r.reason
    assert r.evidence == 1


def test_unplanned_restart_fails():
    r = judge(starts(2))
    assert r.status == "fail"
    assert "1 unplanned tool restart" in r.reason


def test_planned_restarts_of_the_tool_are_allowed():
    faults = [fault("power", "tool", fid="f1"), fault("toolkill", "tool", fid="f2"), fault("wipe", "tool", fid="f3")]
    assert judge(starts(4), faults).status == "pass"
    assert judge(starts(5), faults).status == "fail"


def test_faults_that_do_not_restart_the_tool_do_not_excuse_restarts():
    faults = [fault("power", "plc-sim", fid="f1"), fault("pause", "tool", fid="f2"),
              fault("power", "tool", applied=False, fid="f3")]
    assert judge(starts(2), faults).status == "fail"


def test_graceful_restart_of_the_tool_is_a_planned_start():
    # attrition draws `restart` most often; it used to be missing from I5's own list of kinds
    r = judge(starts(2), [fault("restart", "tool")])
    assert r.status == "pass", r.reason
    assert r.details["planned_tool_restarts"] == ["f001"]


def test_each_fault_counts_only_against_the_target_it_declares():
    faults = [fault("restart", "cloud", fid="f1"), fault("restart", "plc-sim", fid="f2")]
    r = judge(starts(2) + disconnects(3), faults)
    assert r.status == "fail" and "1 unplanned tool restart" in r.reason
    assert r.details["planned_plc_outages"] == ["f2"]


def test_plc_flaps_within_budget_pass_and_beyond_fail():
    assert judge(starts(1) + disconnects(2)).status == "pass"
    r = judge(starts(1) + disconnects(3))
    assert r.status == "fail" and "flapped" in r.reason


def test_planned_plc_outages_widen_the_flap_budget():
    faults = [fault("download", "plc-sim", fid="f1"), fault("power", "plc-sim", fid="f2")]
    assert judge(starts(1) + disconnects(4), faults).status == "pass"
    assert judge(starts(1) + disconnects(5), faults).status == "fail"


def test_any_oom_kill_fails():
    r = judge(starts(1), docker=[DockerEvent(50.0, "cloud", "oom")])
    assert r.status == "fail"
    assert "OOM" in r.reason and "cloud" in r.reason


def test_no_server_start_seen_is_inconclusive():
    r = judge(disconnects(1))
    assert r.status == "inconclusive"
    assert "tool_started" in r.reason
