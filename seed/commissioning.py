"""How far commissioning got before the run: results, comments, versions and times.

Every time is derived from the seed, never from the wall clock, so the files are
reproducible. The starting point is an import of the IO list (version 1); each
mark since then bumped the version, exactly as the cloud would have.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from seed.model import Io

RESULTS_LOW, RESULTS_HIGH = 490, 510
FAILED_SHARE = 0.14
CLEARED_LOW, CLEARED_HIGH = 8, 16

_EARLIEST_IMPORT = datetime(2026, 9, 1, 5, 30, tzinfo=UTC)

_FAILED_COMMENTS: tuple[str, ...] = (
    "No feedback when motor started, check wiring at TB{tb}",
    "Signal inverted: NC contact wired as NO",
    "Reflector not installed yet, photo-eye cannot be tested",
    "Wired to wrong terminal, swapped with the adjacent point",
    "Intermittent, loose ferrule at TB{tb}",
    "No 24VDC at the field device, fuse F{fuse} blown",
    "Device not installed yet",
    "Switch damaged, replacement on order",
    "Beacon does not light, LED stack failed",
    "Solenoid coil open circuit (meter reads OL)",
    "Field label does not match drawing, needs redline",
    "Output energises the wrong device, check drawing revision",
    "Point stays on with device unplugged, suspect short in cable",
    "Cable not terminated at the field end",
)

_PASSED_NOTES: tuple[str, ...] = (
    "Verified at field device",
    "Checked with meter, 24VDC present",
    "Forced from HMI, device responded",
    "OK",
)
_PASSED_NOTE_SHARE = 0.12

_TECHNICIANS: tuple[str, ...] = ("JM", "RK", "AS", "DT", "LP")


def iso_utc(moment: datetime) -> str:
    """The contract's wire format: UTC, milliseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _import_time(rng: random.Random) -> datetime:
    return _EARLIEST_IMPORT + timedelta(days=rng.randint(0, 90), minutes=rng.randint(0, 59))


def _shift_time(rng: random.Random, imported: datetime) -> datetime:
    """A moment during a day shift (06:00-18:00 UTC) in the three weeks after the import."""
    day = (imported + timedelta(days=rng.randint(1, 21))).replace(hour=6, minute=0, second=0, microsecond=0)
    return day + timedelta(seconds=rng.randint(0, 12 * 3600 - 1), milliseconds=rng.randint(0, 999))


def _failed_comment(rng: random.Random) -> str:
    text = rng.choice(_FAILED_COMMENTS).format(tb=rng.randint(1, 40), fuse=rng.randint(1, 24))
    return f"{text} - {rng.choice(_TECHNICIANS)}"


def _passed_comment(rng: random.Random) -> str:
    return rng.choice(_PASSED_NOTES) if rng.random() < _PASSED_NOTE_SHARE else ""


def apply_history(rng: random.Random, ios: list[Io]) -> list[Io]:
    """Return `ios` with the commissioning progress applied.

    Only wired points get results: a SPARE is never Passed, and nobody tests a spare.
    A few points were marked and later cleared (NULL result, version > 2).
    """
    imported = iso_utc(_import_time(rng))
    imported_at = datetime.fromisoformat(imported.replace("Z", "+00:00"))
    history = [replace(io, version=1, result=None, comments="", updatedAt=imported) for io in ios]

    wired = [index for index, io in enumerate(history) if not io.isSpare]
    chosen = rng.sample(wired, rng.randint(RESULTS_LOW, RESULTS_HIGH))
    for index in sorted(chosen):
        failed = rng.random() < FAILED_SHARE
        history[index] = replace(
            history[index],
            result="Failed" if failed else "Passed",
            comments=_failed_comment(rng) if failed else _passed_comment(rng),
            version=rng.choices((2, 3, 4), weights=(70, 22, 8))[0],
            updatedAt=iso_utc(_shift_time(rng, imported_at)),
        )

    untouched = sorted(set(wired) - set(chosen))
    for index in sorted(rng.sample(untouched, rng.randint(CLEARED_LOW, CLEARED_HIGH))):
        history[index] = replace(
            history[index],
            version=rng.choice((3, 4)),
            updatedAt=iso_utc(_shift_time(rng, imported_at)),
        )
    return history
