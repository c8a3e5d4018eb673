"""I7 cloud-to-field propagation: mutations journal against the local snapshot."""

from battle.evidence import Evidence, Mutation, Op
from battle.invariants import i7_propagation
from battle.observer.journals import digest_ops

LIMITS = {"PROPAGATION_MAX_S": 60.0}


def m(op, action, io, fields, kind="ok"):
    return Mutation(op=op, action=action, io_id=io, fields=fields, type=kind, t=float(op))


def io(name="MCM02_DI_0001", description="Conveyor PE", comments="", spare=0):
    return {"name": name, "description": description, "comments": comments, "isSpare": spare, "result": None}


def judge(mutations, local, latency=(2.0, 3.0), ops=()):
    ev = Evidence(run_id="r", started_at=0.0, soak_end=600.0, warmup_s=0.0, mutations=tuple(mutations),
                  local=local, propagation_s=tuple(latency), journal=digest_ops(ops))
    return i7_propagation.judge(ev, LIMITS)


def test_add_edit_retire_present_locally_passes():
    muts = [m(1, "add", 2001, {"subsystemId": 38, "name": "NEW_1", "description": "added"}),
            m(2, "edit", 5, {"description": "renamed"}),
            m(3, "retire", 6, {"isSpare": 1})]
    local = {2001: io("NEW_1", "added"), 5: io(description="renamed"), 6: io(spare=1)}
    r = judge(muts, local)
    assert r.status == "pass", r.reason
    assert r.evidence == 3
    assert r.details["latency_s"]["max"] == 3.0


def test_added_io_missing_locally_fails():
    r = judge([m(1, "add", 2001, {"name": "NEW_1", "description": "added"})], {})
    assert r.status == "fail"
    assert "IO 2001" in r.reason


def test_edit_that_never_arrived_fails():
    r = judge([m(1, "edit", 5, {"description": "renamed"})], {5: io()})
    assert r.status == "fail"
    assert r.details["wrong_fields"][0]["field"] == "description"


def test_retire_not_applied_fails():
    assert judge([m(1, "retire", 6, {})], {6: io(spare=0)}).status == "fail"


def test_only_the_last_edit_of_a_field_counts():
    muts = [m(1, "edit", 5, {"description": "first"}), m(2, "edit", 5, {"description": "second"})]
    assert judge(muts, {5: io(description="second")}).status == "pass"
    assert judge(muts, {5: io(description="first")}).status == "fail"


def test_later_indeterminate_edit_may_have_landed():
    muts = [m(1, "edit", 5, {"description": "first"}), m(2, "edit", 5, {"description": "maybe"}, kind="info")]
    assert judge(muts, {5: io(description="maybe")}).status == "pass"
    assert judge(muts, {5: io(description="first")}).status == "pass"


def test_failed_mutations_are_not_expected():
    r = judge([m(1, "edit", 5, {"description": "nope"}, kind="fail")], {5: io()})
    assert r.status == "inconclusive"


def test_comment_overwritten_by_a_technician_is_accepted():
    bot = Op(0, 1, "ok", 5, {"result": "Passed", "comments": "checked by bot"}, False, 0.5)
    muts = [m(1, "edit", 5, {"comments": "admin note"})]
    assert judge(muts, {5: io(comments="checked by bot")}, ops=[bot]).status == "pass"
    assert judge(muts, {5: io(comments="checked by bot")}).status == "fail"


def test_slow_propagation_during_the_soak_is_reported_not_gated():
    # DESIGN.md section 7: present within PROPAGATION_MAX_S after settle gates; soak latency is reported.
    r = judge([m(1, "edit", 5, {"description": "renamed"})], {5: io(description="renamed")}, latency=(3.0, 75.0))
    assert r.status == "pass"
    assert "75.0 s" in r.reason and r.details["slow"]


def test_no_ok_mutation_is_inconclusive():
    r = judge([], {5: io()})
    assert r.status == "inconclusive" and r.evidence == 0
