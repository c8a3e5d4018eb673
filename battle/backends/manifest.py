"""The run manifest: identity, resolved knobs, limits, the gate decision, and the times of each phase."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from battle.adapters.registry import choose_adapter
from battle.common.jsonl import write_json_atomic
from battle.common.timefmt import iso_utc
from battle.config import RunConfig
from battle.gating import GateDecision

MANIFEST_SCHEMA = 1


def new_run_id(config: RunConfig, clock: float | None = None) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(clock if clock is not None else time.time()))
    return f"{config.scenario}-{stamp}-s{config.seed}"


def git_commit(repo: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def build_manifest(config: RunConfig, run_id: str, backend: str, started: float, decision: GateDecision,
                   images: dict[str, str] | None = None, repo: Path | None = None) -> dict[str, Any]:
    """`gates` are the final gating ids; `demoted` ({id: {reason, cause}}) and `feasibility` say why the
    others only report (battle/gating.py). The judge reads `gates` and `demoted` from here."""
    limits = {name: (list(v) if isinstance(v, tuple) else v) for name, v in config.limits().items()}
    resolved = config.to_manifest()
    return {
        "schema": MANIFEST_SCHEMA,
        "runId": run_id,
        "backend": backend,
        "scenario": config.scenario,
        "description": config.description,
        "seed": config.seed,
        "minutes": config.minutes,
        "bots": config.bots,
        # which adapter reached the system under test: the knob's text, the class it resolved to, its name
        "adapter": choose_adapter(str(config.value("SUT_ADAPTER"))).to_manifest(),
        **decision.to_manifest(),
        "limits": limits,
        "knobs": {name: entry["value"] for name, entry in resolved["knobs"].items()},
        "knobSources": {name: entry["source"] for name, entry in resolved["knobs"].items()},
        "startedAt": iso_utc(started),
        "times": {},
        "gitCommit": git_commit(repo) if repo else None,
        "images": images or {},
        "notes": [],
        "errors": [],
    }


class ManifestFile:
    """The manifest on disk, rewritten atomically whenever a phase is recorded."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data
        self.save()

    def save(self) -> None:
        write_json_atomic(self.path, self.data)

    def mark(self, phase: str, when: float | None = None) -> None:
        self.data["times"][phase] = iso_utc(when if when is not None else time.time())
        self.save()

    def update(self, **fields: Any) -> None:
        self.data.update(fields)
        self.save()
