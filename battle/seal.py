"""The evidence seal: at the end of a run, every artifact the verdict rests on, with its line count,
size and sha256, recorded in manifest.json; `battle judge` verifies it before it believes a file.

Which artifacts a run must have follows from its manifest and plan alone (`expected_artifacts`), so
an unsealed run dir (a killed run) is still checked for missing files. A file that is missing, a
symlink, shorter than sealed (truncated) or different (altered) is a problem named by file; the
judges that depend on it become errors, never pass or fail (battle/judging.py).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEAL_SCHEMA = 1
_CHUNK = 1 << 20

# Artifacts every run writes, whatever its scenario.
ALWAYS = ("plan.json", "health.csv", "memory.csv", "events.jsonl", "settle.json",
          "snapshot-local.json", "snapshot-cloud.json", "snapshot-queue.json")


def journal_name(bot: int) -> str:
    return f"journal-bot{bot}.jsonl"


# A run dir without manifest `recordKinds` predates record kinds: it judged the IO alone.
LEGACY_RECORD_KINDS = ("io",)


def snapshot_name(side: str, kind: str, kinds: tuple[str, ...]) -> str:
    """`snapshot-<side>.json` for the run's first record kind (as before kinds), else `snapshot-<side>.<kind>.json`."""
    return f"snapshot-{side}.json" if kind == kinds[0] else f"snapshot-{side}.{kind}.json"


def record_kinds_of(manifest: Mapping[str, Any]) -> tuple[str, ...]:
    """The run's record kinds as its manifest recorded them (absent or unusable: the IO alone)."""
    kinds = manifest.get("recordKinds")
    if isinstance(kinds, list) and kinds and all(isinstance(k, str) and k for k in kinds):
        return tuple(kinds)
    return LEGACY_RECORD_KINDS


@dataclass(frozen=True)
class RunShape:
    """What a run was asked to do, as far as its artifacts go (read from manifest.json and plan.json)."""

    bots: int
    backend: str  # local | docker
    planned_faults: int
    planned_tag_resets: int  # faults whose kind declares resets_tags: each gets a PLC read-back
    mutator: bool
    record_kinds: tuple[str, ...] = LEGACY_RECORD_KINDS  # the first kind's snapshots are in ALWAYS


def expected_artifacts(shape: RunShape) -> tuple[str, ...]:
    names = [*ALWAYS, *(journal_name(b) for b in range(shape.bots))]
    names += [snapshot_name(side, kind, shape.record_kinds)
              for kind in shape.record_kinds[1:] for side in ("local", "cloud")]
    if shape.planned_faults:
        names.append("injected.jsonl")
    if shape.planned_tag_resets:
        names.append("plc-readback.jsonl")
    if shape.mutator:
        names.append("mutations.jsonl")
    if shape.backend == "docker":
        names.append("docker-events.jsonl")
    return tuple(sorted(names))


@dataclass(frozen=True)
class FileSeal:
    lines: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"lines": self.lines, "bytes": self.bytes, "sha256": self.sha256}


def is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


APPEND_ONLY = (".jsonl", ".csv")  # logs that may grow after the seal (probing goes on while judging)


def measure_limit(name: str, size: int, want: Any) -> int | None:
    """How much of an artifact `verify` measures: an append-only log that grew keeps its sealed prefix."""
    sealed_size = want.get("bytes") if isinstance(want, Mapping) else None
    if name.endswith(APPEND_ONLY) and isinstance(sealed_size, int) and size >= sealed_size:
        return sealed_size
    return None


def measure(path: Path, limit: int | None = None) -> FileSeal:
    """Line count, size and sha256 of a regular file (of its first `limit` bytes), never following a symlink."""
    digest, lines, size = hashlib.sha256(), 0, 0
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(_CHUNK if limit is None else min(_CHUNK, limit - size)):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            size += len(chunk)
    return FileSeal(lines, size, digest.hexdigest())


def seal(run_dir: Path, expected: Iterable[str], sealed_at: str) -> dict[str, Any]:
    """The seal block for manifest.json: every expected artifact measured, or listed as missing."""
    artifacts: dict[str, Any] = {}
    missing = []
    for name in sorted(expected):
        path = run_dir / name
        if is_link(path) or not path.is_file():
            missing.append(name)
            continue
        artifacts[name] = measure(path).to_dict()
    return {"schema": SEAL_SCHEMA, "sealedAt": sealed_at, "artifacts": artifacts, "missing": missing}


@dataclass(frozen=True)
class SealCheck:
    sealed: bool  # the manifest carried a seal (False: a killed run, judged as far as its files allow)
    problems: Mapping[str, str] = field(default_factory=dict)  # artifact -> what is wrong with it

    def lines(self) -> list[str]:
        return [f"{name}: {problem}" for name, problem in sorted(self.problems.items())]


SEAL_FORM = "{schema, sealedAt, artifacts: {name: {lines, bytes, sha256}}, missing: [names]}"


def _malformed(sealed: Any) -> str | None:
    """Why a manifest's seal block cannot be read (None: it can)."""
    if not isinstance(sealed, Mapping):
        return f"is a JSON {type(sealed).__name__}"
    if not isinstance(sealed.get("artifacts"), Mapping):
        return f"has artifacts {sealed.get('artifacts')!r:.60}"
    if not isinstance(sealed.get("missing", []), list):
        return f"has missing {sealed.get('missing')!r:.60}"
    return None


def seal_limits(run_dir: Path, names: Iterable[str], sealed: Any) -> dict[str, int | None]:
    """Of `names`, those `verify` will measure, with how much of each (see `measure_limit`): so a reader of the
    file can measure the bytes it reads, once (battle.observer.gather)."""
    if sealed is None or _malformed(sealed) is not None:
        return {}
    limits = {}
    for name in names:
        want = sealed["artifacts"].get(name)
        path = run_dir / name
        if isinstance(want, Mapping) and not is_link(path) and path.is_file():
            limits[name] = measure_limit(name, path.stat().st_size, want)
    return limits


def measure_all(run_dir: Path, limits: Mapping[str, int | None]) -> dict[str, FileSeal]:
    """Measure each named artifact (its first N bytes; None: all), skipping any that cannot be read now."""
    measured = {}
    for name, limit in limits.items():
        try:
            measured[name] = measure(run_dir / name, limit)
        except OSError:
            continue  # verify measures it again and says what is wrong
    return measured


def verify(run_dir: Path, expected: Iterable[str], sealed: Any,
           measured: Mapping[str, FileSeal] | None = None) -> SealCheck:
    """Compare the run dir with its seal (or, unsealed, with what the run must have). A seal that is not what
    `seal` writes vouches for nothing: every artifact is then a problem, and so is manifest.json.
    `measured`: artifacts already measured (as `seal_limits` says) by whoever read them."""
    problems: dict[str, str] = {}
    if sealed is not None and (why := _malformed(sealed)) is not None:
        problems["manifest.json"] = f"its seal {why}, expected {SEAL_FORM}: no artifact can be verified"
        for name in sorted(set(expected)):
            problems[name] = "cannot be verified: the seal in manifest.json is malformed"
        return SealCheck(sealed=True, problems=problems)
    recorded = dict(sealed["artifacts"]) if sealed is not None else {}
    missing_at_seal = {str(n) for n in sealed.get("missing", [])} if sealed is not None else set()
    for name in sorted(set(expected) | set(recorded)):
        path = run_dir / name
        if is_link(path):
            problems[name] = "is a symlink; input artifacts must be regular files in the run dir (refused)"
            continue
        if not path.is_file():
            problems[name] = ("missing (already missing when the run was sealed)" if name in missing_at_seal
                              else "is not a regular file (refused)" if path.exists() else "missing")
            continue
        want = recorded.get(name)
        if want is not None and not isinstance(want, Mapping):
            problems[name] = (f"its seal entry in manifest.json is {want!r:.40}, expected {{lines, bytes, sha256}}: "
                              "it cannot be verified")
            continue
        if want is None:
            if sealed is not None and name not in missing_at_seal:
                problems[name] = "not in the seal: the run did not vouch for it"
            elif name in missing_at_seal:
                problems[name] = "appeared after the run was sealed (it was missing then)"
            continue
        limit = measure_limit(name, path.stat().st_size, want)  # an append-only log: the sealed part must be its prefix
        got = (measured or {}).get(name)
        if got is None or got.bytes != (limit if limit is not None else path.stat().st_size):
            got = measure(path, limit=limit)
        if not _matches(want, got):
            problems[name] = _difference(want, got)
    return SealCheck(sealed=sealed is not None, problems=problems)


def _matches(want: Mapping[str, Any], got: FileSeal) -> bool:
    return want.get("sha256") == got.sha256 and want.get("bytes") == got.bytes


def _difference(want: Mapping[str, Any], got: FileSeal) -> str:
    size, lines = want.get("bytes"), want.get("lines")
    if isinstance(size, int) and got.bytes < size:
        now = f"{got.bytes} bytes / {got.lines} lines now, {size} bytes / {lines} lines when sealed"
        if isinstance(lines, int) and got.lines >= lines:  # as many lines, fewer bytes: edited, not cut short
            return f"altered since the run sealed it (shorter: {now})"
        return f"truncated: {now}"
    return f"altered since the run sealed it (sha256 {got.sha256[:12]}…, sealed {str(want.get('sha256'))[:12]}…)"
