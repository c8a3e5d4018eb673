"""A run driven from inside the Docker stack: the observer container and the writers' side of it.

The observer container (`python -m battle observer`) does what `battle.backends.local` does in one
process, but every other part runs in its own container and they meet in the `run` volume:

  fresh run dir → plan.json + manifest.json → wait for tool, cloud and chaos → soak start
  (`control/soak-start` releases the crew and the mutator; chaos POST /plan/start) → Observer:
  soak, quiesce, calm (chaos POST /calm), settle, snapshot → judge → exit code of the verdict.

Whatever fails half-way, a verdict.json is written (error) and STOP is requested so the writers end.
The Docker-side evidence (tool log, Docker events, container memory) is written into the run volume
by the chaos service (battle.observer.docker_feed); here it is only read.
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from battle.adapters.base import SutAdapter, SutEndpoints
from battle.adapters.plc import PlcReader
from battle.adapters.registry import build_adapter
from battle.backends.docker_env import DockerStackError, decode_sources
from battle.backends.manifest import ManifestFile, build_manifest
from battle.chaos.plan import plan_to_json
from battle.common.control import control_dir, ensure_fresh, request_stop, stop_path
from battle.common.jsonl import JsonlWriter, iter_new_lines
from battle.config import RunConfig
from battle.gating import GateDecision, plan_and_gates
from battle.judging import error_verdict, judge_run_dir, seal_run_dir
from battle.observer.follow import FileFollower
from battle.observer.run import Observer, ObserverHooks, ObserverSettings

log = logging.getLogger(__name__)

SOAK_START_FILE = "soak-start"
WRITER_ERROR_PREFIX = "error-"


# ---------------------------------------------------------------- settings


def _required(env: Mapping[str, str], name: str, example: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise DockerStackError(f"{name} is not set; the compose file sets it (e.g. {example}). "
                               "Start the stack with ci/run_scenario.sh")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise DockerStackError(f"{name}={text!r} is not a number; expected seconds such as {default:g}") from None


@dataclass(frozen=True)
class StackSettings:
    """What a harness container needs besides the knobs: where the run lives and how to reach the stack."""

    run_id: str
    runs_dir: Path
    tool_url: str
    cloud_url: str
    cloud_api_key: str
    chaos_url: str
    chaos_token: str
    plc_host: str
    plc_port: int
    seed_dir: Path
    project: str = ""
    knob_sources: Mapping[str, str] = field(default_factory=dict)
    images: Mapping[str, Any] = field(default_factory=dict)
    git_commit: str | None = None
    startup_timeout_s: float = 300.0

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.run_id

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StackSettings:
        env = os.environ if env is None else env
        try:
            images = json.loads(env.get("BATTLE_IMAGES", "") or "{}")
        except json.JSONDecodeError:
            images = {"unreadable": env.get("BATTLE_IMAGES", "")}
        return cls(
            run_id=_required(env, "RUN_ID", "s1-20260101T000000Z-s1-ab12"),
            runs_dir=Path(env.get("RUNS_DIR", "").strip() or "/runs"),
            tool_url=_required(env, "TOOL_URL", "http://tool:8080").rstrip("/"),
            cloud_url=_required(env, "CLOUD_URL", "http://cloud:8081").rstrip("/"),
            cloud_api_key=env.get("CLOUD_API_KEY", "").strip(),  # the crew has no business with the cloud
            chaos_url=env.get("CHAOS_URL", "").strip().rstrip("/") or "http://chaos:8088",
            chaos_token=env.get("CHAOS_TOKEN", "").strip(),
            plc_host=env.get("PLC_HOST", "").strip() or "plc-sim",
            plc_port=int(_number(env, "PLC_PORT", 44818)),
            seed_dir=Path(env.get("SEED_DIR", "").strip() or "/seed"),
            project=env.get("COMPOSE_PROJECT_NAME", "").strip(),
            knob_sources=decode_sources(env.get("BATTLE_KNOB_SOURCES", "")),
            images=images if isinstance(images, dict) else {"unreadable": str(images)},
            git_commit=env.get("BATTLE_GIT_COMMIT", "").strip() or None,
            startup_timeout_s=_number(env, "BATTLE_STARTUP_TIMEOUT_S", 300.0),
        )


# ---------------------------------------------------------------- the chaos service, seen from the observer


class ChaosClient:
    def __init__(self, url: str, token: str, timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def _post(self, path: str) -> dict[str, Any]:
        try:
            response = requests.post(f"{self.url}{path}", headers={"X-Chaos-Token": self.token},
                                     timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise DockerStackError(f"the chaos service at {self.url} did not answer POST {path}: {exc}") from exc
        if response.status_code != 200:
            raise DockerStackError(f"the chaos service answered POST {path} with HTTP {response.status_code}: "
                                   f"{response.text[:300]}")
        return dict(response.json())

    def start_plan(self) -> dict[str, Any]:
        return self._post("/plan/start")

    def calm(self) -> dict[str, Any]:
        return self._post("/calm")


# ---------------------------------------------------------------- the soak-start handshake


def soak_start_path(run_dir: Path) -> Path:
    return control_dir(run_dir) / SOAK_START_FILE


def mark_soak_start(run_dir: Path, when: float) -> None:
    path = soak_start_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{when:.3f}\n", encoding="utf-8")
    os.replace(tmp, path)


def wait_for_soak_start(run_dir: Path, timeout_s: float, clock: Callable[[], float] = time.monotonic,
                        sleep: Callable[[float], None] = time.sleep) -> float | None:
    """The soak start (epoch) once the observer marks it; None if STOP came first. Writers call this."""
    deadline = clock() + timeout_s
    while True:
        if stop_path(run_dir).exists():
            return None
        try:
            return float(soak_start_path(run_dir).read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            pass
        if clock() >= deadline:
            raise DockerStackError(f"the soak did not start within {timeout_s:.0f} s ({soak_start_path(run_dir)} "
                                   "never appeared); look at the observer's log")
        sleep(0.5)


def report_writer_error(run_dir: Path, writer: str, error: BaseException) -> None:
    """A writer that dies says why in the run volume, so the verdict carries it (as the local backend does)."""
    path = control_dir(run_dir) / f"{WRITER_ERROR_PREFIX}{writer}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{writer} died: {type(error).__name__}: {error}\n", encoding="utf-8")


def writer_errors(run_dir: Path) -> list[str]:
    return [p.read_text(encoding="utf-8", errors="replace").strip()
            for p in sorted(control_dir(run_dir).glob(f"{WRITER_ERROR_PREFIX}*"))]


# ---------------------------------------------------------------- progress


class JournalCounter:
    """Counts the crew's finished ops by reading only what was appended since the last call."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.offsets: dict[Path, int] = {}
        self.counts = {"ok": 0, "fail": 0, "info": 0}

    def update(self) -> dict[str, int]:
        for path in sorted(self.run_dir.glob("journal-bot*.jsonl")):
            for offset, line in iter_new_lines(path, self.offsets.get(path, 0)):
                self.offsets[path] = offset
                for kind in self.counts:
                    if f'"type":"{kind}"' in line:
                        self.counts[kind] += 1
        return dict(self.counts)

    def describe(self) -> str:
        counts = self.update()
        return f"ops journaled {sum(counts.values())} (ok {counts['ok']} fail {counts['fail']} info {counts['info']})"


# ---------------------------------------------------------------- the observer's run


class NoMemorySource:
    """Container memory is sampled by the chaos service (it has the engine); the observer adds nothing."""

    def sample(self) -> tuple[()]:
        return ()


def docker_events_stream(path: Path) -> Callable[[JsonlWriter], Callable[[], None]]:
    """An ObserverHooks event stream: Docker events that chaos writes to `path`, merged into events.jsonl."""

    def start(writer: JsonlWriter) -> Callable[[], None]:
        def on_line(line: str) -> None:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                return
            if isinstance(record, dict) and record.get("source") == "docker":
                writer.write(record)

        follower = FileFollower(path, on_line)
        follower.start()
        return follower.stop

    return start


def prepare_run_dir(run_dir: Path) -> None:
    """A verdict is valid only from a fresh run directory: refuse an earlier run's files and a stale STOP."""
    for name in ("manifest.json", "verdict.json", "plan.json"):
        if (run_dir / name).exists():
            raise DockerStackError(f"{run_dir / name} exists before the run started: this run directory holds an "
                                   "earlier run; use a fresh RUN_ID (and fresh volumes: one compose project per run)")
    run_dir.mkdir(parents=True, exist_ok=True)
    ensure_fresh(run_dir)


def wait_until(what: str, ready: Callable[[], bool], timeout_s: float, clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep, poll_s: float = 0.5) -> float:
    """Seconds until `ready()` held; raises DockerStackError naming `what` after timeout_s."""
    started = clock()
    while not ready():
        if clock() - started >= timeout_s:
            raise DockerStackError(f"{what} did not become ready within {timeout_s:.0f} s; see its log in "
                                   "battle-artifacts/<run id>/logs/")
        sleep(poll_s)
    return round(clock() - started, 2)


def stack_adapter(config: RunConfig, stack: StackSettings) -> SutAdapter:
    """The adapter SUT_ADAPTER names, for this stack's endpoints (the crew's has no cloud key: it needs none)."""
    return build_adapter(str(config.value("SUT_ADAPTER")),
                         SutEndpoints(stack.tool_url, stack.cloud_url, stack.cloud_api_key))


@dataclass
class DockerObserverRun:
    config: RunConfig
    stack: StackSettings
    writers: tuple[str, ...]
    progress: Callable[[str], None] = print

    def __post_init__(self) -> None:
        self.run_dir = self.stack.run_dir
        self.adapter = stack_adapter(self.config, self.stack)
        self.chaos = ChaosClient(self.stack.chaos_url, self.stack.chaos_token)
        self.manifest: ManifestFile | None = None

    def say(self, text: str) -> None:
        self.progress(f"observer: {text}")

    def run(self) -> int:
        started = time.time()
        plan, decision = plan_and_gates(self.config)  # the host's `battle validate` made the same decision
        prepare_run_dir(self.run_dir)
        (self.run_dir / "plan.json").write_text(plan_to_json(plan), encoding="utf-8")
        self.manifest = ManifestFile(self.run_dir / "manifest.json", self._manifest_data(started, decision))
        self.say(f"run {self.stack.run_id} ({self.config.scenario}, {self.config.minutes:g} min, seed "
                 f"{self.config.seed}) in {self.run_dir}: {decision.summary()}")
        for line in decision.lines():
            self.say(line)
        try:
            startup = self._wait_for_stack()
            self.manifest.update(startup=startup)
            self.say(f"stack ready {startup}")
            return self._soak_and_judge()
        except Exception as exc:  # the one place a harness failure becomes an error verdict
            reason = f"harness error: {type(exc).__name__}: {exc}"
            log.error("%s\n%s", reason, traceback.format_exc())
            request_stop(self.run_dir)  # the writers must end whatever happened
            self.manifest.data["errors"].append(reason)
            self.manifest.save()
            verdict = error_verdict(self.run_dir, reason, self.manifest.data)
            self.say(f"verdict {verdict.verdict} (exit {verdict.exit_code}): {reason}")
            return verdict.exit_code

    def _manifest_data(self, started: float, decision: GateDecision) -> dict[str, Any]:
        data = build_manifest(self.config, self.stack.run_id, "docker", started, decision,
                              images=dict(self.stack.images))
        data["recordKinds"] = list(self.adapter.record_kinds())  # (the judge's snapshots, by kind)
        # Every knob reached this container as an explicit variable; the host knows where each came from.
        for name, source in self.stack.knob_sources.items():
            if name in data["knobSources"]:
                data["knobSources"][name] = source
        data["gitCommit"] = self.stack.git_commit
        data["composeProject"] = self.stack.project
        return data

    def _wait_for_stack(self) -> dict[str, float]:
        timeout = self.stack.startup_timeout_s
        return {
            "tool": wait_until(f"the tool (GET {self.adapter.tool_health_url()})", self.adapter.tool_healthy, timeout),
            "cloud": wait_until("the cloud (its health check)", self.adapter.cloud_healthy, timeout),
            "chaos": wait_until("the chaos service (GET /health)", self.chaos.healthy, timeout),
        }

    def _observer(self, soak_start: float) -> Observer:
        limits = self.config.limits()
        stack = self.stack
        tags = self.adapter.tag_expectations(stack.seed_dir) if self.adapter.has_plc else None
        counter = JournalCounter(self.run_dir)
        return Observer(
            ObserverSettings(run_dir=self.run_dir, soak_start=soak_start,
                             soak_end=soak_start + self.config.soak_seconds,
                             warmup_s=float(limits["WARMUP_S"]), settle_max_s=float(limits["SETTLE_MAX_S"]),
                             propagation_max_s=float(limits["PROPAGATION_MAX_S"]),
                             restore_max_s=float(limits["RESTORE_MAX_S"]), writers=self.writers),
            ObserverHooks(
                adapter=self.adapter,
                memory_source=NoMemorySource(),
                calm=self.chaos.calm,
                # without a PLC (has_plc = False) nothing is read back
                plc_checker=None if tags is None else (
                    lambda: PlcReader(stack.plc_host, stack.plc_port, timeout=5.0, types=tags.types)),
                expected_flags={} if tags is None else dict(tags.expected),
                event_logs=((self.run_dir / "logs" / "tool.log", "tool"),),
                event_streams=(docker_events_stream(self.run_dir / "docker-events.jsonl"),),
                progress=lambda line: self.progress(f"progress: {line} | {counter.describe()}"),
            ),
        )

    def _soak_and_judge(self) -> int:
        assert self.manifest is not None
        soak_start = time.time()
        observer = self._observer(soak_start)
        self.manifest.mark("soakStart", soak_start)
        observer.start()
        try:
            mark_soak_start(self.run_dir, soak_start)
            self.chaos.start_plan()
            self.say(f"soak started: {self.config.minutes:g} min, writers {', '.join(self.writers)}")
            observer.wait_soak()
            self.manifest.mark("soakEnd")
            self.say("soak over: quiesce, calm, settle, snapshot")
            outcome = observer.finish()
            for name, stamp in observer.times.items():
                self.manifest.data["times"][name] = stamp
            self.manifest.data["notes"].extend(outcome["notes"])
            self.manifest.data["errors"].extend(outcome.get("errors", []))
            self.manifest.data["calm"] = outcome["calm"]
            self.manifest.data["errors"].extend(writer_errors(self.run_dir))
            self.manifest.save()
            # The writers have stopped and the snapshots are taken: seal what the verdict rests on.
            self.manifest.update(seal=seal_run_dir(self.run_dir, self.manifest.data))
            verdict = judge_run_dir(self.run_dir)
            self.manifest.mark("judged")
            self.say(f"verdict {verdict.verdict} (exit {verdict.exit_code})")
            return verdict.exit_code
        finally:
            observer.close()
