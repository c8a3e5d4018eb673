"""Tier markers are applied by folder so a test cannot land in the wrong tier."""
import pathlib

import pytest

_TIERS = {"unit", "integration", "e2e"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = set(pathlib.Path(str(item.fspath)).parts)
        for tier in _TIERS & parts:
            item.add_marker(getattr(pytest.mark, tier))
