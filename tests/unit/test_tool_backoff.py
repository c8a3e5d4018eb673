"""Capped exponential backoff and Retry-After parsing (pure; no clock, no sleep)."""

import pytest

from sut.tool.backoff import RETRY_AFTER_CEILING_S, Backoff, parse_retry_after


def test_delays_double_until_the_cap():
    backoff = Backoff(base_s=0.5, cap_s=4.0, rand=lambda: 1.0)  # rand 1.0: the full step, no jitter
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_stays_between_half_and_full_step():
    low = Backoff(base_s=2.0, cap_s=100.0, rand=lambda: 0.0)
    high = Backoff(base_s=2.0, cap_s=100.0, rand=lambda: 0.999)
    assert low.next_delay() == pytest.approx(1.0)
    assert 1.99 < high.next_delay() <= 2.0


def test_retry_after_is_a_floor_not_a_ceiling():
    backoff = Backoff(base_s=0.5, cap_s=30.0, rand=lambda: 1.0)
    assert backoff.next_delay(retry_after_s=7.0) == 7.0
    for _ in range(10):
        backoff.next_delay()
    assert backoff.next_delay(retry_after_s=1.0) == 30.0


def test_absurd_retry_after_is_bounded():
    backoff = Backoff(base_s=0.5, cap_s=30.0, rand=lambda: 1.0)
    assert backoff.next_delay(retry_after_s=86_400) == RETRY_AFTER_CEILING_S


def test_reset_starts_over():
    backoff = Backoff(base_s=1.0, cap_s=60.0, rand=lambda: 1.0)
    for _ in range(4):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == 1.0


@pytest.mark.parametrize(("header", "expected"), [
    ("3", 3.0), (" 12 ", 12.0), ("0", 0.0), ("-5", 0.0), ("", None), (None, None), ("soon", None),
])
def test_parse_retry_after_seconds(header, expected):
    assert parse_retry_after(header, now_epoch_s=0.0) == expected


def test_parse_retry_after_http_date():
    # 2026-11-22T04:00:10Z is 10 s after "now"
    now = 1795320000.0
    assert parse_retry_after("Sun, 22 Nov 2026 04:00:10 GMT", now_epoch_s=now) == pytest.approx(10.0)
