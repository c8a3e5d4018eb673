"""What is wired to the points: the panel's own signals, then each conveyor's field devices.

Every wired point gets a PLC tag (`<device>_<signal>`) and a description an
electrician would recognise. Each (device, signal) pair is used once, so tag
names and descriptions are unique by construction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from seed.errors import SeedError
from seed.layout import SITE

CONVEYORS = 72


@dataclass(frozen=True)
class Signal:
    suffix: str       # tag name suffix
    description: str  # "{n}" is the conveyor number


@dataclass(frozen=True)
class WiredPoint:
    tagName: str
    description: str


PANEL_INPUTS: tuple[Signal, ...] = (
    Signal("MainDiscOn", "MCM02 main disconnect on"),
    Signal("PS1_24VDC_OK", "MCM02 24VDC power supply 1 OK"),
    Signal("PS2_24VDC_OK", "MCM02 24VDC power supply 2 OK"),
    Signal("UPS_OnBattery", "MCM02 UPS on battery"),
    Signal("UPS_Fault", "MCM02 UPS fault"),
    Signal("SurgeProtOK", "MCM02 surge protector healthy"),
    Signal("PanelEstop", "MCM02 panel E-stop healthy"),
    Signal("SafetyRelayOK", "MCM02 safety relay healthy"),
    Signal("CabFanOK", "MCM02 cabinet fan running"),
    Signal("CabOverTemp", "MCM02 cabinet over-temperature"),
    Signal("DoorClosed", "MCM02 panel door closed"),
    Signal("SysStartPB", "MCM02 system start pushbutton"),
    Signal("SysStopPB", "MCM02 system stop pushbutton"),
    Signal("SysResetPB", "MCM02 system fault reset pushbutton"),
)

PANEL_OUTPUTS: tuple[Signal, ...] = (
    Signal("SysRunPL", "MCM02 system running pilot light"),
    Signal("FaultPL", "MCM02 fault pilot light"),
    Signal("SafetyReset", "MCM02 safety relay reset"),
    Signal("CabFanRun", "MCM02 cabinet fan run"),
    Signal("StartHorn", "MCM02 system start-up horn"),
)

# The first CORE signals are on every conveyor; the rest are optional devices.
CONVEYOR_INPUTS: tuple[Signal, ...] = (
    Signal("RunFb", "Conveyor {n} motor run feedback"),
    Signal("DiscOn", "Conveyor {n} VFD disconnect on"),
    Signal("PullCord", "Conveyor {n} pull cord E-stop healthy"),
    Signal("PE_Head", "Conveyor {n} head photo-eye blocked"),
    Signal("PE_Tail", "Conveyor {n} tail photo-eye blocked"),
    Signal("PE_Jam", "Conveyor {n} jam photo-eye blocked"),
    Signal("PE_Mid1", "Conveyor {n} photo-eye PE1 blocked"),
    Signal("PE_Mid2", "Conveyor {n} photo-eye PE2 blocked"),
    Signal("PE_Mid3", "Conveyor {n} photo-eye PE3 blocked"),
    Signal("PE_Mid4", "Conveyor {n} photo-eye PE4 blocked"),
    Signal("MotorOL_OK", "Conveyor {n} motor thermal overload OK"),
    Signal("ZeroSpeed", "Conveyor {n} zero speed switch"),
    Signal("BeltAlign", "Conveyor {n} belt misalignment switch"),
    Signal("StartPB", "Conveyor {n} start pushbutton"),
    Signal("StopPB", "Conveyor {n} stop pushbutton"),
    Signal("ResetPB", "Conveyor {n} fault reset pushbutton"),
    Signal("LocalEstop", "Conveyor {n} local E-stop pushbutton healthy"),
    Signal("GuardClosed", "Conveyor {n} guard door closed"),
    Signal("BrakeRelFb", "Conveyor {n} brake released feedback"),
    Signal("DivertFb", "Conveyor {n} diverter extended feedback"),
)
CONVEYOR_INPUTS_CORE = 3

CONVEYOR_OUTPUTS: tuple[Signal, ...] = (
    Signal("RunPermit", "Conveyor {n} run permissive"),
    Signal("BrakeRel", "Conveyor {n} brake release"),
    Signal("BcnGreen", "Conveyor {n} status beacon green"),
    Signal("BcnAmber", "Conveyor {n} status beacon amber"),
    Signal("BcnRed", "Conveyor {n} status beacon red"),
    Signal("Horn", "Conveyor {n} start-up warning horn"),
    Signal("StartPL", "Conveyor {n} start pushbutton lamp"),
    Signal("ResetPL", "Conveyor {n} reset pushbutton lamp"),
    Signal("DivertSol", "Conveyor {n} diverter solenoid"),
    Signal("PopUpStop", "Conveyor {n} pop-up stop solenoid"),
    Signal("JamReset", "Conveyor {n} jam reset lamp"),
)
CONVEYOR_OUTPUTS_CORE = 2


def conveyor_device(number: int) -> str:
    return f"CV{number:03d}"


def _panel_points(signals: tuple[Signal, ...], wanted: int) -> list[WiredPoint]:
    return [WiredPoint(f"{SITE}_{s.suffix}", s.description) for s in signals[:wanted]]


def _conveyor_points(
    rng: random.Random, catalogue: tuple[Signal, ...], core: int, wanted: int
) -> list[WiredPoint]:
    """Spread `wanted` points over the conveyors: each gets the core signals plus a seeded pick of
    optional ones, listed in catalogue order so one conveyor's points sit together on the cards."""
    base, extra = divmod(wanted, CONVEYORS)
    busier = set(rng.sample(range(1, CONVEYORS + 1), extra))
    points: list[WiredPoint] = []
    for number in range(1, CONVEYORS + 1):
        count = base + (1 if number in busier else 0)
        if count < core or count > len(catalogue):
            raise SeedError(
                f"conveyor {number} would get {count} signals, the catalogue supports {core}..{len(catalogue)}; "
                "hint: the rack layout and the signal catalogue in seed/ no longer fit each other"
            )
        optional = rng.sample(range(core, len(catalogue)), count - core)
        device = conveyor_device(number)
        for index in sorted([*range(core), *optional]):
            signal = catalogue[index]
            points.append(WiredPoint(f"{device}_{signal.suffix}", signal.description.format(n=number)))
    return points


def wire_points(rng: random.Random, inputs: int, outputs: int) -> tuple[list[WiredPoint], list[WiredPoint]]:
    """The signals for `inputs` wired DI points and `outputs` wired DO points, in wiring order."""
    panel_in = min(len(PANEL_INPUTS), inputs)
    panel_out = min(len(PANEL_OUTPUTS), outputs)
    di = _panel_points(PANEL_INPUTS, panel_in) + _conveyor_points(
        rng, CONVEYOR_INPUTS, CONVEYOR_INPUTS_CORE, inputs - panel_in
    )
    do = _panel_points(PANEL_OUTPUTS, panel_out) + _conveyor_points(
        rng, CONVEYOR_OUTPUTS, CONVEYOR_OUTPUTS_CORE, outputs - panel_out
    )
    return di, do
