"""I1 responsiveness on synthetic probe logs."""

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


def power_cut(applied, restored, target="tool", kind="power"):
    return Fault("f001", kind, target, {}, applied - 1, applied, restored)


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
    assert r.details["gaps"] == [{"from": 300.0, "to": 311.0, "seconds": 11.0}]
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
