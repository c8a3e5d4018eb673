"""The MCM02 panel's remote IO: racks, slots and points.

The hardware layout is fixed (a panel is built once; only what is wired to it and
how far commissioning got varies with the seed), so every seed yields exactly
1,184 points and the same connection-fault bits.
"""

from __future__ import annotations

from dataclasses import dataclass

SITE = "MCM02"

RACKS = 12
# Racks 1-4 are the wider ones nearest the panel.
_MODULES_IN_RACK = {rack: (8 if rack <= 4 else 7) for rack in range(1, RACKS + 1)}

# In every run of 22 modules, 15 are 16-point cards and 7 are 8-point cards;
# with 88 modules that is 60 x 16 + 28 x 8 = 1,184 points.
_CYCLE = 22
_WIDE_PER_CYCLE = 15


@dataclass(frozen=True)
class Module:
    rack: int
    slot: int
    direction: str  # "DI" or "DO"
    points: int

    @property
    def address(self) -> str:
        return f"{SITE}_R{self.rack:02d}_S{self.slot:02d}"

    def point_address(self, point: int) -> str:
        return f"{self.address}_{self.direction}{point:02d}"

    def spare_tag(self, point: int) -> str:
        """The PLC tag of an unused point: says SPARE up front, keeps the address for uniqueness."""
        return f"SPARE_R{self.rack:02d}_S{self.slot:02d}_{self.direction}{point:02d}"

    @property
    def fault_tag(self) -> str:
        return f"{self.address}_Fault"


def build_layout() -> tuple[Module, ...]:
    """Every IO module in wiring order (rack by rack, slot by slot; slot 0 is the adapter)."""
    modules: list[Module] = []
    for rack in range(1, RACKS + 1):
        for slot in range(1, _MODULES_IN_RACK[rack] + 1):
            index = len(modules)
            points = 16 if index % _CYCLE < _WIDE_PER_CYCLE else 8
            # Conveyor sites sense far more than they drive: two input cards per output card.
            direction = "DO" if index % 3 == 2 else "DI"
            modules.append(Module(rack, slot, direction, points))
    return tuple(modules)


def rack_fault_tags() -> tuple[str, ...]:
    """One connection-fault bit per rack adapter."""
    return tuple(f"{SITE}_R{rack:02d}_ConnFault" for rack in range(1, RACKS + 1))


def total_points(layout: tuple[Module, ...]) -> int:
    return sum(module.points for module in layout)
