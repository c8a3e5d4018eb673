"""I4 no data loss: journals (append order) against the local snapshot."""

from battle.chaos.kinds import effects_of
from battle.evidence import Evidence, Fault, Mutation, Op, ToolEvent
from battle.invariants import i4_no_loss
from battle.invariants.synced import applied_to_cloud
from battle.invariants.targets import single_writer_targets
from battle.observer.journals import digest_ops

LIMITS: dict = {}


class Journal:
    """Builds one or more bots' journals in append order, like the crew writes them."""

    def __init__(self):
        self.ops = []
        self.next_op = {}

    def write(self, bot, target, result, outcome="ok", t=None, comments="", hot=False):
        k = self.next_op.get(bot, 0) + 1
        self.next_op[bot] = k
        t = float(len(self.ops)) if t is None else t
        value = {"result": result, "comments": comments}
        self.ops.append(Op(bot, k, "invoke", target, value, hot, t))
        if outcome is not None:
            self.ops.append(Op(bot, k, outcome, target, value, hot, t, status=200 if outcome == "ok" else None))
        return self


def _rows(values):
    """{ioId: result} or {ioId: (result, comments)} -> snapshot rows."""
    return {i: {"result": v[0], "comments": v[1]} if isinstance(v, tuple) else {"result": v, "comments": ""}
            for i, v in values.items()}


def judge(journal, local, events=(), faults=(), cloud=None, mutations=()):
    ev = Evidence(run_id="r", started_at=0.0, soak_end=600.0, warmup_s=0.0, journal=digest_ops(journal.ops),
                  local=_rows(local), events=tuple(events), faults=tuple(faults),
                  cloud=None if cloud is None else _rows(cloud), mutations=tuple(mutations),
                  applied={io: tuple(w) for io, w in applied_to_cloud(events).items()})
    return i4_no_loss.judge(ev, LIMITS)


def test_last_ok_value_survives_passes():
    j = Journal().write(0, 10, "Passed").write(0, 10, "Failed").write(1, 11, "Passed")
    r = judge(j, {10: "Failed", 11: "Passed"})
    assert r.status == "pass", r.reason
    assert r.evidence == 2


def test_silent_flip_fails_with_the_offending_op():
    j = Journal().write(0, 10, "Passed").write(0, 10, "Failed")
    r = judge(j, {10: "Passed"})
    assert r.status == "fail"
    [m] = r.details["mismatches"]
    assert m == {"ioId": 10, "field": "result", "expected": {"result": "Failed", "comments": ""},
                 "accepted": [{"result": "Failed", "comments": ""}], "local": {"result": "Passed", "comments": ""},
                 "bot": 0, "op": 2, "kind": "mismatch"}
    assert "IO 10" in r.reason


def test_info_op_whose_value_landed_passes():
    j = Journal().write(0, 10, "Passed").write(0, 10, "Failed", outcome="info")
    assert judge(j, {10: "Failed"}).status == "pass"
    assert judge(j, {10: "Passed"}).status == "pass"  # or it did not land: both are fine


def test_info_op_before_the_last_ok_is_not_accepted():
    j = Journal().write(0, 10, "Failed", outcome="info").write(0, 10, "Passed")
    assert judge(j, {10: "Failed"}).status == "fail"


def test_invoke_never_completed_counts_as_info():
    j = Journal().write(0, 10, "Passed").write(0, 10, "Failed", outcome=None)
    assert judge(j, {10: "Failed"}).status == "pass"


def test_failed_op_is_not_expected():
    j = Journal().write(0, 10, "Passed").write(0, 10, "Failed", outcome="fail")
    assert judge(j, {10: "Passed"}).status == "pass"
    assert judge(j, {10: "Failed"}).status == "fail"


def test_two_ops_in_the_same_millisecond_are_ordered_by_append():
    j = Journal().write(0, 10, "Passed", t=100.0).write(0, 10, "Failed", t=100.0)
    assert judge(j, {10: "Failed"}).status == "pass"
    assert judge(j, {10: "Passed"}).status == "fail"


def test_a_clock_that_stepped_back_does_not_reorder():
    j = Journal().write(0, 10, "Passed", t=100.0).write(0, 10, "Failed", t=99.0)
    assert judge(j, {10: "Failed"}).status == "pass"


def test_cleared_and_null_are_equal():
    j = Journal().write(0, 10, "Passed").write(0, 10, "Cleared")
    assert judge(j, {10: None}).status == "pass"


def test_null_where_a_value_was_written_is_a_wipe():
    r = judge(Journal().write(0, 10, "Passed"), {10: None})
    assert r.status == "fail"
    assert r.details["mismatches"][0]["kind"] == "wipe"


def test_missing_local_row_fails():
    r = judge(Journal().write(0, 10, "Passed"), {})
    assert r.status == "fail"
    assert r.details["mismatches"][0]["kind"] == "missing"


def test_non_business_drop_or_park_is_a_silent_drop():
    j = Journal().write(0, 10, "Passed")
    drop = ToolEvent(50.0, "record_dropped", {"ioId": 99, "reason": "HTTP 429", "kind": "transient"})
    r = judge(j, {10: "Passed"}, events=[drop])
    assert r.status == "fail"
    assert "HTTP 429" in r.reason and "IO 99" in r.reason
    park = ToolEvent(50.0, "record_parked", {"ioId": 12, "reason": "conflict cap", "kind": "conflict"})
    assert judge(j, {10: "Passed"}, events=[park]).status == "fail"


def test_business_park_is_legitimate():
    j = Journal().write(0, 10, "Passed")
    park = ToolEvent(50.0, "record_parked", {"ioId": 10, "reason": "SPARE cannot be Passed", "kind": "business"})
    assert judge(j, {10: "Passed"}, events=[park]).status == "pass"


def _wipe(applied, restored):
    return Fault("f009", "wipe", "tool", {}, applied - 1, applied, restored, duration=restored - applied,
                 effects=effects_of("wipe", "tool"))


def _pushed(t, io_id, result, comments="", version=2):
    return ToolEvent(t, "records_pushed", {"count": 1, "applied": 1, "conflicts": 0, "rejected": 0,
                                        "appliedItems": [{"ioId": io_id, "version": version, "result": result,
                                                          "comments": comments}]})


def test_wipe_of_a_write_that_never_reached_the_cloud_is_excused_and_reported():
    # acknowledged 30 s before the wipe while the cloud was cut: it could not have synced
    j = Journal().write(0, 10, "Passed", t=10.0).write(0, 11, "Failed", t=70.0, comments="seized")
    r = judge(j, {10: "Passed", 11: None}, faults=[_wipe(100.0, 110.0)], events=[_pushed(12.0, 10, "Passed")],
              cloud={10: "Passed", 11: None})
    assert r.status == "pass", r.reason
    [excused] = r.details["excused_by_wipe"]
    assert excused["ioId"] == 11 and excused["wipe"] == "f009"
    assert r.evidence == 1


def test_wipe_of_a_synced_write_that_is_not_pulled_back_fails():
    j = Journal().write(0, 11, "Failed", t=70.0, comments="seized")
    r = judge(j, {11: None}, faults=[_wipe(100.0, 110.0)], events=[_pushed(72.0, 11, "Failed", "seized")],
              cloud={11: None})
    assert r.status == "fail", r.reason
    [m] = r.details["mismatches"]
    assert m["kind"] == "not pulled back after wipe" and "records_pushed" in m["reached_cloud"]


def test_wipe_of_a_write_the_cloud_holds_is_a_loss_even_without_sync_events():
    j = Journal().write(0, 11, "Failed", t=70.0, comments="seized")
    r = judge(j, {11: None}, faults=[_wipe(100.0, 110.0)], cloud={11: ("Failed", "seized")})
    assert r.status == "fail", r.reason
    assert "cloud's snapshot holds it" in r.reason


def test_an_older_push_of_the_same_target_does_not_prove_the_last_write_synced():
    j = Journal().write(0, 11, "Passed", t=10.0).write(0, 11, "Failed", t=70.0).write(1, 12, "Passed", t=200.0)
    r = judge(j, {11: None, 12: "Passed"}, faults=[_wipe(100.0, 110.0)], events=[_pushed(12.0, 11, "Passed")],
              cloud={11: "Passed", 12: "Passed"})
    assert r.status == "pass", r.reason
    assert [e["ioId"] for e in r.details["excused_by_wipe"]] == [11]


def test_wipe_loss_with_no_cloud_evidence_at_all_is_not_a_pass():
    j = Journal().write(0, 10, "Passed", t=10.0).write(0, 11, "Failed", t=70.0)
    r = judge(j, {10: "Passed", 11: None}, faults=[_wipe(100.0, 110.0)])
    assert r.status == "inconclusive", r.reason
    assert r.details["unproven_wipe_losses"][0]["ioId"] == 11


def test_write_after_the_wipe_is_judged_again():
    j = Journal().write(0, 11, "Failed", t=98.0).write(0, 11, "Passed", t=200.0)
    assert judge(j, {11: None}, faults=[_wipe(100.0, 110.0)], cloud={11: None}).status == "fail"


def test_a_lost_comment_fails_naming_the_io_and_the_field():
    j = Journal().write(0, 10, "Failed", comments="motor seized, see ticket #4411")
    r = judge(j, {10: ("Failed", None)})
    assert r.status == "fail", r.reason
    [m] = r.details["mismatches"]
    assert m["field"] == "comments" and m["ioId"] == 10
    assert "IO 10 comments" in r.reason


def test_a_cut_short_comment_fails():
    j = Journal().write(0, 10, "Failed", comments="motor seized, see ticket #4411")
    assert judge(j, {10: ("Failed", "motor seized")}).status == "fail"


def test_null_and_empty_comments_are_equal():
    j = Journal().write(0, 10, "Passed", comments="")
    assert judge(j, {10: ("Passed", None)}).status == "pass"


def test_a_comment_the_cloud_edited_after_the_write_is_accepted():
    j = Journal().write(0, 10, "Failed", t=10.0, comments="seized")
    edit = Mutation(op=1, action="edit", io_id=10, fields={"comments": "checked by office"}, type="ok", t=20.0)
    assert judge(j, {10: ("Failed", "checked by office")}, mutations=[edit]).status == "pass"
    earlier = Mutation(op=1, action="edit", io_id=10, fields={"comments": "checked by office"}, type="ok", t=5.0)
    assert judge(j, {10: ("Failed", "checked by office")}, mutations=[earlier]).status == "fail"


def test_hot_and_multi_writer_targets_are_not_judged():
    j = Journal().write(0, 10, "Passed", hot=True).write(1, 10, "Failed", hot=True)
    j.write(0, 20, "Passed").write(1, 20, "Failed")  # a broken partition
    r = judge(j, {10: None, 20: None})
    assert r.status == "inconclusive"
    assert r.evidence == 0
    assert r.details["hot_targets"] == 1
    assert r.details["multi_writer"] == [{"ioId": 20, "bots": [0, 1]}]


def test_never_acknowledged_target_is_not_judged():
    j = Journal().write(0, 10, "Passed", outcome="fail")
    assert judge(j, {10: None}).status == "inconclusive"


def test_silent_drop_fails_even_with_nothing_else_to_judge():
    drop = ToolEvent(50.0, "record_dropped", {"ioId": 99, "reason": "HTTP 429", "kind": "transient"})
    assert judge(Journal(), {}, events=[drop]).status == "fail"


def test_targets_keep_the_invoke_position_of_each_op():
    j = Journal().write(0, 10, "Passed").write(0, 10, "Failed")
    history = single_writer_targets(j.ops).judged[10]
    assert [w.type for w in history.writes] == ["ok", "ok"]
    assert [w.value["result"] for w in history.writes] == ["Passed", "Failed"]


def test_a_restarted_writer_reusing_op_numbers_is_not_merged_into_its_earlier_life():
    # bot 0 restarted: its second life numbers ops from 1 again. Keyed by (bot, op), the second
    # life's op 1 would replace the first's and keep the first's place: the wrong write would be "last".
    first = [Op(0, 1, "invoke", 10, {"result": "Passed"}, False, 1.0, lifetime="a"),
             Op(0, 1, "ok", 10, {"result": "Passed"}, False, 1.0, lifetime="a"),
             Op(0, 2, "invoke", 10, {"result": "Failed"}, False, 2.0, lifetime="a"),
             Op(0, 2, "ok", 10, {"result": "Failed"}, False, 2.0, lifetime="a")]
    second = [Op(0, 1, "invoke", 10, {"result": "Cleared"}, False, 3.0, lifetime="b"),
              Op(0, 1, "ok", 10, {"result": "Cleared"}, False, 3.0, lifetime="b")]
    history = single_writer_targets(first + second).judged[10]
    assert [w.value["result"] for w in history.writes] == ["Passed", "Failed", "Cleared"]
    assert history.last_ok.value["result"] == "Cleared"
