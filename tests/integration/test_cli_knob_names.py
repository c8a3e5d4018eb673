"""`python -m battle` as a real process: a misspelt knob warns (exit 0), STRICT_KNOBS=1 refuses it (exit 2)
before a run dir exists, and a value above a knob's upper bound is exit 2 with no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from battle.config import load_catalogue, meant_knobs

REPO = Path(__file__).resolve().parents[2]


def _battle(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    knobs = tuple(load_catalogue().knobs)
    base = {k: v for k, v in os.environ.items() if k not in knobs and not meant_knobs(k, knobs)}
    return subprocess.run([sys.executable, "-m", "battle", *args], cwd=tmp_path, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def test_a_misspelt_knob_warns_and_strict_knobs_refuses_the_run(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(REPO), "SOAK_MINUTE": "5"}
    warned = _battle(tmp_path, "validate", **env)
    assert warned.returncode == 0, warned.stderr
    assert "battle: warning: SOAK_MINUTE='5' (from the environment) is not a knob and is ignored: did you mean " \
           "SOAK_MINUTES?" in warned.stderr
    refused = _battle(tmp_path, "run", "--backend", "local", "--runs-dir", str(tmp_path / "runs"),
                      STRICT_KNOBS="1", **env)
    assert refused.returncode == 2 and "STRICT_KNOBS is on" in refused.stderr, refused.stderr
    assert not (tmp_path / "runs").exists()


def test_a_value_above_the_upper_bound_is_exit_2_without_a_traceback(tmp_path: Path) -> None:
    done = _battle(tmp_path, "plan", "--scenario", "all", PYTHONPATH=str(REPO), SOAK_MINUTES="1e9")
    assert done.returncode == 2 and done.stdout == ""
    assert "SOAK_MINUTES='1e9' (from the environment): expected a number > 0 and ≤ 10080" in done.stderr
    assert "Traceback" not in done.stderr
