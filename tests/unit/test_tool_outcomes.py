"""Classification of the cloud's answers: what is transient, what each push item means."""

import pytest

from sut.tool.cloud_client import classify_item, failure_from_response, is_transient_status


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 599])
def test_rate_limits_and_server_errors_are_transient(status):
    assert is_transient_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_other_client_errors_are_not_transient(status):
    assert not is_transient_status(status)


def test_429_carries_its_retry_after():
    failure = failure_from_response(429, "4", '{"error": "rate limited"}', "push")
    assert failure.transient and failure.status == 429 and failure.retry_after_s == 4.0
    assert "HTTP 429" in str(failure) and "rate limited" in str(failure)


def test_401_is_permanent_and_explains_itself():
    failure = failure_from_response(401, None, '{"error": "missing or wrong X-API-Key"}', "push")
    assert not failure.transient and failure.retry_after_s is None
    assert "X-API-Key" in str(failure)


def test_applied_conflict_rejected_items():
    assert classify_item({"ioId": 3, "status": "applied", "version": 4}).status == "applied"
    conflict = classify_item({"ioId": 3, "status": "conflict", "version": 9, "result": None, "comments": ""})
    assert (conflict.status, conflict.version, conflict.record_id) == ("conflict", 9, 3)
    rejected = classify_item({"ioId": 3, "status": "rejected", "reason": "SPARE cannot be Passed"})
    assert (rejected.status, rejected.reason) == ("rejected", "SPARE cannot be Passed")


@pytest.mark.parametrize("item", [
    "applied", None, {"ioId": 3, "status": "applied"}, {"ioId": 3, "status": "conflict", "version": "9"},
    {"ioId": 3, "status": "teleported", "version": 2},
])
def test_unusable_items_are_malformed_not_guessed(item):
    assert classify_item(item).status == "malformed"
