"""I6 convergence: queue drained in time, local equals cloud for judged targets."""

from battle.evidence import Evidence, Op, QueueState
from battle.invariants import i6_convergence
from battle.observer.journals import digest_ops

LIMITS = {"SETTLE_MAX_S": 120.0}


def ops(*targets):
    """One bot's journal (invoke, ok) per target, folded as gathering folds it."""
    out = []
    for k, target in enumerate(targets, start=1):
        value = {"result": "Passed", "comments": "ok"}
        out += [Op(0, k, "invoke", target, value, False, float(k)), Op(0, k, "ok", target, value, False, float(k))]
    return digest_ops(out)


def row(result="Passed", comments="ok"):
    return {"result": result, "comments": comments}


DRAINED = QueueState(0, 0)


def judge(local, cloud, queue=DRAINED, settle_s=3.0, targets=(1, 2)):
    ev = Evidence(run_id="r", started_at=0.0, soak_end=600.0, warmup_s=0.0, journal=ops(*targets),
                  local=local, cloud=cloud, queue=queue, settle_s=settle_s)
    return i6_convergence.judge(ev, LIMITS)


SAME = {1: row(), 2: row()}


def test_converged_passes():
    r = judge(SAME, SAME)
    assert r.status == "pass", r.reason
    assert r.evidence == 2


def test_cloud_unreadable_is_inconclusive():
    assert judge(SAME, None).status == "inconclusive"


def test_no_judged_targets_is_inconclusive():
    assert judge(SAME, SAME, targets=()).status == "inconclusive"


def test_parked_row_with_reason_http_429_fails():
    q = QueueState(0, 1, ({"ioId": 1, "reason": "HTTP 429", "kind": "transient"},))
    r = judge(SAME, SAME, queue=q)
    assert r.status == "fail"
    assert "HTTP 429" in r.reason
    assert r.details["non_business_parked"][0]["ioId"] == 1


def test_business_rejection_is_reported_not_failed():
    q = QueueState(0, 1, ({"ioId": 2, "reason": "SPARE cannot be Passed", "kind": "business"},))
    r = judge(SAME, {1: row(), 2: row(result=None)}, queue=q)
    assert r.status == "pass", r.reason
    assert r.details["business_rejections"][0]["reason"] == "SPARE cannot be Passed"


def test_different_result_fails():
    r = judge(SAME, {1: row(), 2: row(result="Failed")})
    assert r.status == "fail"
    assert r.details["differences"][0]["ioId"] == 2


def test_different_comments_fail():
    assert judge(SAME, {1: row(), 2: row(comments="other")}).status == "fail"


def test_target_missing_in_cloud_fails():
    assert judge(SAME, {1: row()}).status == "fail"


def test_cleared_equals_null_and_missing_comments_equal_empty():
    local = {1: {"result": "Cleared", "comments": None}, 2: row()}
    cloud = {1: {"result": None, "comments": ""}, 2: row()}
    assert judge(local, cloud).status == "pass"


def test_active_rows_left_fail():
    r = judge(SAME, SAME, queue=QueueState(3, 0))
    assert r.status == "fail" and "3 row(s) still active" in r.reason


def test_queue_that_never_drained_fails():
    assert judge(SAME, SAME, settle_s=None).status == "fail"


def test_slow_settle_fails():
    r = judge(SAME, SAME, settle_s=300.0)
    assert r.status == "fail" and "300 s" in r.reason


def test_unreadable_queue_fails():
    assert judge(SAME, SAME, queue=None).status == "fail"


def test_unjudged_differences_are_counted_not_failed():
    local = {**SAME, 3: row()}
    cloud = {**SAME, 3: row(result="Failed")}
    r = judge(local, cloud)
    assert r.status == "pass"
    assert r.details["unjudged_differences"] == 1


def test_a_dropped_row_that_never_reached_the_cloud_fails_even_when_both_sides_agree():
    # conflict_drop: the row is deleted at the cap, then the pull copies the cloud's older value over the
    # field's, so tool and cloud agree on a value the technician replaced.
    from battle.evidence import ToolEvent

    stale = {1: row("Failed", "x"), 2: row()}
    dropped = (ToolEvent(5.0, "record_dropped", {"ioId": 1, "kind": "conflict", "reason": "version conflict"}),)
    ev = Evidence(run_id="r", started_at=0.0, soak_end=600.0, warmup_s=0.0, journal=ops(1, 2), local=stale,
                  cloud=stale, queue=DRAINED, settle_s=3.0, events=dropped)
    r = i6_convergence.judge(ev, LIMITS)
    assert r.status == "fail" and "dropped never reached the cloud" in r.reason
    assert r.details["abandoned"][0]["ioId"] == 1
    delivered = {1: row(), 2: row()}  # the same drop, but a later write did reach the cloud
    ev2 = Evidence(run_id="r", started_at=0.0, soak_end=600.0, warmup_s=0.0, journal=ops(1, 2), local=delivered,
                   cloud=delivered, queue=DRAINED, settle_s=3.0, events=dropped)
    assert i6_convergence.judge(ev2, LIMITS).status == "pass"
