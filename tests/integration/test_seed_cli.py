"""`python -m seed generate` as a real process: output, cross-process determinism, usage errors (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FILES = ("tool.db", "cloud_seed.json", "plc_tags.json", "summary.json")


def _run(*args: str, hash_seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run([sys.executable, "-m", "seed", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def test_generate_writes_the_four_files_and_prints_the_summary(tmp_path: Path) -> None:
    done = _run("generate", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(FILES)
    summary = json.loads(done.stdout)
    assert summary == json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["seed"] == 1 and summary["ios"] == 1184 and summary["vfds"] == 72


def test_two_processes_write_identical_bytes_whatever_the_hash_salt(tmp_path: Path) -> None:
    first = _run("generate", "--out", str(tmp_path / "a"), "--seed", "5", hash_seed="1")
    second = _run("generate", "--out", str(tmp_path / "b"), "--seed", "5", hash_seed="987")
    other = _run("generate", "--out", str(tmp_path / "c"), "--seed", "6")
    assert first.returncode == second.returncode == other.returncode == 0
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes(), name


@pytest.mark.parametrize("seed", ["abc", "1.5", "-3", ""])
def test_a_bad_seed_exits_2_naming_the_argument_and_the_form(tmp_path: Path, seed: str) -> None:
    done = _run("generate", "--out", str(tmp_path / "out"), "--seed", seed)
    assert done.returncode == 2
    assert "--seed" in done.stderr and "non-negative integer" in done.stderr
    assert not (tmp_path / "out").exists()


def test_an_unwritable_out_exits_2_naming_the_argument_and_the_form(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = _run("generate", "--out", str(blocker / "out"))
    assert done.returncode == 2
    assert "--out" in done.stderr and "writable directory" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_out_exits_2() -> None:
    done = _run("generate")
    assert done.returncode == 2
    assert "--out" in done.stderr
