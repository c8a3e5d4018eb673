""".gitlab-ci.yml: valid for GitLab (check-jsonschema's vendored schema, no network), and the jobs
the nightly and the smoke need: schedules, timeouts, DinD, artifacts kept, JUnit reports — and a
smoke whose plan really downloads (a smoke that injects nothing passes I3 on zero evidence)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from battle.chaos.plan import generate_plan
from battle.config import resolve
from battle.gating import decide

REPO = Path(__file__).resolve().parents[2]
CI_FILE = REPO / ".gitlab-ci.yml"


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    return yaml.safe_load(CI_FILE.read_text(encoding="utf-8"))


def check_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci",
                           "--data-transform", "gitlab-ci", str(path)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_valid_against_gitlabs_schema():
    done = check_schema(CI_FILE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_can_fail(tmp_path):
    broken = tmp_path / ".gitlab-ci.yml"
    text = CI_FILE.read_text(encoding="utf-8").replace("when: manual", "when: whenever")
    broken.write_text(text, encoding="utf-8")
    assert check_schema(broken).returncode != 0


def job(ci: dict[str, Any], name: str) -> dict[str, Any]:
    """A job with its `extends:` template merged in (one level, as this file uses it)."""
    body = dict(ci[name])
    base = ci.get(body.pop("extends", ""), {})
    merged = {**base, **body}
    merged["variables"] = {**base.get("variables", {}), **body.get("variables", {})}
    return merged


def test_tests_job_runs_every_tier(ci):
    assert ci["tests"]["script"] == ["sh ci/test.sh"]


@pytest.mark.parametrize("name", ["nightly-battle", "battle-smoke"])
def test_battle_jobs_run_the_stack_on_dind_and_keep_artifacts(ci, name):
    body = job(ci, name)
    assert body["script"] == ["sh ci/run_scenario.sh"]
    assert any(str(s.get("name", s)).startswith("docker:") and "dind" in str(s.get("name", s))
               for s in body["services"])
    assert body["variables"]["DOCKER_HOST"] == "tcp://docker:2375"
    artifacts = body["artifacts"]
    assert artifacts["when"] == "always" and artifacts["expire_in"] == "30 days"
    assert artifacts["reports"]["junit"] == "battle-artifacts/*/junit.xml"
    assert "battle-artifacts/" in artifacts["paths"]


def test_nightly_is_the_full_scenario_on_schedules(ci):
    body = job(ci, "nightly-battle")
    assert body["variables"]["SCENARIO"] == "all" and body["variables"]["SOAK_MINUTES"] == "480"
    assert body["timeout"] == "9h"
    assert body["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    resolve({k: str(v) for k, v in body["variables"].items()})  # its knobs are valid


def test_smoke_is_manual_or_asked_for(ci):
    rules = job(ci, "battle-smoke")["rules"]
    assert {"if": '$RUN_SMOKE == "1"'} in rules
    assert any(rule.get("when") == "manual" for rule in rules)


def test_smoke_really_injects_its_faults(ci):
    variables = {k: str(v) for k, v in job(ci, "battle-smoke")["variables"].items()}
    config = resolve(variables)
    downloads = [f for f in generate_plan(config).faults if f.kind == "download"]
    assert "I3" in decide(config, generate_plan(config)).gates
    assert len(downloads) >= 2, f"a {config.minutes:g}-minute smoke plans only {len(downloads)} download(s)"
