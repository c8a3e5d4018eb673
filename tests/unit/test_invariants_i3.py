"""I3 restore after a PLC program download."""

from battle.chaos.kinds import effects_of
from battle.evidence import Evidence, Fault, PlcReadback, ToolEvent
from battle.invariants import i3_restore

LIMITS = {"RESTORE_MAX_S": 60.0}


def download(fid="f001", applied=100.0, restored=110.0):
    return Fault(fid, "download", "plc-sim", {}, applied - 5, applied, restored,
                 effects=effects_of("download", "plc-sim"))


def restore_event(t, written=288):
    return ToolEvent(t=t, event="plc_restored", fields={"written": written, "failed": 0})


def judge(faults, readbacks=(), events=()):
    ev = Evidence(run_id="r", started_at=0.0, soak_end=3600.0, warmup_s=0.0, faults=tuple(faults),
                  plc_readbacks=tuple(readbacks), events=tuple(events))
    return i3_restore.judge(ev, LIMITS)


def test_download_restored_in_time_passes():
    r = judge([download()], [PlcReadback("f001", 110.0, 118.0)], [restore_event(114.0)])
    assert r.status == "pass", r.reason
    assert r.evidence == 1
    assert r.details["downloads"][0]["restore_s"] == 8.0


def test_download_with_no_flags_back_on_the_plc_fails_naming_fault_and_tags():
    rb = PlcReadback("f001", 110.0, None, mismatched=("VFD01_Map", "VFD01_HP"))
    r = judge([download()], [rb], [restore_event(114.0)])
    assert r.status == "fail"
    assert "f001" in r.reason and "VFD01_Map" in r.reason and "VFD01_HP" in r.reason
    assert r.details["downloads"][0]["mismatched"] == ["VFD01_Map", "VFD01_HP"]


def test_restore_that_wrote_nothing_fails():
    r = judge([download()], [PlcReadback("f001", 110.0, 118.0)], [restore_event(114.0, written=0)])
    assert r.status == "fail"
    assert "wrote 0" in r.reason


def test_missing_restore_event_fails():
    r = judge([download()], [PlcReadback("f001", 110.0, 118.0)], [restore_event(50.0)])  # before the download
    assert r.status == "fail"
    assert "no plc_restored" in r.reason


def test_flags_back_too_late_fails():
    r = judge([download()], [PlcReadback("f001", 110.0, 200.0)], [restore_event(190.0)])
    assert r.status == "fail"
    assert "90.0 s > 60 s" in r.reason


def test_one_restore_cannot_vouch_for_two_downloads():
    faults = [download("f001", 100.0, 110.0), download("f002", 400.0, 410.0)]
    readbacks = [PlcReadback("f001", 110.0, 118.0), PlcReadback("f002", 410.0, 415.0)]
    r = judge(faults, readbacks, [restore_event(114.0)])
    assert r.status == "fail"
    assert "f002" in r.reason and "f001:" not in r.reason
    assert r.evidence == 2
    ok = judge(faults, readbacks, [restore_event(114.0), restore_event(412.0)])
    assert ok.status == "pass", ok.reason


def test_no_applied_download_is_inconclusive_even_when_planned():
    planned_only = Fault("f001", "download", "plc-sim", {}, 100.0, None, None, failed="docker said no",
                         effects=effects_of("download", "plc-sim"))
    r = judge([planned_only])
    assert r.status == "inconclusive" and r.evidence == 0
    assert "1 planned" in r.reason


def test_download_without_a_readback_is_inconclusive():
    r = judge([download()], [], [restore_event(114.0)])
    assert r.status == "inconclusive"
    assert "f001" in r.reason


def test_faults_that_do_not_reset_the_tags_are_not_downloads():
    for kind, target in (("delay", "plc-sim"), ("power", "tool"), ("restart", "cloud")):
        r = judge([Fault("f001", kind, target, {}, 1.0, 2.0, 3.0, effects=effects_of(kind, target))])
        assert r.status == "inconclusive", kind


def test_a_power_cut_of_the_simulator_resets_its_tags_and_is_judged_like_a_download():
    cut = Fault("f001", "power", "plc-sim", {}, 95.0, 100.0, 110.0, effects=effects_of("power", "plc-sim"))
    r = judge([cut], [PlcReadback("f001", returned_at=110.0, flags_ok_at=None, mismatched=("VFD1.Run",))],
              [restore_event(114.0)])
    assert r.status == "fail" and "f001" in r.reason
