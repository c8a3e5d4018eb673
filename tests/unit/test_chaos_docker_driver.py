"""DockerDriver against a fake of the docker SDK surface it calls: scoping, restarts, aliases, wipe, delay."""

from __future__ import annotations

from types import SimpleNamespace

import docker.errors
import pytest

from battle.chaos.docker_driver import DockerDriver
from battle.chaos.errors import DriverError, TargetRefused

PROJECT = "battle-run42"


class FakeContainer:
    def __init__(
        self, engine, service, project=PROJECT, chaos="allow", status="running", mounts=None, extra=None
    ):
        self.engine = engine
        self.name = f"{project}-{service}-1"
        self.id = f"id-{project}-{service}"
        self.labels = {
            "com.docker.compose.project": project,
            "com.docker.compose.service": service,
            **(extra or {}),
        }
        if chaos:
            self.labels["battle.chaos"] = chaos
        self.status = status
        self.networks = {f"{project}_default": {"Aliases": [service, self.id[:12]]}}
        self.mounts = (
            mounts
            if mounts is not None
            else [{"Type": "volume", "Destination": "/data", "RW": True, "Name": f"{project}_{service}-data"}]
        )
        self.image = SimpleNamespace(id=f"sha256:{service}-image")
        self.exec_result = (0, b"")
        self.fail = {}

    @property
    def attrs(self):
        return {
            "Image": self.image.id,
            "Mounts": self.mounts,
            "NetworkSettings": {"Networks": dict(self.networks)},
        }

    def _do(self, what, new_status=None):
        self.engine.calls.append((what, self.labels["com.docker.compose.service"]))
        if what in self.fail:
            raise docker.errors.APIError(self.fail[what])
        if new_status:
            self.status = new_status

    def reload(self):
        pass

    def kill(self):
        self._do("kill", "exited")

    def start(self):
        self._do("start", "running")

    def stop(self, timeout):
        self._do(f"stop:{timeout}", "exited")

    def pause(self):
        self._do("pause", "paused")

    def unpause(self):
        self._do("unpause", "running")

    def exec_run(self, cmd):
        self._do("exec")
        self.engine.execs.append(cmd)
        return self.exec_result


class FakeNetwork:
    def __init__(self, engine, name):
        self.engine, self.name = engine, name

    def disconnect(self, container, force=False):
        self.engine.calls.append(("disconnect", container.labels["com.docker.compose.service"]))
        del container.networks[self.name]

    def connect(self, container, aliases=None):
        self.engine.calls.append(("connect", container.labels["com.docker.compose.service"]))
        container.networks[self.name] = {"Aliases": list(aliases or [])}


class FakeEngine:
    """The parts of docker.DockerClient the driver uses: containers.list/run, networks.get/list."""

    def __init__(self, honour_filters=True):
        self.calls, self.execs, self.runs = [], [], []
        self.all: list[FakeContainer] = []
        self.honour_filters = honour_filters
        self.containers = SimpleNamespace(list=self._list, run=self._run)
        self.networks = SimpleNamespace(get=lambda name: FakeNetwork(self, name), list=self._networks)

    def add(self, *args, **kwargs):
        container = FakeContainer(self, *args, **kwargs)
        self.all.append(container)
        return container

    def _list(self, filters=None, **kwargs):
        # like the engine: without all=True a stopped container is invisible (and could never be started)
        found = [c for c in self.all if kwargs.get("all") or c.status == "running"]
        if not self.honour_filters:
            return found
        wanted = [f.split("=", 1) for f in (filters or {}).get("label", [])]
        return [c for c in found if all(c.labels.get(k) == v for k, v in wanted)]

    def _run(self, image, **kwargs):
        self.calls.append(("run-helper", image))
        self.runs.append((image, kwargs))
        return b""

    def _networks(self, filters=None):
        return [SimpleNamespace(name=f"{PROJECT}_default")]


@pytest.fixture
def engine():
    e = FakeEngine()
    e.add("tool", extra={"battle.chaos.wipe": "/data"})
    e.add("plc-sim")
    e.add("cloud")
    e.add("observer", chaos=None)  # ours, but not labelled for chaos
    e.add("tool", project="battle-other")  # another run's tool on the same engine
    return e


def test_allowlist_is_own_project_and_labelled_only(engine):
    assert DockerDriver(engine, PROJECT).allowlist() == {"tool", "plc-sim", "cloud"}


@pytest.mark.parametrize("honour", [True, False])
def test_unlabelled_or_foreign_containers_are_refused_untouched(honour):
    e = FakeEngine(honour_filters=honour)
    e.add("observer", chaos=None)
    e.add("tool", project="battle-other")
    e.add("plc-sim")
    driver = DockerDriver(e, PROJECT)
    for service in ("observer", "tool"):
        with pytest.raises(TargetRefused) as refused:
            driver.kill(service)
        assert refused.value.allowlist == ["plc-sim"]
    assert e.calls == []


def test_power_is_kill_then_explicit_start(engine):
    driver = DockerDriver(engine, PROJECT)
    driver.kill("tool")
    assert not driver.is_running("tool")
    driver.start("tool")
    assert driver.is_running("tool")
    assert engine.calls == [("kill", "tool"), ("start", "tool")]
    driver.start("tool")  # already running: no call
    assert engine.calls[-1] == ("start", "tool") and len(engine.calls) == 2


def test_stop_pause_unpause(engine):
    driver = DockerDriver(engine, PROJECT)
    driver.pause("tool")
    assert not driver.is_running("tool")
    driver.unpause("tool")
    driver.stop("plc-sim", timeout=7.4)
    assert engine.calls == [("pause", "tool"), ("unpause", "tool"), ("stop:7", "plc-sim")]


def test_reconnect_restores_the_aliases_read_before_disconnect(engine):
    driver = DockerDriver(engine, PROJECT)
    cloud = next(c for c in engine.all if c.labels["com.docker.compose.service"] == "cloud")
    cloud.networks[f"{PROJECT}_default"]["Aliases"] = ["cloud", "api.cloud", "abc123"]
    driver.disconnect("cloud")
    assert cloud.networks == {}
    driver.reconnect("cloud")
    assert cloud.networks[f"{PROJECT}_default"]["Aliases"] == ["cloud", "api.cloud", "abc123"]
    driver.reconnect("cloud")  # already attached: nothing more
    assert engine.calls == [("disconnect", "cloud"), ("connect", "cloud")]


def test_reconnect_after_chaos_restarted_falls_back_to_the_service_name(engine):
    DockerDriver(engine, PROJECT).disconnect("cloud")
    fresh = DockerDriver(engine, PROJECT)  # lost its memory of the aliases
    fresh.reconnect("cloud")
    cloud = next(c for c in engine.all if c.labels["com.docker.compose.service"] == "cloud")
    assert cloud.networks[f"{PROJECT}_default"]["Aliases"] == ["cloud"]


def test_wipe_kills_first_then_erases_the_labelled_volume_with_the_targets_image(engine):
    driver = DockerDriver(engine, PROJECT)
    driver.wipe("tool")
    assert engine.calls == [("kill", "tool"), ("run-helper", "sha256:tool-image")]
    image, kwargs = engine.runs[0]
    assert kwargs["volumes_from"] == [f"id-{PROJECT}-tool"] and kwargs["remove"] is True
    assert kwargs["network_mode"] == "none" and kwargs["entrypoint"][-1] == "/data"
    assert not driver.is_running("tool")  # the fault's restore starts it


def test_wipe_refuses_a_path_that_is_not_a_writable_volume(engine):
    tool = next(c for c in engine.all if c.labels["com.docker.compose.service"] == "tool")
    tool.mounts = [
        {"Type": "volume", "Destination": "/data", "RW": False},
        {"Type": "bind", "Destination": "/seed"},
    ]
    with pytest.raises(DriverError, match="not a writable named volume"):
        DockerDriver(engine, PROJECT).wipe("tool")
    assert engine.calls == []


def test_plc_delay_written_by_exec_and_cleared(engine):
    driver = DockerDriver(engine, PROJECT, delay_file="/tmp/plc_delay_ms")
    driver.set_plc_delay(350)
    driver.set_plc_delay(None)
    assert engine.execs[0][0:2] == ["sh", "-c"] and engine.execs[0][-2:] == ["350", "/tmp/plc_delay_ms"]
    assert engine.execs[1] == ["rm", "-f", "/tmp/plc_delay_ms"]
    plc = next(c for c in engine.all if c.labels["com.docker.compose.service"] == "plc-sim")
    plc.exec_result = (1, b"read-only file system")
    with pytest.raises(DriverError, match="read-only file system"):
        driver.set_plc_delay(10)


def test_engine_errors_become_driver_errors_naming_the_service(engine):
    tool = next(c for c in engine.all if c.labels["com.docker.compose.service"] == "tool")
    tool.fail["kill"] = "conflict: container is restarting"
    with pytest.raises(DriverError, match="Docker could not kill 'tool'.*restarting"):
        DockerDriver(engine, PROJECT).kill("tool")


def test_a_scaled_service_is_refused(engine):
    engine.add("plc-sim")
    with pytest.raises(DriverError, match="scale it to 1"):
        DockerDriver(engine, PROJECT).kill("plc-sim")


def test_project_is_required(engine):
    with pytest.raises(DriverError, match="COMPOSE_PROJECT_NAME"):
        DockerDriver(engine, "")
