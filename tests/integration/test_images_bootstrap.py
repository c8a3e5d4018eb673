"""ci/bootstrap_images.sh against the real Docker engine: a second run reuses
everything, caller overrides win, and every image it names actually starts.

The bootstrap runs on a frozen copy of the sources, so an edit someone makes
in the checkout while this runs cannot pass for a rebuild. Tags are content
hashes, so that copy reuses whatever an earlier step of the same CI job built;
with no images at all the first run builds them (a few minutes) and says so.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass

import pytest

pytestmark = pytest.mark.timeout(1800)

REPO = pathlib.Path(__file__).resolve().parents[2]
COPIED = ("ci", "docker", "pyproject.toml", "battle", "sut", "seed")
IMAGE_VARS = ("HARNESS_IMAGE", "TOOL_IMAGE", "CLOUD_IMAGE", "PLC_SIM_IMAGE", "POSTGRES_IMAGE")
STEPS = (
    "engine",
    "source",
    "base",
    "postgres",
    "wheelhouse",
    "pydeps",
    "harness",
    "tool",
    "cloud",
    "plcsim",
    "env",
)
WARM_RUN_MAX_S = 30.0
STEP_LINE = re.compile(r"^\[bootstrap\] <- (?P<step>\S+): (?P<outcome>.*) \((?P<seconds>[\d.]+) s\)$")


@dataclass(frozen=True)
class BootstrapRun:
    returncode: int
    output: str
    seconds: float
    outcomes: dict[str, str]
    images: dict[str, str]


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


def engine_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker CLI on PATH"
    try:
        docker("version", "--format", "{{.Server.Version}}", timeout=20)
    except (subprocess.SubprocessError, OSError) as error:
        return f"no Docker engine answers ({error})"
    return None


def read_env_file(path: pathlib.Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def run_bootstrap(checkout: pathlib.Path, **overrides: str) -> BootstrapRun:
    env = {key: value for key, value in os.environ.items() if key not in IMAGE_VARS}
    env["BATTLE_BUILD_DIR"] = str(checkout / "build")
    env.update(overrides)
    started = time.monotonic()
    done = subprocess.run(
        ["sh", "ci/bootstrap_images.sh"], cwd=checkout, env=env, capture_output=True, text=True, timeout=1700
    )
    seconds = time.monotonic() - started
    output = done.stdout + done.stderr
    outcomes = {}
    for line in output.splitlines():
        match = STEP_LINE.match(line)
        if match:
            outcomes[match["step"]] = match["outcome"]
    env_file = checkout / "build" / "images.env"
    images = read_env_file(env_file) if done.returncode == 0 and env_file.exists() else {}
    return BootstrapRun(done.returncode, output, seconds, outcomes, images)


@pytest.fixture(scope="module")
def frozen_checkout(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    problem = engine_problem()
    if problem:
        pytest.skip(f"image bootstrap needs a Docker engine: {problem}")
    checkout = tmp_path_factory.mktemp("images-checkout")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*_cache")
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, checkout / name, ignore=ignore)
        else:
            shutil.copy2(source, checkout / name)
    return checkout


@pytest.fixture(scope="module")
def first_run(frozen_checkout: pathlib.Path, pytestconfig: pytest.Config) -> BootstrapRun:
    run = run_bootstrap(frozen_checkout)
    assert run.returncode == 0, run.output
    built = {
        step: outcome for step, outcome in run.outcomes.items() if outcome.startswith(("built", "filled"))
    }
    # Shown even under output capture: how long this job paid for images.
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n[images] bootstrap first run: {run.seconds:.1f} s; built: {', '.join(built) or 'nothing'}")
    return run


@pytest.fixture(scope="module")
def images(first_run: BootstrapRun) -> dict[str, str]:
    return first_run.images


def test_second_run_reuses_every_image_quickly(
    frozen_checkout: pathlib.Path, first_run: BootstrapRun
) -> None:
    second = run_bootstrap(frozen_checkout)

    assert second.returncode == 0, second.output
    assert tuple(second.outcomes) == STEPS, second.output
    rebuilt = {
        step: outcome
        for step, outcome in second.outcomes.items()
        if outcome.startswith(("built", "filled", "pulled"))
    }
    assert rebuilt == {}, f"a second run with unchanged inputs rebuilt: {rebuilt}"
    assert second.images == first_run.images
    assert second.seconds < WARM_RUN_MAX_S, second.output


def test_images_env_names_content_hashed_images_that_exist(images: dict[str, str]) -> None:
    assert set(images) == set(IMAGE_VARS)
    for variable, image in images.items():
        if image.startswith("battle-"):
            assert re.fullmatch(r"battle-[a-z]+:[0-9a-f]{12}", image), f"{variable}={image}"
        assert docker("image", "inspect", image, check=False).returncode == 0, f"{variable}={image} missing"


def test_caller_image_overrides_win_and_are_not_built(
    frozen_checkout: pathlib.Path, images: dict[str, str]
) -> None:
    run = run_bootstrap(frozen_checkout, TOOL_IMAGE="example.invalid/team-tool:7", PLC_SIM_IMAGE="my-plc:2")

    assert run.returncode == 0, run.output
    assert run.images["TOOL_IMAGE"] == "example.invalid/team-tool:7"
    assert run.images["PLC_SIM_IMAGE"] == "my-plc:2"
    assert run.images["CLOUD_IMAGE"] == images["CLOUD_IMAGE"]
    assert run.outcomes["tool"].startswith("skipped: TOOL_IMAGE="), run.output
    assert run.outcomes["plcsim"].startswith("skipped: PLC_SIM_IMAGE="), run.output


@pytest.mark.parametrize(
    ("variable", "code", "uid"),
    [
        ("HARNESS_IMAGE", "import docker, numpy, yaml, psutil, requests, battle, seed", 0),
        ("TOOL_IMAGE", "import sut.tool, flask, waitress, pylogix, seed", 10001),
        (
            "CLOUD_IMAGE",
            "import sut.cloud, flask, waitress, psycopg; assert psycopg.pq.__impl__ == 'binary'",
            10001,
        ),
        ("PLC_SIM_IMAGE", "import sut.plcsim, cpppo", 10001),
    ],
)
def test_app_image_imports_its_code_and_dependencies(
    images: dict[str, str], variable: str, code: str, uid: int
) -> None:
    done = docker(
        "run", "--rm", images[variable], "python", "-c", f"{code}; import os; print(os.getuid())", check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == str(uid)


def test_pid_one_forwards_sigterm_so_stop_is_prompt(images: dict[str, str]) -> None:
    # Without an init, python as PID 1 ignores SIGTERM and `docker stop` waits out its timeout.
    name = f"battle-imgtest-{uuid.uuid4().hex[:10]}"
    docker(
        "run", "-d", "--name", name, images["HARNESS_IMAGE"], "python", "-c", "import time; time.sleep(300)"
    )
    try:
        started = time.monotonic()
        docker("stop", "--time", "20", name, timeout=60)
        took = time.monotonic() - started
        exit_code = docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
    finally:
        docker("rm", "-f", name, check=False)

    assert took < 10, f"docker stop took {took:.1f} s: SIGTERM did not reach the process"
    assert exit_code == "143"


def test_postgres_takes_the_password_and_refuses_a_wrong_one(images: dict[str, str]) -> None:
    suffix = uuid.uuid4().hex[:10]
    network, database = f"battle-imgtest-{suffix}", f"battle-imgtest-db-{suffix}"
    password = "s3cret'\"pw"
    settings = {"POSTGRES_PASSWORD": password, "POSTGRES_USER": "battle", "POSTGRES_DB": "cloud"}
    env_args = [arg for key, value in settings.items() for arg in ("-e", f"{key}={value}")]
    probe = (
        "import os, psycopg\n"
        "def connect(password):\n"
        "    return psycopg.connect(host='db', user='battle', dbname='cloud', password=password, connect_timeout=10)\n"
        "with connect(os.environ['PASSWORD']) as c:\n"
        "    print(c.execute('select current_database()').fetchone()[0])\n"
        "try:\n"
        "    connect('wrong')\n"
        "    print('wrong password accepted')\n"
        "except psycopg.OperationalError as e:\n"
        "    print('refused', 'password authentication failed' in str(e))\n"
    )
    docker("network", "create", network)
    try:
        on_network = ("--network", network)
        server = ("run", "-d", "--name", database, *on_network, "--network-alias", "db", *env_args)
        docker(*server, images["POSTGRES_IMAGE"])
        deadline = time.monotonic() + 90
        while docker("exec", database, "pg_isready", "-U", "battle", "-d", "cloud", check=False).returncode:
            assert time.monotonic() < deadline, docker("logs", database, check=False).stderr
            time.sleep(0.5)
        client = ("run", "--rm", *on_network, "-e", f"PASSWORD={password}", images["CLOUD_IMAGE"])
        done = docker(*client, "python", "-c", probe, check=False)
    finally:
        docker("rm", "-f", "-v", database, check=False)
        docker("network", "rm", network, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["cloud", "refused True"]
