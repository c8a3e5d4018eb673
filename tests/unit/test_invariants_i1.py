"""I1 responsiveness on synthetic probe logs."""

from battle.chaos.kinds import effects_of
from battle.evidence import Evidence, Fault, Probe
from battle.invariants import i1_responsiveness

LIMITS = {"WARMUP_S": 120.0, "P95_MS": 500.0, "P99_MS": 2000.0, "MAX_GAP_S": 10.0, "RESTART_GRACE_S": 20.0}


def probes(start=0, end=600, latency=20.0, down=(), slow=None, phase="calm"):
    """One probe a second; `down` seconds fail; `slow(t)` may return a latency override."""
    out = []
    for t in range(start, end):
        if t in down:
            out.append(Probe(t=float(t), ok=False, latency_ms=None, status=None, phase=phase))
        else:
            lat = slow(t) if slow else None
            out.append(Probe(t=float(t), ok=True, latency_ms=lat or latency, status=200, phase=phase))
    return tuple(out)


def evidence(ps, faults=()):
    return Evidence(run_id="r", started_at=0.0, soak_end=600.0, warmup_s=120.0, probes=ps, faults=tuple(faults))


def judge(ev, **over):
    return i1_responsiveness.judge(ev, {**LIMITS, **over})


def power_cut(applied, restored, target="tool", kind="power", fid="f001", duration=None):
    """A fault as gather builds it: its effects come from the kind's declaration."""
    return Fault(fid, kind, target, {}, applied - 1, applied, restored, duration=duration,
                 effects=effects_of(kind, target))


def test_healthy_tool_passes_with_evidence_counted():
    r = judge(evidence(probes()))
    assert r.status == "pass", r.reason
    assert r.evidence == 480  # 600 probes minus the 120 s warm-up
    assert r.details["p95_ms"] == 20.0


def test_slow_probes_fail_on_p95():
    r = judge(evidence(probes(latency=800.0)))
    assert r.status == "fail"
    assert "p95" in r.reason


def test_rare_very_slow_probes_fail_on_p99_only():
    # 2% of probes at 3 s: p95 stays fast, p99 does not
    r = judge(evidence(probes(slow=lambda t: 3000.0 if t % 50 == 0 else None)))
    assert r.status == "fail"
    assert "p99" in r.reason and "p95" not in r.reason


def test_eleven_second_gap_outside_fault_windows_fails():
    r = judge(evidence(probes(down=range(301, 311))))  # successes at 300 and 311
    assert r.status == "fail"
    assert r.details["gaps"] == [{"from": 300.0, "to": 311.0, "seconds": 11.0, "unexcused_s": 11.0,
                                  "never_answered_again": False}]
    assert "11.0 s" in r.reason


def test_ten_second_gap_is_within_budget():
    r = judge(evidence(probes(down=range(301, 310))))  # 300 -> 310 is exactly 10 s
    assert r.status == "pass", r.reason


def test_same_gap_inside_a_planned_power_cut_of_the_tool_passes():
    r = judge(evidence(probes(down=range(301, 311)), faults=[power_cut(300.5, 309.0)]))
    assert r.status == "pass", r.reason
    assert r.details["gap_count"] == 0
    assert r.details["excluded_windows"][0]["fault"] == "f001"


def test_gap_just_after_restore_is_excused_by_restart_grace():
    # restored at 290, grace 20 s: the window runs to 310 and the gap 300..311 overlaps it
    r = judge(evidence(probes(down=range(301, 311)), faults=[power_cut(280.0, 290.0)]))
    assert r.status == "pass", r.reason


def test_power_cut_of_the_plc_does_not_excuse_a_tool_gap():
    r = judge(evidence(probes(down=range(301, 311)), faults=[power_cut(300.5, 309.0, target="plc-sim")]))
    assert r.status == "fail"


def test_non_down_fault_kind_does_not_excuse():
    r = judge(evidence(probes(down=range(301, 311)), faults=[power_cut(300.5, 309.0, kind="cloudcut")]))
    assert r.status == "fail"


def test_slow_probes_inside_a_pause_window_are_not_judged():
    faults = [power_cut(400.0, 405.0, kind="pause")]
    r = judge(evidence(probes(slow=lambda t: 5000.0 if 400 <= t <= 425 else None), faults=faults))
    assert r.status == "pass", r.reason
    assert r.evidence == 480 - 26


def test_tool_that_stops_answering_for_good_fails():
    r = judge(evidence(probes(down=range(580, 600))))
    assert r.status == "fail"
    assert r.details["longest_gap_s"] == 20.0


def test_slow_warmup_is_ignored():
    r = judge(evidence(probes(slow=lambda t: 9000.0 if t < 120 else None)))
    assert r.status == "pass", r.reason


def test_only_warmup_probes_is_inconclusive():
    r = judge(evidence(probes(end=100)))
    assert r.status == "inconclusive"
    assert r.evidence == 0


def test_all_judged_probes_failing_fails():
    r = judge(evidence(probes(start=200, end=205, down=range(200, 205))))
    assert r.status == "fail"
    assert "none of 5" in r.reason


def test_stats_are_reported_per_phase():
    ps = probes(end=300, phase="calm") + probes(start=300, end=400, latency=90.0, phase="fault") \
        + probes(start=400, end=450, phase="recovery") + probes(start=450, end=460, phase="judging")
    r = judge(evidence(ps))
    phases = r.details["phases"]
    assert phases["calm"]["probes"] == 180 and phases["fault"]["probes"] == 100
    assert phases["fault"]["p95"] == 90.0 and phases["calm"]["p95"] == 20.0
    assert phases["recovery"]["count"] == 50 and phases["judging"]["count"] == 10


def test_gap_that_overruns_its_planned_outage_by_60_s_fails_naming_the_fault():
    # power cut 300..310, grace 20 s: excused until 330; the tool answers again only at 390
    r = judge(evidence(probes(down=range(301, 390)), faults=[power_cut(300.5, 310.0, duration=9.5)]))
    assert r.status == "fail", r.reason
    gap = r.details["gaps"][0]
    assert gap["after_fault"] == "f001" and gap["unexcused_s"] == 60.0
    assert "past the planned outage of f001 (power)" in r.reason


def test_gap_merely_touching_a_window_is_not_excused_for_its_whole_length():
    # the old rule excused any gap overlapping a window; a 2 s outage cannot excuse 40 s of silence
    r = judge(evidence(probes(down=range(301, 362)), faults=[power_cut(300.5, 301.0)]), RESTART_GRACE_S=0.0)
    assert r.status == "fail", r.reason


def test_tool_that_never_answers_again_after_a_power_cut_fails():
    r = judge(evidence(probes(down=range(401, 600)), faults=[power_cut(400.5, 410.0, duration=9.5)]))
    assert r.status == "fail", r.reason
    assert "never answered again" in r.reason and "f001" in r.reason
    assert r.details["gaps"][0]["never_answered_again"] is True


def test_power_cut_never_restored_still_excuses_only_its_declared_duration():
    r = judge(evidence(probes(down=range(401, 600)), faults=[power_cut(400.5, None, duration=9.5)]))
    assert r.status == "fail", r.reason


def test_graceful_restart_of_the_tool_is_a_planned_outage():
    # the attrition plan's `restart`: down 15 s, back within the grace
    r = judge(evidence(probes(down=range(301, 330)), faults=[power_cut(300.5, 315.0, kind="restart")]))
    assert r.status == "pass", r.reason
    assert r.details["excused_gaps"] and r.details["gap_count"] == 0


def test_two_back_to_back_outages_excuse_a_gap_that_spans_both():
    faults = [power_cut(300.5, 310.0, fid="f001"), power_cut(330.0, 340.0, kind="restart", fid="f002")]
    r = judge(evidence(probes(down=range(301, 365)), faults=faults))
    assert r.status == "pass", r.reason
