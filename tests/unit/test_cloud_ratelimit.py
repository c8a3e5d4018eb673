"""The sliding-window limiter against a fake clock: no sleeps."""

from __future__ import annotations

import pytest

from sut.cloud.ratelimit import SlidingWindowLimiter


class FakeClock:
    def __init__(self, start: float = 500.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def admitted(limiter: SlidingWindowLimiter, key: str, n: int) -> int:
    return sum(limiter.check(key).allowed for _ in range(n))


def test_admits_up_to_the_limit_then_refuses_with_retry_after() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(3, 60.0, clock)
    assert admitted(limiter, "k", 3) == 3
    refused = limiter.check("k")
    assert not refused.allowed and refused.retry_after_s == 60


def test_window_slides_rather_than_resetting_on_a_minute_boundary() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(4, 60.0, clock)
    clock.now = 500.0
    assert admitted(limiter, "k", 2) == 2
    clock.now = 550.0
    assert admitted(limiter, "k", 2) == 2
    clock.now = 559.0
    refused = limiter.check("k")
    assert refused.retry_after_s == 1  # the pair from t=500 leaves the window at t=560
    clock.now = 560.0
    # A fixed-bucket limiter would allow 4 more here; the sliding one frees only the two from t=500.
    assert admitted(limiter, "k", 4) == 2


def test_retry_after_rounds_up_to_a_whole_second_and_is_at_least_one() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 60.0, clock)
    assert limiter.check("k").allowed
    clock.now += 58.2
    assert limiter.check("k").retry_after_s == 2
    clock.now += 1.79
    assert limiter.check("k").retry_after_s == 1


def test_refused_requests_do_not_extend_the_wait() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 10.0, clock)
    assert admitted(limiter, "k", 2) == 2
    for _ in range(50):
        clock.now += 0.1
        assert not limiter.check("k").allowed
    clock.now = 510.0
    assert limiter.check("k").allowed


def test_keys_are_limited_independently() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 60.0, clock)
    assert admitted(limiter, "tool", 5) == 2
    assert admitted(limiter, "mutator", 5) == 2


@pytest.mark.parametrize(("limit", "window"), [(0, 60.0), (5, 0.0)])
def test_rejects_nonsense_settings(limit: int, window: float) -> None:
    with pytest.raises(ValueError):
        SlidingWindowLimiter(limit, window, FakeClock())
