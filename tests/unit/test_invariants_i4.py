"""I4 no data loss: journals (append order) against the local snapshot."""

from battle.evidence import Evidence, Fault, Op, ToolEvent
from battle.invariants import i4_no_loss
from battle.invariants.targets import single_writer_targets

LIMITS = {"WIPE_LOSS_WINDOW_S": 5.0}


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


def judge(journal, local, events=(), faults=()):
    ev = Evidence(run_id="r", started_at=0.0, soak_end=600.0, warmup_s=0.0, ops=tuple(journal.ops),
                  local={i: {"result": v, "comments": ""} for i, v in local.items()},
                  events=tuple(events), faults=tuple(faults))
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
    assert m == {"ioId": 10, "expected": "Failed", "accepted": ["Failed"], "local": "Passed", "bot": 0, "op": 2,
                 "kind": "mismatch"}
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
    drop = ToolEvent(50.0, "sync.dropped", {"ioId": 99, "reason": "HTTP 429", "kind": "transient"})
    r = judge(j, {10: "Passed"}, events=[drop])
    assert r.status == "fail"
    assert "HTTP 429" in r.reason and "IO 99" in r.reason
    park = ToolEvent(50.0, "sync.parked", {"ioId": 12, "reason": "conflict cap", "kind": "conflict"})
    assert judge(j, {10: "Passed"}, events=[park]).status == "fail"


def test_business_park_is_legitimate():
    j = Journal().write(0, 10, "Passed")
    park = ToolEvent(50.0, "sync.parked", {"ioId": 10, "reason": "SPARE cannot be Passed", "kind": "business"})
    assert judge(j, {10: "Passed"}, events=[park]).status == "pass"


def _wipe(applied, restored):
    return Fault("f009", "wipe", "tool", {}, applied - 1, applied, restored)


def test_write_just_before_a_wipe_is_excused_and_reported():
    j = Journal().write(0, 10, "Passed", t=10.0).write(0, 11, "Failed", t=98.0)
    r = judge(j, {10: "Passed", 11: None}, faults=[_wipe(100.0, 110.0)])
    assert r.status == "pass", r.reason
    assert r.details["excused_by_wipe"][0]["ioId"] == 11
    assert r.evidence == 1


def test_write_long_before_a_wipe_is_not_excused():
    j = Journal().write(0, 11, "Failed", t=50.0)
    assert judge(j, {11: None}, faults=[_wipe(100.0, 110.0)]).status == "fail"


def test_write_after_the_wipe_is_judged_again():
    j = Journal().write(0, 11, "Failed", t=98.0).write(0, 11, "Passed", t=200.0)
    assert judge(j, {11: None}, faults=[_wipe(100.0, 110.0)]).status == "fail"


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
    drop = ToolEvent(50.0, "sync.dropped", {"ioId": 99, "reason": "HTTP 429", "kind": "transient"})
    assert judge(Journal(), {}, events=[drop]).status == "fail"


def test_targets_keep_the_invoke_position_of_each_op():
    j = Journal().write(0, 10, "Passed").write(0, 10, "Failed")
    history = single_writer_targets(j.ops).judged[10]
    assert [w.type for w in history.writes] == ["ok", "ok"]
    assert [w.value["result"] for w in history.writes] == ["Passed", "Failed"]
