import random

import pytest

from battle.common.timefmt import IsoStamper, iso_utc, parse_iso


def test_the_stamper_writes_exactly_what_iso_utc_writes():
    stamp = IsoStamper()
    rng = random.Random(3)
    second = 1_796_233_044
    edges = [second + 0.9999995, second + 0.9995, second + 0.0000005, second + 0.9999994999, 0.0, 1e-7, 59.9999999]
    values = [rng.uniform(0, 2e9) for _ in range(20_000)] + [second + k / 1e6 for k in range(0, 2_000_000, 97)]
    for value in values + edges:
        assert stamp(value) == iso_utc(value), value


def test_a_stamp_reads_back_to_the_millisecond():
    stamp = IsoStamper()
    assert parse_iso(stamp(1_796_233_044.1239)) == pytest.approx(1_796_233_044.123, abs=1e-6)
