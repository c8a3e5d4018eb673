"""The host's side of a Docker run, called by ci/run_scenario.sh: watch the observer, then settle the verdict.

`watch_observer` prints the observer's progress lines live and returns its exit code.
`finish_run` turns what was collected into the run's exit code: the observer's verdict when it
exited with that verdict's code, else an error verdict that says why (observer killed, timed out,
interrupted, never started) — never a missing verdict, never 0 by accident.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from battle.backends.docker_env import DockerStackError
from battle.verdict import EXIT_CODES, Verdict

log = logging.getLogger(__name__)

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
OBSERVER = "observer"
SHOWN_PREFIXES = ("progress: ", "observer: ")
VERDICT_CODES = frozenset(EXIT_CODES.values())
# Harness containers whose death makes the run's evidence incomplete (the local backend's dead writer thread).
WRITERS = ("crew", "cloud-mutator")
LONG_RUNNING_HARNESS = ("chaos", "cloud-proxy")


def describe_exit(code: int | None) -> str:
    if code is None:
        return "never exited (or never ran)"
    if code > 128:
        try:
            name = signal.Signals(code - 128).name
        except ValueError:
            return f"exited {code}"
        hint = " (killed: docker kill, or the kernel's OOM killer)" if name == "SIGKILL" else ""
        return f"exited {code} = {name}{hint}"
    return f"exited {code}"


# ---------------------------------------------------------------- watching


def _find_observer(client: Any, project: str, timeout_s: float, sleep: Callable[[float], None]) -> Any:
    filters = {"label": [f"{PROJECT_LABEL}={project}", f"{SERVICE_LABEL}={OBSERVER}"]}
    deadline = time.monotonic() + timeout_s
    while True:
        found = client.containers.list(all=True, filters=filters)
        if found:
            return found[0]
        if time.monotonic() >= deadline:
            raise DockerStackError(f"project {project!r} has no observer container after {timeout_s:.0f} s; "
                                   "did `up` fail? (see its output above)")
        sleep(1.0)


def shown_line(raw: bytes | str) -> str | None:
    """The observer line worth showing on the console, without its prefix; None for anything else."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = text.rstrip("\r\n")
    for prefix in SHOWN_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix):]
    return None


def _relay_progress(container: Any, show: Callable[[str], None]) -> None:
    try:
        pending = b""
        for chunk in container.logs(stream=True, follow=True, stdout=True, stderr=False):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                text = shown_line(line)
                if text is not None:
                    show(text)
    except Exception:  # the relay is a courtesy: the exit code comes from wait(), not from here
        log.debug("observer log relay ended", exc_info=True)


def watch_observer(project: str, timeout_s: float, show: Callable[[str], None] = print,
                   sleep: Callable[[float], None] = time.sleep) -> int:
    """Relay the observer's progress until it exits; its exit code. Raises TimeoutError after timeout_s."""
    import docker

    client = docker.from_env(timeout=max(60, int(timeout_s) + 60))  # type: ignore[attr-defined]
    container = _find_observer(client, project, 300.0, sleep)
    relay = threading.Thread(target=_relay_progress, args=(container, show), name="observer-relay", daemon=True)
    relay.start()
    try:
        result = container.wait(timeout=timeout_s)
    except Exception as exc:  # requests raises a ReadTimeout/ConnectionError when the wait times out
        container.reload()
        if container.status in ("running", "paused", "restarting", "created"):
            raise TimeoutError(f"the observer still runs after {timeout_s:.0f} s") from exc
        result = {"StatusCode": container.attrs["State"]["ExitCode"]}
    relay.join(timeout=5)
    return int(result["StatusCode"])


# ---------------------------------------------------------------- the verdict


def container_problems(states: dict[str, dict[str, Any]]) -> list[str]:
    """Harness containers that failed during the run, from {service: State of `docker inspect`}.

    The system under test is judged by the invariants (I5 sees its restarts and OOM kills); here only
    the harness is checked, because a dead crew or chaos makes the evidence itself incomplete.
    """
    problems = []
    for service, state in sorted(states.items()):
        code, status = state.get("ExitCode"), state.get("Status")
        hint = f"see logs/{service}.log"
        if state.get("OOMKilled") and service not in ("tool", "cloud", "plc-sim", "cloud-db"):
            problems.append(f"harness container {service} was OOM-killed ({hint}; raise its mem_limit)")
        elif service in WRITERS and status == "exited" and code != 0:
            problems.append(f"{service} container {describe_exit(code)} during the run ({hint})")
        elif service == "seeder" and status == "exited" and code != 0:
            problems.append(f"the seeder {describe_exit(code)} ({hint})")
        elif service in LONG_RUNNING_HARNESS and status != "running":
            problems.append(f"{service} was {status} ({describe_exit(code)}) before the run ended ({hint})")
    return problems


def project_states(project: str) -> dict[str, dict[str, Any]]:
    """{service: State} of every container of the project; empty when the engine cannot be asked."""
    try:
        import docker

        client = docker.from_env()  # type: ignore[attr-defined]  # mypy sees the repo's docker/ folder
        found = client.containers.list(all=True, filters={"label": [f"{PROJECT_LABEL}={project}"]})
    except Exception:  # no engine: the verdict stands on the artifacts alone
        log.warning("cannot list the containers of %s; harness containers are not checked", project)
        return {}
    return {c.labels.get(SERVICE_LABEL, c.name): dict(c.attrs.get("State") or {}) for c in found}


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def finish_run(run_dir: Path, observer_exit: int | None, reason: str | None = None,
               problems: Sequence[str] = (), identity: dict[str, Any] | None = None) -> Verdict:
    """The run's verdict, from what was collected into run_dir; rewritten as an error when it cannot stand:
    a `reason` (interrupted, timed out), harness `problems`, or an observer that did not exit with its verdict."""
    from battle.judging import error_verdict, judge_run_dir
    from battle.observer.gather import GatherError

    run_dir.mkdir(parents=True, exist_ok=True)
    found = _read_json(run_dir / "verdict.json")
    errors = [reason] if reason else []
    if found is None:
        errors.append(f"no verdict: the observer {describe_exit(observer_exit)} before writing verdict.json")
    elif observer_exit not in VERDICT_CODES or found.get("exitCode") != observer_exit:
        errors.append(f"the observer {describe_exit(observer_exit)} but verdict.json says {found.get('verdict')} "
                      f"(exit {found.get('exitCode')}): the verdict cannot be trusted")
    errors.extend(problems)
    if not errors and found is not None:
        return Verdict.from_dict(found)
    if found is not None:
        # The observer finished: its evidence is whole, so judge it again with the reasons as errors.
        try:
            return judge_run_dir(run_dir, errors=errors)
        except (GatherError, OSError, ValueError, KeyError) as exc:
            log.info("cannot judge %s again (%s); writing a bare error verdict", run_dir, exc)
    # A run cut short has no snapshots: judging it would list fake losses. The artifacts stay for the reader.
    # Without a manifest (the observer never wrote one) the host's own idea of the run names it.
    return error_verdict(run_dir, "; ".join(errors), _read_json(run_dir / "manifest.json") or identity)


def host_identity(env: Mapping[str, str], started: float | None) -> dict[str, Any]:
    """What the host knows of a run, for a verdict when the observer wrote no manifest."""
    from battle.verdict import iso

    identity: dict[str, Any] = {"runId": env.get("RUN_ID") or "unknown", "scenario": env.get("SCENARIO") or "unknown"}
    try:
        identity["seed"] = int(env.get("SEED", ""))
        identity["minutes"] = float(env.get("SOAK_MINUTES", ""))
    except ValueError:
        pass
    if started is not None:
        identity["startedAt"] = iso(started)
    return identity


def first_probe_delay(run_dir: Path, started: float) -> float | None:
    """Seconds from `started` (the script's start) to the first successful health probe."""
    try:
        with open(run_dir / "health.csv", encoding="utf-8") as handle:
            next(handle)
            for line in handle:
                parts = line.strip().split(",")
                if len(parts) >= 5 and parts[4] == "1":
                    return round(float(parts[1]) - started, 1)
    except (OSError, StopIteration, ValueError):
        return None
    return None
