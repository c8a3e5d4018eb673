"""The whole local backend, end to end on loopback: a short s2 run, then `judge` from artifacts alone."""

import json
import os
import subprocess
import sys

import pytest


def run_battle(args, env_extra, cwd, timeout=600):
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", "battle", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.timeout(900)
def test_short_s2_run_judges_a_real_download_and_judge_reproduces_it(tmp_path):
    runs = tmp_path / "runs"
    done = run_battle(["run", "--backend", "local", "--scenario", "s2", "--minutes", "1.5", "--runs-dir",
                       str(runs), "--run-id", "it-s2"], {"WARMUP_S": "20", "BOTS": "4"}, tmp_path)
    run_dir = runs / "it-s2"
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert done.returncode == verdict["exitCode"], done.stdout + done.stderr
    assert verdict["verdict"] in ("pass", "inconclusive"), done.stdout
    results = {r["id"]: r for r in verdict["results"]}
    assert results["I3"]["status"] == "pass" and results["I3"]["evidence"] >= 1
    assert results["I4"]["evidence"] > 0 and results["I4"]["status"] == "pass"
    assert verdict["coverage"]["download"]["applied"] == verdict["coverage"]["download"]["restored"] >= 1
    for name in ("manifest.json", "plan.json", "injected.jsonl", "health.csv", "memory.csv", "events.jsonl",
                 "snapshot-local.json", "snapshot-cloud.json", "junit.xml", "journal-bot0.jsonl",
                 "plc-readback.jsonl", "logs/tool.log"):
        assert (run_dir / name).exists(), name
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["knobSources"]["WARMUP_S"] == "env" and manifest["knobSources"]["DOWNLOAD_STORM"] == "scenario"
    rejudged = run_battle(["judge", str(run_dir), "--dry-run"], {}, tmp_path, timeout=120)
    assert rejudged.returncode == verdict["exitCode"]
    assert f"verdict: {verdict['verdict'].upper()}" in rejudged.stdout


@pytest.mark.parametrize("env, flag", [({"SCENARIO": "nope"}, "SCENARIO"), ({"DOWNLOAD_STORM": "abc"}, "DOWNLOAD_STORM"),
                                       ({"SOAK_MINUTES": "-1"}, "SOAK_MINUTES")])
def test_bad_knob_stops_the_run_before_anything_starts(tmp_path, env, flag):
    done = run_battle(["run", "--backend", "local", "--runs-dir", str(tmp_path / "runs")], env, tmp_path, 60)
    assert done.returncode == 2
    assert flag in done.stderr
    assert not (tmp_path / "runs").exists()
