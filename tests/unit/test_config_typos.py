"""A variable that looks like a misspelt knob is warned about (STRICT_KNOBS=1: refused) before anything starts."""

from __future__ import annotations

import json

import pytest

from battle import cli
from battle.backends.docker_env import STACK_VARS
from battle.config import NOT_KNOBS, ConfigError, load_catalogue, meant_knobs, misspelt_knobs, resolve_checked

KNOBS = tuple(load_catalogue().knobs)

# Every variable the harness itself reads or sets that is not a knob (README.md, ci/, docker-compose.battle.yml,
# battle/): none of them may pass for a misspelt knob.
HARNESS_VARS = """BATTLE_ARTIFACTS BATTLE_BUILD_DIR BATTLE_GIT_COMMIT BATTLE_IMAGES BATTLE_IMAGE_SOURCE
BATTLE_KNOB_SOURCES BATTLE_OBSERVER_GRACE_S BATTLE_PYTHON BATTLE_RUNS_DIR CHAOS_HOST CHAOS_LEDGER_FILE
CHAOS_NETWORK CHAOS_PLAN_FILE CHAOS_PLAN_START CHAOS_PORT CHAOS_PROXY_URL CHAOS_TOKEN CHAOS_URL CLOUD_API_KEY
CLOUD_API_KEYS CLOUD_DATABASE_URL CLOUD_HOST CLOUD_IMAGE CLOUD_SEED_FILE CLOUD_SQLITE_PATH COMPOSE
COMPOSE_PROJECT_NAME DEBIAN_MIRROR DEBIAN_SUITE DOCKER_HOST DOCKER_SOCKET HARNESS_IMAGE HOST_PYTHON PLC_DELAY_FILE
PLC_HOST PLC_PORT PLC_SIM_IMAGE PLC_TAGS_FILE POSTGRES_IMAGE PROXY_HOST PROXY_UPSTREAM RUNS_DIR RUN_ID SEED_DIR
TOOL_IMAGE PYTHON VENV TIERS""".split()
SHELL_VARS = """PATH HOME USER SHELL PWD OLDPWD TERM LANG TZ TMPDIR HOSTNAME LOGNAME DISPLAY EDITOR PAGER MAIL SHLVL
COLUMNS LINES PYTHONPATH PYTHONDONTWRITEBYTECODE VIRTUAL_ENV CI CI_JOB_ID CI_COMMIT_SHA GITLAB_CI
GITLAB_USER_LOGIN DOCKER_CONFIG LC_ALL""".split()


@pytest.mark.parametrize("name, meant", [
    ("SOAK_MINUTE", ["SOAK_MINUTES"]),  # a letter missing
    ("SOAK_MIUNTES", ["SOAK_MINUTES"]),  # two letters swapped
    ("MINUTES_SOAK", ["SOAK_MINUTES"]),  # the words in another order
    ("SOAKMINUTES", ["SOAK_MINUTES"]),  # an underscore missing
    ("SOAK__MINUTES", ["SOAK_MINUTES"]),  # an underscore extra
    ("LINKSHAPE_LATENCY", ["LINKSHAPE_LATENCY_MS"]),  # the unit left off
    ("MUTATE_PERIOD_S", ["MUTATE_PERIOD_SEC"]),
    ("POWER_DOWN_MS", ["POWER_DOWN_S"]),
    ("STRICT_KNOB", ["STRICT_KNOBS"]),
    ("BATTLE_SUT_BUG", ["BATTLE_SUT_BUGS"]),
    ("SEEDS", ["SEED"]),  # a short knob: one edit at most
    ("BOT", ["BOTS"]),
    ("P59_MS", ["P95_MS", "P99_MS"]),  # as close to two knobs: both named
    ("SEEDLING", []),
    ("POWER", []),  # the start of two knobs: not a guess worth making
    ("CLOUD", []),
])
def test_what_counts_as_a_misspelt_knob(name, meant):
    assert meant_knobs(name, KNOBS) == meant


def test_the_harness_and_shell_variables_never_pass_for_a_misspelt_knob():
    env = {name: "x" for name in (*HARNESS_VARS, *STACK_VARS, *SHELL_VARS)}
    assert misspelt_knobs(env) == []


def test_only_knob_like_names_are_checked():
    assert misspelt_knobs({"soak_minute": "5", "Soak_Minute": "5", "SOAK-MINUTE": "5", "SOAK_MINUTES": "5"}) == []


def test_the_ignore_list_is_small_and_holds_no_knob():
    assert len(NOT_KNOBS) < 60
    assert not set(NOT_KNOBS) & set(KNOBS)
    assert not [k for k in KNOBS for p in NOT_KNOBS if p.endswith("*") and k.startswith(p[:-1])]


def test_a_misspelt_knob_is_a_warning_naming_the_knob_meant():
    said: list[str] = []
    config = resolve_checked({"SOAK_MINUTE": "5", "PATH": "/bin", "HOME": "/root"}, warn=said.append)
    assert config.minutes == 30  # the misspelt variable is ignored: the default stands
    assert said == ["warning: SOAK_MINUTE='5' (from the environment) is not a knob and is ignored: did you mean "
                    "SOAK_MINUTES? (STRICT_KNOBS=1 makes this an error)"]


def test_strict_knobs_makes_a_misspelt_knob_a_configuration_error():
    said: list[str] = []
    with pytest.raises(ConfigError) as err:
        resolve_checked({"SOAK_MINUTE": "5", "STRICT_KNOBS": "1"}, warn=said.append)
    assert err.value.problems == ("SOAK_MINUTE='5' (from the environment) is not a knob and is ignored: did you "
                                  "mean SOAK_MINUTES?",)
    assert "STRICT_KNOBS is on" in str(err.value) and said == []
    assert resolve_checked({"STRICT_KNOBS": "1", "PATH": "/bin"}, warn=said.append).value("STRICT_KNOBS") is True


def test_a_misspelt_knob_is_still_said_when_another_knob_is_bad():
    said: list[str] = []
    with pytest.raises(ConfigError, match="BOTS='many'"):
        resolve_checked({"BOTS": "many", "SEEDS": "4"}, warn=said.append)
    assert said == ["warning: SEEDS='4' (from the environment) is not a knob and is ignored: did you mean SEED?"]


# ---------------------------------------------------------------- validate, plan, run, compose-env


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Only what a test sets: no knob (or knob-like variable) leaks in from the shell running the tests."""
    import os

    for name in list(os.environ):
        if name in KNOBS or meant_knobs(name, KNOBS):
            monkeypatch.delenv(name, raising=False)


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", [["validate"], ["plan"]])
def test_validate_and_plan_warn_about_a_misspelt_knob(capsys, monkeypatch, command):
    monkeypatch.setenv("SOAK_MINUTE", "5")
    monkeypatch.setenv("HOME", "/home/someone")
    code, out, err = run_cli(capsys, *command)
    assert code == 0 and out
    assert ("battle: warning: SOAK_MINUTE='5' (from the environment) is not a knob and is ignored: did you mean "
            "SOAK_MINUTES? (STRICT_KNOBS=1 makes this an error)") in err.splitlines()
    assert "HOME" not in err and "PATH" not in err


def test_validate_says_nothing_about_ordinary_variables(capsys, monkeypatch):
    for name in ("PATH", "HOME", "RUN_ID", "COMPOSE", "DOCKER_HOST", "CI_JOB_ID", "PYTHONPATH"):
        monkeypatch.setenv(name, "x" if name != "PATH" else "/usr/bin:/bin")
    code, out, err = run_cli(capsys, "validate")
    assert code == 0 and json.loads(out)["ok"] is True
    assert "warning" not in err


@pytest.mark.parametrize("command", [["validate"], ["plan"]])
def test_strict_knobs_stops_validate_and_plan_with_exit_2(capsys, monkeypatch, command):
    monkeypatch.setenv("SOAK_MINUTE", "5")
    monkeypatch.setenv("STRICT_KNOBS", "1")
    code, out, err = run_cli(capsys, *command)
    assert code == 2 and out == ""
    assert "bad configuration, nothing started" in err
    assert "SOAK_MINUTE='5' (from the environment) is not a knob and is ignored: did you mean SOAK_MINUTES?" in err
    assert "STRICT_KNOBS is on" in err and "battle: warning" not in err


@pytest.fixture
def no_stack(monkeypatch):
    import battle.backends.local as local

    def never(*args, **kwargs):
        raise AssertionError("the stack must not be built")

    monkeypatch.setattr(local, "build_local_stack", never)


@pytest.mark.parametrize("env, says", [
    ({"BOTS": "lots"}, "BOTS='lots' (from the environment): expected an integer between 1 and 256"),
    ({"SOAK_MINUTES": "1e9"}, "SOAK_MINUTES='1e9' (from the environment): expected a number > 0 and ≤ 10080"),
    ({"SOAK_MINUTE": "5", "STRICT_KNOBS": "1"}, "did you mean SOAK_MINUTES?"),
    ({"STRICT_KNOBS": "maybe"}, "STRICT_KNOBS='maybe' (from the environment): expected true or false"),
])
def test_run_refuses_a_bad_knob_before_a_run_dir_exists(capsys, monkeypatch, tmp_path, no_stack, env, says):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runs = tmp_path / "runs"
    runs.mkdir()
    code, out, err = run_cli(capsys, "run", "--backend", "local", "--runs-dir", str(runs), "--run-id", "bad")
    assert code == 2 and says in err and "nothing started" in err
    assert list(runs.iterdir()) == []


def test_run_warns_about_a_misspelt_knob_before_anything_starts(capsys, monkeypatch, tmp_path, no_stack):
    monkeypatch.setenv("SOAK_MINUTE", "5")
    code, out, err = run_cli(capsys, "run", "--backend", "local", "--minutes", "4", "--runs-dir",
                             str(tmp_path / "runs"), "--run-id", "typo")
    assert "battle: warning: SOAK_MINUTE='5' (from the environment) is not a knob" in err.splitlines()[0]
    assert code == 2  # the stack refused by the fixture: an error verdict, after the warning


@pytest.fixture
def host_tools(monkeypatch):
    import battle.backends.docker_env as docker_env
    import battle.backends.manifest as manifest

    monkeypatch.setattr(docker_env, "image_ids", lambda env: {})
    monkeypatch.setattr(manifest, "git_commit", lambda repo: "abc123")


def test_compose_env_warns_about_a_misspelt_knob(capsys, monkeypatch, host_tools):
    monkeypatch.setenv("MINUTES_SOAK", "5")
    code, out, err = run_cli(capsys, "compose-env")
    assert code == 0 and "export SOAK_MINUTES=30" in out.replace("'", "")
    assert ("[battle] warning: MINUTES_SOAK='5' (from the environment) is not a knob and is ignored: did you mean "
            "SOAK_MINUTES?") in err


def test_compose_env_under_strict_knobs_exports_nothing(capsys, monkeypatch, host_tools):
    monkeypatch.setenv("LINKSHAPE_LATENCY", "900")
    monkeypatch.setenv("STRICT_KNOBS", "true")
    code, out, err = run_cli(capsys, "compose-env")
    assert code == 2 and out == ""
    assert "LINKSHAPE_LATENCY='900' (from the environment) is not a knob and is ignored: did you mean " \
           "LINKSHAPE_LATENCY_MS?" in err
