"""Cloud-proxy clients for `battle restore`: they offer what the proxy kinds' own `restore` calls.

- `NotingProxy` wraps a real client and notes each mode change (for the report and the ledger).
- `NoProxy` stands in when the proxy cannot be reached: if its process (or container) is gone, its
  layers went with it (a proxy starts with none), so a request that only clears layers is noted
  and answered as done; anything else raises `ProxyControlError` with the reason.
- `DockerExecProxy` reaches the control API of a Docker run's cloud-proxy, which listens only on
  the stack's network: `docker exec` into the cloud-proxy container runs a short Python script
  that calls `127.0.0.1:$PROXY_CONTROL_PORT` with the container's own `CHAOS_TOKEN`, so the token
  never leaves the container and nothing is published.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from battle.chaos.errors import ProxyControlError

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"

Note = Callable[[str], None]


def only_clears(layers: Mapping[str, Any]) -> bool:
    """True when the request turns layers off and nothing on: `{"cut": false}`, `{"errors": null}`, pass."""
    if dict(layers) == {"mode": "pass"}:
        return True
    return bool(layers) and all(key in ("cut", "shape", "errors") and not value for key, value in layers.items())


class NotingProxy:
    def __init__(self, inner: Any, note: Note, what: str) -> None:
        self._inner = inner
        self._note = note
        self._what = what

    def set_mode(self, layers: Mapping[str, Any]) -> dict[str, Any]:
        mode = self._inner.set_mode(layers)
        self._note(f"{self._what}: set {json.dumps(dict(layers), sort_keys=True)}, its mode is now "
                   f"{mode.get('name', '?')!r}")
        return dict(mode)

    def get_mode(self) -> dict[str, Any]:
        return dict(self._inner.get_mode())

    def health(self) -> dict[str, Any]:
        return dict(self._inner.health())


class NoProxy:
    def __init__(self, why: str, note: Note, *, layers_gone: bool = False) -> None:
        self._why = why
        self._note = note
        self._layers_gone = layers_gone

    def set_mode(self, layers: Mapping[str, Any]) -> dict[str, Any]:
        if self._layers_gone and only_clears(layers):
            self._note(f"{self._why}: no layer left to clear (a cloud-proxy starts with none)")
            return {"name": "pass"}
        raise ProxyControlError(f"cannot set the cloud-proxy's mode {dict(layers)}: {self._why}")

    def get_mode(self) -> dict[str, Any]:
        raise ProxyControlError(f"cannot read the cloud-proxy's mode: {self._why}")

    def health(self) -> dict[str, Any]:
        raise ProxyControlError(f"cannot reach the cloud-proxy: {self._why}")


# Runs inside the cloud-proxy container: argv = method, path, JSON body ('' for none).
_EXEC_SCRIPT = """
import os, sys, urllib.error, urllib.request
method, path, body = sys.argv[1], sys.argv[2], sys.argv[3]
request = urllib.request.Request(
    "http://127.0.0.1:%s%s" % (os.environ.get("PROXY_CONTROL_PORT", "8091"), path),
    data=body.encode() if body else None, method=method,
    headers={"X-Chaos-Token": os.environ["CHAOS_TOKEN"], "Content-Type": "application/json"})
try:
    with urllib.request.urlopen(request, timeout=5) as answer:
        sys.stdout.write(answer.read().decode())
except urllib.error.HTTPError as exc:
    sys.stdout.write("HTTP %s: %s" % (exc.code, exc.read().decode()[:300]))
    sys.exit(3)
"""


class DockerExecProxy:
    def __init__(self, container: Any) -> None:
        self._container = container

    @property
    def name(self) -> str:
        return str(self._container.name)

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        import docker.errors

        text = "" if body is None else json.dumps(dict(body))
        try:
            exit_code, output = self._container.exec_run(["python", "-c", _EXEC_SCRIPT, method, path, text])
        except docker.errors.DockerException as exc:
            raise ProxyControlError(f"docker exec in {self.name} failed: {exc}") from exc
        answer = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)
        if exit_code != 0:
            raise ProxyControlError(f"cloud-proxy control API {method} {path} via docker exec in {self.name} "
                                    f"failed (exit {exit_code}): {answer.strip()[-300:]}")
        try:
            value = json.loads(answer)
        except json.JSONDecodeError as exc:
            raise ProxyControlError(f"cloud-proxy control API {method} {path} answered no JSON: "
                                    f"{answer.strip()[:200]!r}") from exc
        return value if isinstance(value, dict) else {"answer": value}

    def set_mode(self, layers: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("PUT", "/mode", layers)

    def get_mode(self) -> dict[str, Any]:
        return self._call("GET", "/mode")

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")


def docker_proxy(client: Any, project: str, note: Note, service: str = "cloud-proxy") -> Any:
    """The cloud-proxy of compose project `project` through `docker exec`, noting each change; a
    `NoProxy` when it has no running container (a cloud-proxy that starts again starts with no layer)."""
    import docker.errors

    filters = {"label": [f"{PROJECT_LABEL}={project}", f"{SERVICE_LABEL}={service}"]}
    try:
        found = client.containers.list(all=True, filters=filters)
    except docker.errors.DockerException as exc:
        return NoProxy(f"cannot list the {service} container of {project}: {exc}", note)
    ours = [c for c in found if (c.labels or {}).get(PROJECT_LABEL) == project
            and (c.labels or {}).get(SERVICE_LABEL) == service]
    if len(ours) != 1:
        return NoProxy(f"project {project} has {len(ours)} {service} containers", note, layers_gone=not ours)
    container = ours[0]
    if container.status != "running":
        gone = container.status in ("created", "exited", "dead")  # its process, and so its layers, are gone
        return NoProxy(f"the {service} container {container.name} is {container.status}", note, layers_gone=gone)
    return NotingProxy(DockerExecProxy(container), note, f"{service} ({container.name}, via docker exec)")
