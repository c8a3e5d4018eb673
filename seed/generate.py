"""Build the whole site from a seed, in memory, and check it before anyone uses it.

Each concern (spares, wiring, VFD settings, commissioning history) draws from its
own `random.Random`, derived from the seed and the concern's name, so changing
one concern's logic does not reshuffle the others.
"""

from __future__ import annotations

import math
import random

from seed.commissioning import apply_history
from seed.errors import SeedError, SeedUsageError
from seed.layout import Module, build_layout, rack_fault_tags, total_points
from seed.model import Io, PlcTag, Site, Vfd
from seed.schema import SUBSYSTEM_ID
from seed.sheet import SHEET_COLUMNS, sheet_cells, sheet_devices
from seed.signals import CONVEYORS, conveyor_device, wire_points
from seed.tagnames import check_tag_names
from seed.writer import write_site

__all__ = ["generate_site", "write_site", "validate_site", "SPARE_DESCRIPTION"]

SPARE_DESCRIPTION = "SPARE"
SPARE_SHARE_LOW, SPARE_SHARE_HIGH = 0.085, 0.115

# Motor sizes on a parcel conveyor line, in tenths of HP; small motors dominate.
_HP_TENTHS = (5, 10, 15, 20, 30, 50, 75, 100, 150)
_HP_WEIGHTS = (6, 14, 14, 18, 18, 14, 8, 5, 3)
_MAP_RANGE = (1, 32)


def _stream(seed: int, concern: str) -> random.Random:
    # String seeds are hashed with SHA-512 by `random`, so this is stable across processes
    # and Python builds (unlike hash(), which PYTHONHASHSEED salts).
    return random.Random(f"battle-seed/{seed}/{concern}")


def _spares_per_module(rng: random.Random, layout: tuple[Module, ...]) -> list[int]:
    """How many of each card's last points are unused. At most half a card is spare."""
    points = total_points(layout)
    wanted = rng.randint(math.ceil(points * SPARE_SHARE_LOW), math.floor(points * SPARE_SHARE_HIGH))
    spares = [0] * len(layout)
    for _ in range(wanted):
        candidates = [i for i, module in enumerate(layout) if spares[i] < module.points // 2]
        spares[rng.choice(candidates)] += 1
    return spares


def _ios(seed: int, layout: tuple[Module, ...]) -> list[Io]:
    spares = _spares_per_module(_stream(seed, "spares"), layout)
    wired_in = sum(m.points - s for m, s in zip(layout, spares, strict=True) if m.direction == "DI")
    wired_out = sum(m.points - s for m, s in zip(layout, spares, strict=True) if m.direction == "DO")
    inputs, outputs = wire_points(_stream(seed, "wiring"), wired_in, wired_out)
    feeds = {"DI": iter(inputs), "DO": iter(outputs)}

    ios: list[Io] = []
    for module, spare_count in zip(layout, spares, strict=True):
        first_spare = module.points - spare_count
        for point in range(module.points):
            address = module.point_address(point)
            if point >= first_spare:
                # A spare's name and tag say so too: that is how a technician spots one on the list.
                name, description, tag = f"{address}_SPARE", SPARE_DESCRIPTION, module.spare_tag(point)
            else:
                wired = next(feeds[module.direction])
                name, description, tag = address, wired.description, wired.tagName
            ios.append(Io(
                id=len(ios) + 1, subsystemId=SUBSYSTEM_ID, name=name, description=description,
                tagName=tag, isSpare=int(point >= first_spare), result=None, comments="",
                version=1, updatedAt="",
            ))
    return apply_history(_stream(seed, "history"), ios)


def _vfds(rng: random.Random) -> list[Vfd]:
    vfds = []
    for number in range(1, CONVEYORS + 1):
        name = f"{conveyor_device(number)}_VFD"
        vfds.append(Vfd(
            id=number, name=name,
            mapTag=f"{name}_Map", hpTag=f"{name}_HP", dirTag=f"{name}_Dir", revTag=f"{name}_Rev",
            map=rng.randint(*_MAP_RANGE),
            hp=rng.choices(_HP_TENTHS, weights=_HP_WEIGHTS)[0],
            direction=rng.randint(0, 1),
            reverse=rng.randint(0, 1),
        ))
    return vfds


def _tags(ios: list[Io], vfds: list[Vfd], layout: tuple[Module, ...]) -> list[PlcTag]:
    tags = [PlcTag(io.tagName, "BOOL", "io", 0, None) for io in ios]
    tags += [flag for vfd in vfds for flag in vfd.flag_tags()]
    faults = [*rack_fault_tags(), *(m.fault_tag for m in layout), *(f"{v.name}_ConnFault" for v in vfds)]
    tags += [PlcTag(name, "BOOL", "fault", 0, None) for name in faults]
    return tags


def generate_site(seed: int) -> Site:
    """The site for `seed` (a non-negative int); pure and deterministic."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SeedUsageError(
            f"seed {seed!r} is not accepted; expected a non-negative integer such as 1 "
            "(negative seeds would repeat positive ones)",
            argument="--seed",
        )
    layout = build_layout()
    ios = _ios(seed, layout)
    vfds = _vfds(_stream(seed, "vfds"))
    devices = sheet_devices(_stream(seed, "sheet-devices"), ios)
    cells = sheet_cells(_stream(seed, "sheet-cells"), devices, SUBSYSTEM_ID)
    site = Site(seed=seed, subsystemId=SUBSYSTEM_ID, ios=tuple(ios), vfds=tuple(vfds),
                tags=tuple(_tags(ios, vfds, layout)), sheet_columns=SHEET_COLUMNS, sheet_cells=tuple(cells))
    validate_site(site)
    return site


def validate_site(site: Site) -> None:
    """Raise SeedError if the site breaks a rule the other parts rely on."""
    check_tag_names(tag.name for tag in site.tags)
    names = [io.name for io in site.ios]
    if len(set(names)) != len(names):
        raise SeedError("two IOs share a name; hint: the point address template in seed/layout.py")
    ids = [io.id for io in site.ios]
    if ids != sorted(set(ids)):
        raise SeedError("IO ids are not unique and ascending; hint: seed/generate.py numbers IOs in wiring order")
    for io in site.ios:
        if io.isSpare and io.result == "Passed":
            raise SeedError(f"SPARE IO {io.id} ({io.name}) is Passed; the cloud would reject it")
        if io.isSpare != (io.description == SPARE_DESCRIPTION):
            raise SeedError(f"IO {io.id} ({io.name}): isSpare={io.isSpare} but description {io.description!r}")
        if io.version < 1 or (io.result is not None and io.version < 2):
            raise SeedError(f"IO {io.id} has version {io.version} with result {io.result!r}; marked IOs are ≥ 2")
    expected = {tag.name: tag.expected for tag in site.tags if tag.kind == "vfd_flag"}
    for vfd in site.vfds:
        for flag in vfd.flag_tags():
            if expected.get(flag.name) != flag.expected:
                raise SeedError(f"VFD flag {flag.name} expects {expected.get(flag.name)!r}, the DB holds {flag.expected}")
