#!/bin/sh
# Run one scenario end to end in the Docker stack; the exit code is the verdict's:
#   0 pass, 1 fail, 2 error (bad knob, harness failure, observer died, interrupted), 3 inconclusive.
# Every invariant the soak can judge gates; the ones it cannot are demoted to report and printed first.
#
#   sh ci/run_scenario.sh                                  # SCENARIO=s1 (the catalogue's default)
#   SCENARIO=s2 SOAK_MINUTES=15 DOWNLOAD_STORM=3,5 sh ci/run_scenario.sh
#
# Knobs: every variable of battle/scenarios.yml (docs/knobs.md). Explicit environment > scenario >
# default; this script sets none of them itself, it only forwards what `python -m battle compose-env`
# resolved. A bad knob stops the run before Docker is touched (exit 2).
#
# Other settings (all optional):
#   RUN_ID            default <scenario>-<UTC time>-s<seed>-<4 hex>; the compose project is battle-<run id>
#   BATTLE_ARTIFACTS  where runs are collected (battle-artifacts): <dir>/<run id>/ with logs/<service>.log
#   BATTLE_PYTHON     a Python with battle installed (skips the virtualenv); else VENV (.venv) made
#                     with PYTHON (python3), as ci/test.sh does
#   COMPOSE           the compose command; default `docker compose` where it exists, else `docker-compose`
#   DOCKER_SOCKET     the engine's socket as the engine sees it (/var/run/docker.sock), mounted into chaos
#   BATTLE_OBSERVER_GRACE_S  seconds the observer may take beyond the soak (1800)
#   TOOL_IMAGE CLOUD_IMAGE PLC_SIM_IMAGE HARNESS_IMAGE POSTGRES_IMAGE  use these instead of building them
set -u

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
STARTED=$(date +%s)
CODE=2
COMPOSE_FILE_PATH=$ROOT/docker-compose.battle.yml
BUILD_DIR=${BATTLE_BUILD_DIR:-$ROOT/build}

log() { printf '[battle] %s\n' "$*"; }
die() {
    printf '[battle] ERROR: %s\n' "$*" >&2
    exit 2
}

# ---------------------------------------------------------------- 1. Python, then the knobs

if [ -n "${BATTLE_PYTHON:-}" ]; then
    PY=$BATTLE_PYTHON
else
    VENV=${VENV:-.venv}
    if [ ! -x "$VENV/bin/python" ]; then
        "${PYTHON:-python3}" -m venv "$VENV" || die "cannot create the virtualenv $VENV with ${PYTHON:-python3}"
    fi
    PY=$VENV/bin/python
    want=$(cksum <pyproject.toml)
    if [ "$(cat "$VENV/.battle-installed" 2>/dev/null)" != "$want" ] || ! "$PY" -c 'import battle.cli' 2>/dev/null; then
        log "installing battle into $VENV"
        "$PY" -m pip install --quiet --disable-pip-version-check -e . || die "pip install -e . failed in $VENV"
        printf '%s\n' "$want" >"$VENV/.battle-installed"
    fi
fi

# Before anything touches Docker: a bad knob (or a plan that cannot be made) ends the run here, naming the
# knob and the accepted form. validate also decides the gates: each gate this soak cannot judge is demoted
# to report and said here, one line each, before the stack starts (STRICT_GATES=1: exit 2 instead); a
# variable that looks like a misspelt knob (SOAK_MINUTE) is warned about here too (STRICT_KNOBS=1: exit 2).
if ! gates=$("$PY" -m battle validate 2>&1 >/dev/null); then
    printf '%s\n' "$gates" >&2
    exit 2
fi
printf '%s\n' "$gates" | sed 's/^battle: /[battle] /'

# ---------------------------------------------------------------- 2. engine, compose, images

command -v docker >/dev/null 2>&1 || die "no docker CLI on PATH"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}); start dockerd or point DOCKER_HOST at one"
if [ -z "${COMPOSE:-}" ]; then
    if docker compose version >/dev/null 2>&1; then
        COMPOSE="docker compose"
    elif command -v docker-compose >/dev/null 2>&1; then
        COMPOSE=docker-compose
    else
        die "neither 'docker compose' (v2) nor 'docker-compose' (v1) is installed"
    fi
fi

sh "$ROOT/ci/bootstrap_images.sh" || die "the images could not be built or reused (see the bootstrap output above)"
set -a
# shellcheck disable=SC1091  # written by ci/bootstrap_images.sh
. "$BUILD_DIR/images.env"
set +a

# ---------------------------------------------------------------- 3. the run's environment

exports=$("$PY" -m battle compose-env) || die "cannot resolve the run's environment"
eval "$exports"
PROJECT=$COMPOSE_PROJECT_NAME
ART=${BATTLE_ARTIFACTS:-battle-artifacts}/$RUN_ID
GRACE_S=${BATTLE_OBSERVER_GRACE_S:-1800}
WATCH_TIMEOUT_S=$(awk -v m="$SOAK_MINUTES" -v g="$GRACE_S" 'BEGIN { printf "%d", m * 60 + g }')
compose() {
    # $COMPOSE is one word (docker-compose) or two (docker compose): split on purpose.
    # shellcheck disable=SC2086
    $COMPOSE -f "$COMPOSE_FILE_PATH" -p "$PROJECT" "$@"
}

project_containers() { docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"; }
project_volumes() { docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT"; }

# A verdict is valid only from fresh state: never reuse a project, its volumes or an artifacts folder.
[ -z "$(project_containers)$(project_volumes)" ] ||
    die "compose project $PROJECT already has containers or volumes; choose another RUN_ID"
[ ! -e "$ART" ] || die "$ART already exists; choose another RUN_ID"

# ---------------------------------------------------------------- 4. collect, judge, tear down

OBSERVER_EXIT=""
REASON=""
WATCH_PID=""
STACK_UP=0
FINISHED=0

collect() {
    mkdir -p "$ART/logs"
    # A container that is never started, to read the run volume: works on a remote engine (DinD) too.
    if docker volume inspect "${PROJECT}_run" >/dev/null 2>&1 &&
        helper=$(docker create -v "${PROJECT}_run:/runs" "$HARNESS_IMAGE" true); then
        docker cp "$helper:/runs/$RUN_ID/." "$ART/" >/dev/null 2>&1 ||
            log "the run volume holds no $RUN_ID/: the observer never wrote it"
        docker rm -f "$helper" >/dev/null 2>&1
    else
        log "no run volume ${PROJECT}_run to collect"
    fi
    # What the chaos feed wrote for the observer stays, renamed; logs/<service>.log is the engine's.
    for feed in "$ART"/logs/*.log; do
        [ -f "$feed" ] && mv "$feed" "${feed%.log}.feed.log"
    done
    : >"$ART/logs/containers.txt"
    for id in $(project_containers); do
        service=$(docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}}' "$id")
        docker logs "$id" >"$ART/logs/$service.log" 2>&1
        docker inspect --format "$service {{.State.Status}} exit={{.State.ExitCode}} oom={{.State.OOMKilled}} restarts={{.RestartCount}} started={{.State.StartedAt}} finished={{.State.FinishedAt}} image={{.Config.Image}}" \
            "$id" >>"$ART/logs/containers.txt"
    done
}

tear_down() {
    compose down -v --remove-orphans --timeout 30 >"$TMP_DIR/down.log" 2>&1 ||
        { log "compose down failed:"; cat "$TMP_DIR/down.log"; }
    # Whatever compose left (a profile it did not know, a helper), by label: never by name.
    for id in $(project_containers); do docker rm -f "$id" >/dev/null 2>&1; done
    for volume in $(project_volumes); do docker volume rm "$volume" >/dev/null 2>&1; done
}

finish() {
    [ "$FINISHED" = 1 ] && return
    FINISHED=1
    trap '' INT TERM HUP
    CODE=2
    if [ "$STACK_UP" = 1 ]; then
        if [ -n "$REASON" ]; then
            # Cut short (a signal, a timeout): chaos calms on SIGTERM, restoring every fault still applied
            # and journaling it, before the artifacts are collected and the stack goes away.
            log "calming: stopping the chaos service (it restores what is still applied and journals it)"
            compose stop --timeout 30 chaos >"$TMP_DIR/calm.log" 2>&1 ||
                { log "stopping chaos failed:"; cat "$TMP_DIR/calm.log"; }
        fi
        log "collecting artifacts into $ART"
        collect
        "$PY" -m battle finish-run "$ART" --observer-exit "$OBSERVER_EXIT" --reason "$REASON" \
            --started "$STARTED" --project "$PROJECT"
        CODE=$?
        [ -f "$ART/verdict.json" ] || CODE=2
        case $CODE in 0 | 1 | 2 | 3) ;; *) CODE=2 ;; esac
        log "tearing the stack down (down -v)"
        tear_down
    fi
    rm -rf "$TMP_DIR"
    log "exit $CODE after $(($(date +%s) - STARTED)) s; artifacts: $ART"
}

# shellcheck disable=SC2317  # called from the traps below
on_signal() {
    REASON="interrupted by SIG$1 before the verdict"
    log "$REASON: collecting what there is"
    [ -z "$WATCH_PID" ] || kill "$WATCH_PID" 2>/dev/null
    finish
    exit "$CODE"
}

TMP_DIR=$(mktemp -d)
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP
trap 'finish; exit "$CODE"' EXIT

# ---------------------------------------------------------------- 5. up, watch, verdict

log "starting $PROJECT with $COMPOSE (soak $SOAK_MINUTES min, observer timeout ${WATCH_TIMEOUT_S} s)"
STACK_UP=1
if ! compose up -d; then
    REASON="'$COMPOSE up' failed: a service did not start or become healthy (see logs/containers.txt)"
else
    # In the background, so that a signal to this script (CI cancelling the job) is handled at once:
    # `wait` returns when a trapped signal arrives, a foreground command would be waited for first.
    "$PY" -m battle stack-watch --project "$PROJECT" --timeout "$WATCH_TIMEOUT_S" \
        --exit-file "$TMP_DIR/observer-exit" &
    WATCH_PID=$!
    wait "$WATCH_PID"
    WATCH_PID=""
    OBSERVER_EXIT=$(cat "$TMP_DIR/observer-exit" 2>/dev/null || true)
    [ -n "$OBSERVER_EXIT" ] ||
        REASON="the observer gave no exit code within ${WATCH_TIMEOUT_S} s (timed out, or the watch failed)"
fi
finish
exit "$CODE"
