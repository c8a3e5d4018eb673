"""The Docker side of observation, run inside the chaos service (the only container with the engine).

The observer has no Docker socket, so what needs the engine is written into the run volume here and
read there like any other artifact:

- `logs/<service>.log`: the raw output of a container (stdout and stderr), every lifetime appended.
  A follow stream ends when the container stops; the follower waits for the next start and attaches
  again from where it was, so a kill, a power cut or a wipe loses no line and repeats none.
- `docker-events.jsonl`: the project's container events `{"source": "docker", "ts", "service",
  "action"}` (plus `exitCode` on `die`), for I5 (OOM kills) and the morning reader.
- `memory.csv`: rows of the existing MemorySampler, fed by container stats. The lifetime of a sample
  is the container's start time, so every restart is fitted separately by I2.

Every follower is a supervisor loop: an engine hiccup is logged and counted, never fatal.
"""

from __future__ import annotations

import calendar
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from battle.common.jsonl import JsonlWriter
from battle.common.timefmt import iso_utc
from battle.observer.cost import cost_sampler
from battle.observer.memory import MemorySampler

log = logging.getLogger(__name__)

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
# Container actions worth a line; exec_*, attach, resize and health_status are noise for the judges.
KEPT_ACTIONS = frozenset({"create", "start", "restart", "die", "kill", "oom", "stop", "pause", "unpause",
                          "destroy"})
MB = 1024.0 * 1024.0



def _close_quietly(stream: Any, what: str) -> None:
    """Close an engine stream to unblock its reader thread; a dead HTTP stream may raise anything."""
    if stream is None or not hasattr(stream, "close"):
        return
    try:
        stream.close()
    except Exception:  # the thread is ending anyway
        log.debug("closing %s failed", what, exc_info=True)

class DockerFeedError(Exception):
    """The feed cannot run: no engine, or no project name."""


# ---------------------------------------------------------------- finding the project's containers


class ProjectContainers:
    """The containers of one compose project, looked up by service label (names differ between v1 and v2)."""

    def __init__(self, client: Any, project: str) -> None:
        if not project:
            raise DockerFeedError("the Docker feed needs the compose project name (COMPOSE_PROJECT_NAME)")
        self.client = client
        self.project = project

    def get(self, service: str) -> Any | None:
        filters = {"label": [f"{PROJECT_LABEL}={self.project}", f"{SERVICE_LABEL}={service}"]}
        found = self.client.containers.list(all=True, filters=filters)
        return found[0] if found else None


# ---------------------------------------------------------------- container logs


def parse_log_stamp(stamp: str) -> tuple[int, int]:
    """(epoch seconds, nanoseconds) of a Docker log timestamp such as 2026-01-02T03:04:05.123456789Z.

    Docker trims trailing zeros of the fraction, so the text does not sort; the tuple does.
    """
    text = stamp.strip()
    if not text.endswith("Z"):
        raise ValueError(f"not a Docker log timestamp (expected RFC 3339 in UTC with Z): {stamp!r}")
    main, _, fraction = text[:-1].partition(".")
    seconds = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    nanos = int((fraction or "0")[:9].ljust(9, "0"))
    return seconds, nanos


def split_stamped(line: bytes) -> tuple[tuple[int, int] | None, bytes]:
    """A `timestamps=True` log line → (its time or None, the raw line after the time)."""
    head, sep, rest = line.partition(b" ")
    if not sep:
        return None, line
    try:
        return parse_log_stamp(head.decode("ascii")), rest
    except (UnicodeDecodeError, ValueError):
        return None, line


class LogCursor:
    """Where a log follower is: the last time written and how many lines carried exactly that time.

    On re-attach the engine is asked for everything since the last whole second, and lines already
    written are skipped by time, so a line is written exactly once.
    """

    def __init__(self) -> None:
        self.last: tuple[int, int] | None = None
        self.at_last = 0
        self._replay_left = 0

    def since(self) -> int | None:
        return None if self.last is None else self.last[0]

    def begin_stream(self) -> None:
        # A new stream repeats the `at_last` lines that carried the last time before anything new.
        self._replay_left = self.at_last

    def accept(self, stamp: tuple[int, int] | None) -> bool:
        if stamp is None:
            return True
        if self.last is None or stamp > self.last:
            self.last, self.at_last, self._replay_left = stamp, 1, 0
            return True
        if stamp < self.last:
            return False
        if self._replay_left > 0:
            self._replay_left -= 1
            return False
        self.at_last += 1
        return True


class ContainerLogFollower:
    """Appends the output of one service's container to a file, across every restart."""

    def __init__(self, containers: ProjectContainers, service: str, out: Path, poll_s: float = 0.5) -> None:
        self.containers = containers
        self.service = service
        self.out = out
        self.poll_s = poll_s
        self.cursor = LogCursor()
        self.lines = 0
        self.attaches = 0
        self.errors = 0
        self._stop = threading.Event()
        self._stream: Any = None
        self._thread = threading.Thread(target=self._loop, name=f"logs-{service}", daemon=True)

    def start(self) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.out, "ab")  # noqa: SIM115 - closed in stop()
        self._thread.start()

    def stop(self, wait_s: float = 5.0) -> None:
        self._stop.set()
        _close_quietly(self._stream, f"the log stream of {self.service}")
        self._thread.join(timeout=wait_s)
        self._handle.close()

    def write_chunks(self, chunks: Iterable[bytes]) -> None:
        """Write the new lines of one attach; a trailing partial line is completed by the next chunk."""
        self.cursor.begin_stream()
        pending = b""
        for chunk in chunks:
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                self._write_line(line)
            if self._stop.is_set():
                return
        if pending:
            self._write_line(pending)

    def _write_line(self, line: bytes) -> None:
        stamp, raw = split_stamped(line)
        if not self.cursor.accept(stamp):
            return
        self._handle.write(raw + b"\n")
        self._handle.flush()
        self.lines += 1

    def follow_once(self) -> bool:
        """Attach to the container and copy its output until the stream ends; False if there is none yet."""
        container = self.containers.get(self.service)
        if container is None:
            return False
        since = self.cursor.since()
        kwargs: dict[str, Any] = {"stream": True, "follow": True, "timestamps": True,
                                  "stdout": True, "stderr": True}
        if since is not None:
            kwargs["since"] = since
        self._stream = container.logs(**kwargs)
        self.attaches += 1
        try:
            self.write_chunks(self._stream)
        finally:
            self._stream = None
        return True

    def _running(self) -> bool:
        container = self.containers.get(self.service)
        return container is not None and container.status in ("running", "paused")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.follow_once()
            except Exception:  # supervisor loop: the engine may drop a stream; attach again
                self.errors += 1
                log.exception("following the logs of %s failed", self.service)
            # The stream ended: the container stopped (or is not there yet). Wait for its next start.
            while not self._stop.is_set():
                try:
                    if self._running():
                        break
                except Exception:  # supervisor loop
                    self.errors += 1
                    log.exception("cannot tell whether %s runs", self.service)
                self._stop.wait(self.poll_s)
            self._stop.wait(0.2)  # never a hot loop, even when the engine answers at once


# ---------------------------------------------------------------- Docker events


def event_record(event: dict[str, Any]) -> dict[str, Any] | None:
    """The events.jsonl line of one engine event, or None for events the judges do not need."""
    if event.get("Type", "container") != "container":
        return None
    action = str(event.get("Action") or event.get("status") or "").split(":", 1)[0].strip()
    if action not in KEPT_ACTIONS:
        return None
    attributes = (event.get("Actor") or {}).get("Attributes") or {}
    service = attributes.get(SERVICE_LABEL)
    if not service:
        return None
    nanos = event.get("timeNano")
    stamp = int(nanos) / 1e9 if nanos is not None else float(event.get("time", time.time()))
    record: dict[str, Any] = {"source": "docker", "ts": iso_utc(stamp), "service": service, "action": action}
    if action == "die" and attributes.get("exitCode") is not None:
        record["exitCode"] = int(attributes["exitCode"])
    return record


class DockerEventFollower:
    """Writes the project's container events to a JSONL file; reconnects (from the last event) on failure."""

    def __init__(self, client: Any, project: str, out: Path, retry_s: float = 1.0, backlog_s: float = 300.0) -> None:
        self.client = client
        self.backlog_s = backlog_s
        self.project = project
        self.writer = JsonlWriter(out)
        self.retry_s = retry_s
        self.count = 0
        self.errors = 0
        self._since: float | None = None
        self._seen: set[tuple[Any, ...]] = set()
        self._stop = threading.Event()
        self._stream: Any = None
        self._thread = threading.Thread(target=self._loop, name="docker-events", daemon=True)
        # Told of every engine event written (chaos: a target that started during its fault).
        self.listeners: list[Callable[[dict[str, Any]], object]] = []

    def start(self) -> None:
        # The engine keeps recent events: the starts of services that came up before chaos are still there.
        self._since = time.time() - self.backlog_s
        self._thread.start()

    def stop(self, wait_s: float = 5.0) -> None:
        self._stop.set()
        _close_quietly(self._stream, "the event stream")
        self._thread.join(timeout=wait_s)
        self.writer.close()

    def handle(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            key = (event.get("timeNano"), event.get("id"), event.get("Action"))
            if key in self._seen:  # a reconnect replays the last second
                continue
            self._seen.add(key)
            if event.get("timeNano") is not None:
                self._since = int(event["timeNano"]) / 1e9
            record = event_record(event)
            if record is not None:
                self.writer.write(record)
                self.count += 1
                for listener in self.listeners:
                    try:
                        listener(record)
                    except Exception:  # supervisor: a listener's failure is logged and counted, never fatal
                        self.errors += 1
                        log.exception("docker events: a listener failed on %s", record)
            if self._stop.is_set():
                return

    def _loop(self) -> None:
        filters = {"type": "container", "label": [f"{PROJECT_LABEL}={self.project}"]}
        while not self._stop.is_set():
            try:
                self._stream = self.client.events(decode=True, filters=filters, since=int(self._since or 0))
                self.handle(self._stream)
            except Exception:  # supervisor loop: reconnect after an engine hiccup
                if self._stop.is_set():
                    return
                self.errors += 1
                log.exception("the Docker event stream failed; reconnecting")
            finally:
                self._stream = None
            self._stop.wait(self.retry_s)


# ---------------------------------------------------------------- memory from container stats


def resident_mb(memory_stats: dict[str, Any]) -> float | None:
    """Anonymous (resident) memory of a container in MB, from a stats answer (cgroup v1 or v2).

    Page cache is left out: the tool's SQLite file is read through it, and a growing cache is not a leak.
    """
    stats = memory_stats.get("stats") or {}
    for key in ("anon", "total_rss", "rss"):  # v2, then v1 (hierarchical first)
        if key in stats:
            return float(stats[key]) / MB
    usage = memory_stats.get("usage")
    if usage is None:
        return None
    cache = stats.get("inactive_file", stats.get("total_inactive_file", stats.get("cache", 0)))
    return max(0.0, float(usage) - float(cache)) / MB


def running_stats(containers: ProjectContainers, services: Iterable[str]) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """(service, container, one stats answer) for each watched service that is running now."""
    for service in services:
        container = containers.get(service)
        if container is None or container.status != "running":
            continue
        try:
            stats = container.stats(stream=False, one_shot=True)
        except Exception as exc:  # the container stopped between the list and the stats call
            log.debug("no stats for %s: %s", service, exc)
            continue
        yield service, container, stats


def _lifetime(container: Any) -> str:
    return f"{container.short_id}@{(container.attrs.get('State') or {}).get('StartedAt') or '?'}"


@dataclass
class DockerMemorySource:
    """A MemorySource over container stats: one row per running watched service."""

    containers: ProjectContainers
    services: tuple[str, ...]

    def sample(self) -> Iterator[tuple[str, str, float]]:
        for service, container, stats in running_stats(self.containers, self.services):
            mb = resident_mb(stats.get("memory_stats") or {})
            if mb is not None:
                yield service, _lifetime(container), mb


@dataclass
class DockerCostSource:
    """A CostSource over container stats: the cgroup's cumulative CPU and its resident memory."""

    containers: ProjectContainers
    services: tuple[str, ...]

    def sample(self) -> Iterator[tuple[str, str, float, float]]:
        for service, container, stats in running_stats(self.containers, self.services):
            usage = ((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
            if usage is not None:
                yield (service, _lifetime(container), float(usage) / 1e9,
                       resident_mb(stats.get("memory_stats") or {}) or 0.0)


# ---------------------------------------------------------------- the whole feed


@dataclass(frozen=True)
class FeedSettings:
    run_dir: Path
    project: str
    log_services: tuple[str, ...] = ("tool",)
    memory_services: tuple[str, ...] = ("tool", "cloud", "plc-sim")
    memory_interval_s: float = 5.0
    # cost.csv: every service of the project, the harness's own containers included (battle.observer.cost)
    cost_services: tuple[str, ...] = ("tool", "cloud", "plc-sim", "cloud-db", "cloud-proxy", "chaos", "crew",
                                      "cloud-mutator", "observer")


class DockerFeed:
    def __init__(self, client: Any, settings: FeedSettings,
                 sampler_factory: Callable[..., MemorySampler] = MemorySampler) -> None:
        containers = ProjectContainers(client, settings.project)
        run_dir = settings.run_dir
        self.logs = [ContainerLogFollower(containers, service, run_dir / "logs" / f"{service}.log")
                     for service in settings.log_services]
        self.events = DockerEventFollower(client, settings.project, run_dir / "docker-events.jsonl")
        self.memory = sampler_factory(DockerMemorySource(containers, settings.memory_services),
                                      run_dir / "memory.csv", interval_s=settings.memory_interval_s)
        self.cost = cost_sampler(DockerCostSource(containers, settings.cost_services),
                                 run_dir / "cost.csv")

    @classmethod
    def from_engine(cls, settings: FeedSettings) -> DockerFeed:
        import docker  # the SDK reads DOCKER_HOST itself

        try:
            client = docker.from_env()  # type: ignore[attr-defined]  # mypy sees the repo's docker/ folder
            client.ping()
        except Exception as exc:  # the SDK raises several unrelated types for "no engine"
            raise DockerFeedError(f"no Docker engine answers ({exc}); mount /var/run/docker.sock into chaos "
                                  "or set DOCKER_HOST") from exc
        return cls(client, settings)

    def start(self) -> None:
        # The events first: a container start seen before its log follower attaches is still recorded.
        self.events.start()
        self.memory.start()
        self.cost.start()
        for follower in self.logs:
            follower.start()

    def stop(self) -> None:
        for follower in self.logs:
            follower.stop()
        self.memory.stop()
        self.cost.stop()
        self.events.stop()

    def summary(self) -> dict[str, Any]:
        return {"events": self.events.count, "eventErrors": self.events.errors, "memorySamples": self.memory.samples,
                "costSamples": self.cost.samples, "costErrors": self.cost.errors,
                "logs": {f.service: {"lines": f.lines, "attaches": f.attaches, "errors": f.errors}
                         for f in self.logs}}
