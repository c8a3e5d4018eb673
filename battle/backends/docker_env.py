"""The environment a Docker run is started with: resolved knobs, run identity, per-run secrets.

`ci/run_scenario.sh` resolves the knobs once on the host (explicit environment > scenario > default)
and exports every one of them, resolved, before `up`; the compose file forwards each by name and
refuses to start when one is missing. So every container sees the same values, including the
system under test, which cannot resolve a scenario itself (`DELAY_MS` for plc-sim, `SEED` for the
seeder). Where each value came from travels along in `BATTLE_KNOB_SOURCES`, so the manifest still
says "scenario" or "default" rather than "env" for everything.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import time
from collections.abc import Mapping
from typing import Any

from battle.backends.local_stack import StackError
from battle.backends.manifest import new_run_id
from battle.config import SOURCE_WORDS, RunConfig

RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}")
IMAGE_VARS = ("HARNESS_IMAGE", "TOOL_IMAGE", "CLOUD_IMAGE", "PLC_SIM_IMAGE", "POSTGRES_IMAGE")
# Not knobs: what the stack needs besides them, written by compose_environment().
STACK_VARS = ("RUN_ID", "COMPOSE_PROJECT_NAME", "CHAOS_TOKEN", "CLOUD_API_KEY", "BATTLE_KNOB_SOURCES",
              "BATTLE_GIT_COMMIT", "BATTLE_IMAGES")


class DockerStackError(StackError):
    """The Docker stack cannot be prepared or driven; the message says what and how to fix it."""


def docker_run_id(config: RunConfig, clock: float | None = None, suffix: str | None = None) -> str:
    """The local backend's run id plus a short random suffix: two runs started in the same second on one
    engine (a CI matrix) must never share a compose project, and so never share volumes."""
    return f"{new_run_id(config, clock)}-{suffix if suffix is not None else secrets.token_hex(2)}"


def check_run_id(run_id: str) -> str:
    if not RUN_ID_PATTERN.fullmatch(run_id):
        raise DockerStackError(f"RUN_ID={run_id!r} cannot name a run directory and a compose project; "
                               "expected letters, digits, '.', '_' or '-' (at most 81), starting with a letter or digit")
    return run_id


def project_name(run_id: str) -> str:
    """`battle-<run id>` in the form every compose version accepts: lowercase letters, digits, '-' and '_'."""
    return "battle-" + re.sub(r"[^a-z0-9_-]", "-", check_run_id(run_id).lower())


def encode_sources(sources: Mapping[str, str]) -> str:
    return ",".join(f"{name}={source}" for name, source in sources.items())


def decode_sources(text: str) -> dict[str, str]:
    """BATTLE_KNOB_SOURCES back into {knob: source}; anything malformed is left out (the manifest then says env)."""
    decoded = {}
    for part in text.split(","):
        name, sep, source = part.partition("=")
        if sep and name.strip() and source.strip() in SOURCE_WORDS:
            decoded[name.strip()] = source.strip()
    return decoded


def compose_environment(config: RunConfig, env: Mapping[str, str], *, clock: float | None = None,
                        git_commit: str | None = None, images: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Every variable the compose file interpolates, except the image names (build/images.env has those).

    RUN_ID, CHAOS_TOKEN and CLOUD_API_KEY given by the caller are kept; the rest is made here.
    """
    run_id = check_run_id(env.get("RUN_ID", "").strip() or docker_run_id(config, clock if clock else time.time()))
    out = dict(config.to_env())
    out.update({
        "RUN_ID": run_id,
        "COMPOSE_PROJECT_NAME": project_name(run_id),
        "CHAOS_TOKEN": env.get("CHAOS_TOKEN", "").strip() or secrets.token_hex(16),
        "CLOUD_API_KEY": env.get("CLOUD_API_KEY", "").strip() or "battle-" + secrets.token_hex(8),
        "BATTLE_KNOB_SOURCES": encode_sources(config.sources),
        "BATTLE_GIT_COMMIT": git_commit or "",
        "BATTLE_IMAGES": json.dumps(dict(images or {}), sort_keys=True, separators=(",", ":")),
    })
    return out


def image_ids(env: Mapping[str, str]) -> dict[str, dict[str, str | None]]:
    """{variable: {"ref", "id"}} for the images of the run; the id is None when the engine cannot say."""
    refs = {var: env[var] for var in IMAGE_VARS if env.get(var)}
    found: dict[str, dict[str, str | None]] = {var: {"ref": ref, "id": None} for var, ref in refs.items()}
    try:
        import docker

        client = docker.from_env()  # type: ignore[attr-defined]  # mypy sees the repo's docker/ folder
        for var, ref in refs.items():
            try:
                found[var]["id"] = client.images.get(ref).id
            except Exception:  # an image the engine lacks: compose will say so at `up`, loudly
                found[var]["id"] = None
    except Exception:  # no engine here: ids stay unknown, the refs are still recorded
        pass
    return found


def shell_exports(values: Mapping[str, str]) -> str:
    """`export NAME='value'` lines that any POSIX shell can source."""
    return "".join(f"export {name}={shlex.quote(str(value))}\n" for name, value in values.items())
