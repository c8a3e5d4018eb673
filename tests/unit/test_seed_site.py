"""The in-memory site: counts, realism rules and determinism, straight from generate_site."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import datetime

import pytest

from seed.errors import SeedError, SeedUsageError
from seed.generate import SPARE_DESCRIPTION, generate_site, validate_site
from seed.model import Site
from seed.schema import SUBSYSTEM_ID
from seed.tagnames import tag_name_problem

ISO_MS_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture(scope="module")
def site() -> Site:
    return generate_site(1)


def test_counts_match_the_mcm02_shape(site: Site) -> None:
    kinds = Counter(tag.kind for tag in site.tags)
    assert len(site.ios) == 1184
    assert len(site.vfds) == 72
    assert kinds["io"] == 1184
    assert kinds["vfd_flag"] == 4 * 72
    assert 150 <= kinds["fault"] <= 200
    assert 1600 <= len(site.tags) <= 1700
    assert all(io.subsystemId == SUBSYSTEM_ID for io in site.ios)


def test_spares_are_a_realistic_share_and_recognisable(site: Site) -> None:
    spares = [io for io in site.ios if io.isSpare]
    assert 0.08 <= len(spares) / len(site.ios) <= 0.12
    for io in spares:
        assert io.description == SPARE_DESCRIPTION
        assert "SPARE" in io.name and "SPARE" in io.tagName
    for io in site.ios:
        if not io.isSpare:
            assert "SPARE" not in io.description.upper() and "SPARE" not in io.name


def test_about_500_results_set_and_none_is_a_passed_spare(site: Site) -> None:
    marked = [io for io in site.ios if io.result is not None]
    assert 480 <= len(marked) <= 520
    results = Counter(io.result for io in marked)
    assert set(results) == {"Passed", "Failed"}
    assert 0.05 <= results["Failed"] / len(marked) <= 0.30
    assert not [io.id for io in marked if io.isSpare and io.result == "Passed"]
    assert all(io.comments.strip() for io in marked if io.result == "Failed")


def test_versions_reflect_the_history(site: Site) -> None:
    assert all(io.version >= 1 for io in site.ios)
    assert all(io.version >= 2 for io in site.ios if io.result is not None)
    # Marked-then-cleared points exist: NULL result but edited.
    assert any(io.version > 1 for io in site.ios if io.result is None)


def test_updated_at_is_wire_format_and_seed_derived(site: Site) -> None:
    for io in site.ios:
        assert ISO_MS_Z.fullmatch(io.updatedAt), io.updatedAt
    moments = {datetime.fromisoformat(io.updatedAt.replace("Z", "+00:00")) for io in site.ios}
    imported = min(moments)
    # Everything untouched carries the import time; every mark happened after it, within weeks.
    assert all(io.updatedAt == min(x.updatedAt for x in site.ios) for io in site.ios if io.version == 1)
    assert all((moment - imported).days <= 22 for moment in moments)


def test_same_seed_same_site_other_seed_other_data() -> None:
    first, again, other = generate_site(1), generate_site(1), generate_site(2)
    assert first == again
    assert [io.result for io in first.ios] != [io.result for io in other.ios]
    assert [io.isSpare for io in first.ios] != [io.isSpare for io in other.ios]
    assert [(v.map, v.hp) for v in first.vfds] != [(v.map, v.hp) for v in other.vfds]
    assert {io.updatedAt for io in first.ios} != {io.updatedAt for io in other.ios}


def test_tag_names_are_valid_logix_symbols_and_unique(site: Site) -> None:
    names = [tag.name for tag in site.tags]
    assert [name for name in names if tag_name_problem(name)] == []
    assert len({name.casefold() for name in names}) == len(names)
    assert [tag.name for tag in site.tags if tag.kind == "io"] == [io.tagName for io in site.ios]
    assert len({io.name for io in site.ios}) == len(site.ios)
    assert len({io.description for io in site.ios if not io.isSpare}) == sum(1 - io.isSpare for io in site.ios)


def test_vfd_flags_expect_exactly_the_db_values(site: Site) -> None:
    flags = {tag.name: tag for tag in site.tags if tag.kind == "vfd_flag"}
    assert len(flags) == 288
    for vfd in site.vfds:
        assert 1 <= vfd.map <= 32 and vfd.hp > 0 and vfd.direction in (0, 1) and vfd.reverse in (0, 1)
        for tag_name, value, tag_type in (
            (vfd.mapTag, vfd.map, "DINT"), (vfd.hpTag, vfd.hp, "DINT"),
            (vfd.dirTag, vfd.direction, "BOOL"), (vfd.revTag, vfd.reverse, "BOOL"),
        ):
            assert flags[tag_name].expected == value
            assert flags[tag_name].type == tag_type
            assert flags[tag_name].initial == 0
    assert all(tag.expected is None for tag in site.tags if tag.kind != "vfd_flag")


@pytest.mark.parametrize("seed", [0, 2, 3, 17, 4242, 2**40])
def test_every_seed_keeps_the_shape(seed: int) -> None:
    summary = generate_site(seed).summary()  # generate_site validates the site itself
    assert summary["ios"] == 1184 and summary["vfds"] == 72 and summary["seed"] == seed
    assert 0.08 <= summary["spares"] / 1184 <= 0.12
    assert 480 <= summary["ios_with_result"] <= 520


@pytest.mark.parametrize("bad", [-1, "1", 1.0, True, None])
def test_a_bad_seed_is_refused_with_the_accepted_form(bad: object) -> None:
    with pytest.raises(SeedUsageError, match="non-negative integer") as caught:
        generate_site(bad)  # type: ignore[arg-type]
    assert caught.value.argument == "--seed"


def test_validation_catches_a_passed_spare(site: Site) -> None:
    spare = next(index for index, io in enumerate(site.ios) if io.isSpare)
    ios = list(site.ios)
    ios[spare] = replace(ios[spare], result="Passed", version=2)
    with pytest.raises(SeedError, match="SPARE"):
        validate_site(replace(site, ios=tuple(ios)))


def test_validation_catches_a_flag_that_disagrees_with_the_db(site: Site) -> None:
    vfds = list(site.vfds)
    vfds[5] = replace(vfds[5], map=vfds[5].map % 32 + 1)
    with pytest.raises(SeedError, match=vfds[5].mapTag):
        validate_site(replace(site, vfds=tuple(vfds)))
