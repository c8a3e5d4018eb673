"""The Docker backend: acts through the engine API on the containers of its own compose project.

A container is a target only if it belongs to this run's compose project
(`com.docker.compose.project`) AND carries `battle.chaos=allow`; anything else is refused before any
call that could change it, so chaos on a shared engine can never touch another run or a neighbour.

Docker quirks handled here (DESIGN.md section 14):
- an API kill does not fire the restart policy, so `power`/`toolkill` start the container
  explicitly;
- `network disconnect`/`connect` drops the container's DNS aliases, so the aliases are read before
  disconnecting and passed back on connect (falling back to the service name if chaos restarted
  meanwhile and lost them);
- wipe: the container is killed first (a running tool would otherwise re-create its database
  between the erase and the kill), then a short-lived helper container made from the target's own
  image (no registry needed) mounts the target's volumes (`volumes_from`) and empties the paths
  named by the label `battle.chaos.wipe` (default `/data`). Only named, writable volume mounts are
  erased; a path that is not one is refused, so a seed volume cannot be lost by mistake.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from battle.chaos.errors import DriverError, TargetRefused

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
CHAOS_LABEL = "battle.chaos"
CHAOS_ALLOW = "allow"
WIPE_LABEL = "battle.chaos.wipe"
DEFAULT_WIPE_PATHS = ("/data",)
DEFAULT_DELAY_FILE = "/tmp/plc_delay_ms"

_WIPE_SCRIPT = 'for d in "$@"; do rm -rf "$d"/* "$d"/.[!.]* "$d"/..?*; done'
_WRITE_SCRIPT = 'printf "%s" "$1" > "$2.tmp" && mv "$2.tmp" "$2"'

T = TypeVar("T")


def engine_client() -> Any:
    """A Docker SDK client of the engine DOCKER_HOST (or the socket) names, after it answered a ping."""
    import docker  # the SDK reads DOCKER_HOST itself

    try:
        client = docker.from_env()  # type: ignore[attr-defined]  # mypy sees the repo's docker/ folder
        client.ping()
    except Exception as exc:  # the SDK raises several unrelated types for "no engine"
        raise DriverError(
            f"no Docker engine answers ({exc}); mount /var/run/docker.sock or set DOCKER_HOST"
        ) from exc
    return client


class DockerDriver:
    backend = "docker"

    def __init__(
        self,
        client: Any,
        project: str,
        *,
        network: str | None = None,
        plc_service: str = "plc-sim",
        delay_file: str = DEFAULT_DELAY_FILE,
    ) -> None:
        if not project:
            raise DriverError("the Docker driver needs its compose project name (COMPOSE_PROJECT_NAME)")
        self._client = client
        self._project = project
        self._network = network
        self._plc_service = plc_service
        self._delay_file = delay_file
        self._saved_links: dict[str, tuple[str, list[str]]] = {}  # service -> (network, aliases)
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, project: str, **kwargs: Any) -> DockerDriver:
        return cls(engine_client(), project, **kwargs)

    # -- selection -------------------------------------------------------------------------------

    def _candidates(self) -> list[Any]:
        filters = {"label": [f"{PROJECT_LABEL}={self._project}", f"{CHAOS_LABEL}={CHAOS_ALLOW}"]}
        found = self._docker(
            "list containers", "", lambda: self._client.containers.list(all=True, filters=filters)
        )
        # The engine filters already; checking again costs nothing and guards against a proxy that ignores filters.
        return [c for c in found if self._is_ours(c)]

    def _is_ours(self, container: Any) -> bool:
        labels = container.labels or {}
        return labels.get(PROJECT_LABEL) == self._project and labels.get(CHAOS_LABEL) == CHAOS_ALLOW

    def allowlist(self) -> set[str]:
        return {c.labels[SERVICE_LABEL] for c in self._candidates() if c.labels.get(SERVICE_LABEL)}

    def _container(self, service: str) -> Any:
        candidates = self._candidates()
        matches = [c for c in candidates if c.labels.get(SERVICE_LABEL) == service]
        if not matches:
            allowed = {c.labels.get(SERVICE_LABEL) for c in candidates} - {None}
            raise TargetRefused(
                service, allowed, f"no container of project {self._project!r} with {CHAOS_LABEL}=allow"
            )
        if len(matches) > 1:
            names = sorted(c.name for c in matches)
            raise DriverError(
                f"service {service!r} has {len(matches)} containers ({', '.join(names)}); chaos targets one "
                "container per service: scale it to 1"
            )
        return matches[0]

    def _docker(self, what: str, service: str, call: Callable[[], T]) -> T:
        import docker.errors

        try:
            return call()
        except docker.errors.DockerException as exc:
            where = f" {service!r}" if service else ""
            raise DriverError(f"Docker could not {what}{where}: {exc}") from exc

    def _status(self, container: Any) -> str:
        self._docker("inspect", container.name, container.reload)
        return str(container.status)

    # -- lifecycle -------------------------------------------------------------------------------

    def kill(self, service: str) -> None:
        container = self._container(service)
        if self._status(container) in ("running", "paused"):
            self._docker("kill", service, container.kill)

    def start(self, service: str) -> None:
        container = self._container(service)
        status = self._status(container)
        if status == "paused":
            self._docker("unpause", service, container.unpause)
        elif status != "running":
            self._docker("start", service, container.start)

    def stop(self, service: str, timeout: float = 10.0) -> None:
        container = self._container(service)
        if self._status(container) in ("running", "paused"):
            self._docker("stop", service, lambda: container.stop(timeout=int(round(timeout))))

    def pause(self, service: str) -> None:
        container = self._container(service)
        if self._status(container) == "running":
            self._docker("pause", service, container.pause)

    def unpause(self, service: str) -> None:
        container = self._container(service)
        if self._status(container) == "paused":
            self._docker("unpause", service, container.unpause)

    def is_running(self, service: str) -> bool:
        return self._status(self._container(service)) == "running"

    # -- network ---------------------------------------------------------------------------------

    def disconnect(self, service: str) -> None:
        container = self._container(service)
        self._status(container)
        attached = container.attrs.get("NetworkSettings", {}).get("Networks") or {}
        network_name = self._pick_network(service, list(attached))
        aliases = [a for a in (attached[network_name].get("Aliases") or []) if a]
        with self._lock:
            self._saved_links[service] = (network_name, aliases or [service])
        network = self._docker("find network", network_name, lambda: self._client.networks.get(network_name))
        self._docker("disconnect", service, lambda: network.disconnect(container, force=True))

    def reconnect(self, service: str) -> None:
        container = self._container(service)
        with self._lock:
            saved = self._saved_links.pop(service, None)
        if saved is None:
            # Chaos lost its memory (restarted mid-cut): the compose service name is always an alias.
            saved = (self._project_network(service), [service])
        network_name, aliases = saved
        self._status(container)
        attached = container.attrs.get("NetworkSettings", {}).get("Networks") or {}
        if network_name in attached:
            return
        network = self._docker("find network", network_name, lambda: self._client.networks.get(network_name))
        self._docker("connect", service, lambda: network.connect(container, aliases=aliases))

    def _pick_network(self, service: str, attached: list[str]) -> str:
        if self._network:
            if self._network not in attached:
                raise DriverError(
                    f"{service!r} is not attached to network {self._network!r} (attached: {attached or 'none'}); "
                    "was it already disconnected?"
                )
            return self._network
        if len(attached) != 1:
            raise DriverError(
                f"{service!r} is attached to {attached or 'no network'}; name the one to cut with the "
                "driver's `network` (CHAOS_NETWORK)"
            )
        return attached[0]

    def _project_network(self, service: str) -> str:
        if self._network:
            return self._network
        filters = {"label": [f"{PROJECT_LABEL}={self._project}"]}
        networks = self._docker("list networks", service, lambda: self._client.networks.list(filters=filters))
        if len(networks) != 1:
            raise DriverError(
                f"cannot tell which network to reconnect {service!r} to: project {self._project!r} has "
                f"{len(networks)} networks; set CHAOS_NETWORK"
            )
        return str(networks[0].name)

    # -- data and PLC ----------------------------------------------------------------------------

    def wipe(self, service: str) -> None:
        container = self._container(service)
        paths = self._wipe_paths(container, service)
        self.kill(service)
        image = container.attrs.get("Image") or container.image.id

        def erase() -> Any:
            return self._client.containers.run(
                image,
                entrypoint=["sh", "-c", _WIPE_SCRIPT, "sh", *paths],
                volumes_from=[container.id],
                network_mode="none",
                remove=True,
                labels={CHAOS_LABEL: "helper", "battle.chaos.helper-of": f"{self._project}/{service}"},
            )

        self._docker("erase the volume(s) " + ", ".join(paths) + " of", service, erase)

    def _wipe_paths(self, container: Any, service: str) -> list[str]:
        wanted = (container.labels.get(WIPE_LABEL) or ",".join(DEFAULT_WIPE_PATHS)).split(",")
        wanted = [p.strip().rstrip("/") for p in wanted if p.strip()]
        mounts = {m.get("Destination", "").rstrip("/"): m for m in container.attrs.get("Mounts") or []}
        for path in wanted:
            mount = mounts.get(path)
            if mount is None or mount.get("Type") != "volume" or not mount.get("RW", False):
                found = sorted(p for p, m in mounts.items() if m.get("Type") == "volume")
                raise DriverError(
                    f"cannot wipe {path!r} of {service!r}: it is not a writable named volume "
                    f"(volume mounts: {found or 'none'}); set the label {WIPE_LABEL} to the data path"
                )
        return wanted

    def set_plc_delay(self, ms: int | None) -> None:
        container = self._container(self._plc_service)
        if ms is None:
            cmd = ["rm", "-f", self._delay_file]
        else:
            cmd = ["sh", "-c", _WRITE_SCRIPT, "sh", str(int(ms)), self._delay_file]
        result = self._docker("exec in", self._plc_service, lambda: container.exec_run(cmd))
        exit_code, output = result[0], result[1]
        if exit_code != 0:
            text = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)
            raise DriverError(
                f"writing the PLC delay file {self._delay_file} in {self._plc_service!r} failed "
                f"(exit {exit_code}): {text.strip()[:200]}"
            )
