#!/bin/sh
# Build, or reuse, every image the Docker stack needs, with or without a
# container registry, and write build/images.env for compose.
#
#   sh ci/bootstrap_images.sh
#
# Every tag is a hash of what went into the image (its Dockerfile, the base or
# dependency image it starts from, pyproject.toml, the source folders it
# copies), so a re-run with nothing changed reuses everything and an edit
# rebuilds only what it touched. Each step prints what it built or reused and
# how long it took; build output goes to build/logs/.
#
# Environment (all optional):
#   BATTLE_IMAGE_SOURCE  auto (default) | registry | airgap
#                        registry: python:3.11-slim + postgres:16 (pulled when missing)
#                        airgap:   a debootstrapped Debian base, Postgres from Debian's packages
#                        auto:     whatever is already here, else try a pull, else airgap
#   DEBIAN_SUITE         bookworm (the base's Python must be 3.11, like the wheelhouse)
#   DEBIAN_MIRROR        default: the mirror the host's apt sources name for the suite
#   HOST_PYTHON          python3 (a CPython 3.11 on linux x86_64, to fill the wheelhouse)
#   BATTLE_BUILD_DIR     build
#   HARNESS_IMAGE TOOL_IMAGE CLOUD_IMAGE PLC_SIM_IMAGE POSTGRES_IMAGE
#                        set by the caller: used as given, not built, and written as is
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BATTLE_BUILD_DIR:-$ROOT/build}
SOURCE_MODE=${BATTLE_IMAGE_SOURCE:-auto}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
HOST_PYTHON=${HOST_PYTHON:-python3}
REGISTRY_PYTHON_BASE=python:3.11-slim
REGISTRY_POSTGRES=postgres:16
BASE_PACKAGES=python3,python3-venv,ca-certificates,tini,procps
PULL_TIMEOUT_S=20

WHEELHOUSE=$BUILD_DIR/wheelhouse
LOG_DIR=$BUILD_DIR/logs
IMAGES_ENV=$BUILD_DIR/images.env

log() { printf '[bootstrap] %s\n' "$*"; }
die() { printf '[bootstrap] ERROR: %s\n' "$*" >&2; exit 1; }

now_ms() {
    t=$(date +%s%N)
    case $t in
        *N) echo $(($(date +%s) * 1000)) ;;
        *) echo $((t / 1000000)) ;;
    esac
}

seconds() { printf '%d.%d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# Steps set OUTCOME (built / reused / skipped ...); run_step times them.
SUMMARY=""
# (sh has no local variables: step_* names are run_step's alone.)
run_step() {
    step_name=$1
    shift
    OUTCOME=""
    log "-> $step_name"
    step_started=$(now_ms)
    "$@"
    step_took=$(($(now_ms) - step_started))
    log "<- $step_name: $OUTCOME ($(seconds "$step_took"))"
    SUMMARY="$SUMMARY$(printf '  %-10s %9s  %s' "$step_name" "$(seconds "$step_took")" "$OUTCOME")
"
}

short_hash() { sha256sum | cut -c1-12; }

# Paths and contents of every file under the given folders (relative to ROOT),
# minus the caches that the build context leaves out too.
tree_hash() (
    cd "$ROOT"
    find "$@" \( -name __pycache__ -o -name '*.egg-info' -o -name '.*_cache' \) -prune \
        -o -type f ! -name '*.pyc' -print0 |
        LC_ALL=C sort -z | xargs -0 -r sha256sum | short_hash
)

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

image_id() { docker image inspect --format '{{.Id}}' "$1"; }

# build_image TAG LOG_NAME DOCKERFILE [docker build args...] < context tar
build_image() {
    tag=$1 log_file=$LOG_DIR/$2.log dockerfile=$3
    shift 3
    if ! docker build --force-rm --file "$dockerfile" --tag "$tag" "$@" - >"$log_file" 2>&1; then
        tail -n 30 "$log_file" >&2
        die "docker build of $tag failed; full log: $log_file"
    fi
    docker tag "$tag" "${tag%%:*}:latest"
}

# Tar of build inputs for `docker build -`, leaving out the same caches as tree_hash.
context_tar() {
    tar -c -f - --exclude=__pycache__ --exclude='*.egg-info' --exclude='.*_cache' --exclude='*.pyc' "$@"
}

# source_context_tar DOCKERFILE FOLDER... : pyproject.toml and the folders
# under src/, and the Dockerfile where it is, for an app image's `docker build -`.
source_context_tar() {
    dockerfile=$1
    shift
    names=pyproject.toml
    for folder in "$@"; do names="$names\\|$folder"; done
    context_tar "--transform=s,^\($names\)\(/\|\$\),src/\1\2," "$dockerfile" pyproject.toml "$@"
}

# ---------------------------------------------------------------- steps

check_engine() {
    command -v docker >/dev/null 2>&1 || die "no docker CLI on PATH"
    version=$(docker version --format '{{.Server.Version}}' 2>/dev/null) ||
        die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}); start dockerd or point DOCKER_HOST at one"
    OUTCOME="engine $version"
}

try_pull() {
    if command -v timeout >/dev/null 2>&1; then
        timeout "$PULL_TIMEOUT_S" docker pull --quiet "$1" >/dev/null 2>&1
    else
        docker pull --quiet "$1" >/dev/null 2>&1
    fi
}

base_tag() {
    { printf '%s\n' "$DEBIAN_SUITE" "$BASE_PACKAGES"; cat "$ROOT/docker/scripts/make_debian_base.sh"; } |
        short_hash | sed 's/^/battle-base-debian:/'
}

# Registry or air gap. Prefers what is already here, so a warm run needs no network.
choose_source() {
    AIRGAP_BASE=$(base_tag)
    case $SOURCE_MODE in
        registry | airgap) OUTCOME="$SOURCE_MODE (BATTLE_IMAGE_SOURCE)" ;;
        auto)
            if image_exists "$REGISTRY_PYTHON_BASE"; then
                SOURCE_MODE=registry OUTCOME="registry ($REGISTRY_PYTHON_BASE already here)"
            elif image_exists "$AIRGAP_BASE"; then
                SOURCE_MODE=airgap OUTCOME="airgap ($AIRGAP_BASE already here)"
            elif try_pull "$REGISTRY_PYTHON_BASE"; then
                SOURCE_MODE=registry OUTCOME="registry (pulled $REGISTRY_PYTHON_BASE)"
            else
                SOURCE_MODE=airgap OUTCOME="airgap (no registry answered a pull of $REGISTRY_PYTHON_BASE)"
            fi
            ;;
        *) die "BATTLE_IMAGE_SOURCE=$SOURCE_MODE: accepted values are auto, registry, airgap" ;;
    esac
}

ensure_base() {
    if [ "$SOURCE_MODE" = registry ]; then
        BASE_IMAGE=$REGISTRY_PYTHON_BASE
        if image_exists "$BASE_IMAGE"; then
            OUTCOME="reused $BASE_IMAGE"
        else
            try_pull "$BASE_IMAGE" || die "cannot pull $BASE_IMAGE; try BATTLE_IMAGE_SOURCE=airgap"
            OUTCOME="pulled $BASE_IMAGE"
        fi
        return
    fi
    BASE_IMAGE=$AIRGAP_BASE
    if image_exists "$BASE_IMAGE"; then
        OUTCOME="reused $BASE_IMAGE"
        return
    fi
    mirror=${DEBIAN_MIRROR:-$(sh "$ROOT/docker/scripts/debian_mirror.sh" "$DEBIAN_SUITE")}
    sh "$ROOT/docker/scripts/make_debian_base.sh" "$BASE_IMAGE" "$DEBIAN_SUITE" "$mirror" \
        "$BASE_PACKAGES" "$BUILD_DIR/debootstrap"
    docker tag "$BASE_IMAGE" battle-base-debian:latest
    OUTCOME="built $BASE_IMAGE from $mirror"
}

ensure_postgres() {
    if [ -n "${POSTGRES_IMAGE:-}" ]; then
        OUTCOME="skipped: POSTGRES_IMAGE=$POSTGRES_IMAGE set by the caller"
        return
    fi
    if [ "$SOURCE_MODE" = registry ]; then
        if image_exists "$REGISTRY_POSTGRES" || try_pull "$REGISTRY_POSTGRES"; then
            POSTGRES_IMAGE=$REGISTRY_POSTGRES OUTCOME="using $REGISTRY_POSTGRES"
            return
        fi
        log "cannot pull $REGISTRY_POSTGRES; building Postgres from Debian's packages"
    fi
    tag=battle-postgres:$({ image_id "$BASE_IMAGE"; cat "$ROOT/docker/postgres.Dockerfile" \
        "$ROOT/docker/postgres-entrypoint.sh"; } | short_hash)
    POSTGRES_IMAGE=$tag
    if image_exists "$tag"; then
        docker tag "$tag" battle-postgres:latest
        OUTCOME="reused $tag"
        return
    fi
    # Host network: apt inside the build must reach the same mirror the host reaches.
    (cd "$ROOT" && context_tar docker/postgres.Dockerfile docker/postgres-entrypoint.sh) |
        build_image "$tag" postgres docker/postgres.Dockerfile --network host \
            --build-arg "BASE_IMAGE=$BASE_IMAGE"
    OUTCOME="built $tag"
}

# What the dependency image installs. Its hash (not pyproject.toml's) decides
# reuse of the wheelhouse and of the dependency image, so edits elsewhere in
# pyproject.toml rebuild neither.
resolve_requirements() {
    REQUIREMENTS=$("$HOST_PYTHON" "$ROOT/docker/scripts/requirements.py" "$ROOT/pyproject.toml") ||
        die "cannot read the dependencies from pyproject.toml with $HOST_PYTHON (needs Python 3.11+)"
    DEPS_IMAGE=battle-pydeps:$({ image_id "$BASE_IMAGE"; printf '%s\n' "$REQUIREMENTS"; cat \
        "$ROOT/docker/pydeps.Dockerfile"; } | short_hash)
}

# Only the dependency image reads the wheelhouse: when that image exists (a
# fresh clone on a machine that built it before) there is nothing to download.
ensure_wheelhouse() {
    if image_exists "$DEPS_IMAGE"; then
        OUTCOME="not needed: $DEPS_IMAGE exists"
        return
    fi
    stamp=$WHEELHOUSE/.requirements
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$REQUIREMENTS" ]; then
        OUTCOME="reused $WHEELHOUSE ($(find "$WHEELHOUSE" -name '*.whl' | wc -l) wheels)"
        return
    fi
    # The wheels must fit the images' CPython 3.11 on linux x86_64 (bookworm's).
    abi=$("$HOST_PYTHON" -c 'import platform, sys; print("cp%d%d-%s-%s" % (sys.version_info[:2] + (platform.system().lower(), platform.machine())))')
    [ "$abi" = cp311-linux-x86_64 ] ||
        die "the wheelhouse must be filled by CPython 3.11 on linux x86_64, and $HOST_PYTHON is $abi; set HOST_PYTHON"
    rm -rf "$WHEELHOUSE"
    mkdir -p "$WHEELHOUSE"
    printf '%s\n' "$REQUIREMENTS" >"$WHEELHOUSE/requirements.txt"
    # pip wheel: binary wheels where PyPI has them, and a wheel built here for
    # the few sdist-only (pure Python) ones, so the images never need an index.
    if ! "$HOST_PYTHON" -m pip wheel --disable-pip-version-check --prefer-binary \
        --wheel-dir "$WHEELHOUSE" -r "$WHEELHOUSE/requirements.txt" >"$LOG_DIR/wheelhouse.log" 2>&1; then
        tail -n 30 "$LOG_DIR/wheelhouse.log" >&2
        die "filling the wheelhouse failed; full log: $LOG_DIR/wheelhouse.log"
    fi
    printf '%s\n' "$REQUIREMENTS" >"$stamp"
    OUTCOME="filled $WHEELHOUSE ($(find "$WHEELHOUSE" -name '*.whl' | wc -l) wheels, $(du -sh "$WHEELHOUSE" | cut -f1))"
}

ensure_deps_image() {
    if image_exists "$DEPS_IMAGE"; then
        docker tag "$DEPS_IMAGE" battle-pydeps:latest
        OUTCOME="reused $DEPS_IMAGE"
        return
    fi
    context_tar -C "$ROOT" docker/pydeps.Dockerfile -C "$BUILD_DIR" wheelhouse |
        build_image "$DEPS_IMAGE" pydeps docker/pydeps.Dockerfile --network host \
            --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg PYTHON=python3
    # The classic builder keeps the venv stage as an untagged image; only ours go.
    docker image prune --force --filter label=battle.stage=pydeps-venv >/dev/null
    OUTCOME="built $DEPS_IMAGE"
}

# ensure_app_image VAR NAME FOLDER... : battle-NAME from docker/NAME.Dockerfile
# copying pyproject.toml and FOLDERs; sets VAR unless the caller set it.
ensure_app_image() {
    var=$1 name=$2
    shift 2
    eval "given=\${$var:-}"
    if [ -n "$given" ]; then
        OUTCOME="skipped: $var=$given set by the caller"
        return
    fi
    for folder in "$@"; do
        [ -d "$ROOT/$folder" ] || die "$name image copies $folder/, which does not exist in $ROOT"
    done
    dockerfile=docker/$name.Dockerfile
    tag=battle-$name:$({ image_id "$DEPS_IMAGE"; cat "$ROOT/$dockerfile" "$ROOT/pyproject.toml"; tree_hash "$@"; } |
        short_hash)
    eval "$var=\$tag"
    if image_exists "$tag"; then
        docker tag "$tag" "battle-$name:latest"
        OUTCOME="reused $tag"
        return
    fi
    (cd "$ROOT" && source_context_tar "$dockerfile" "$@") |
        build_image "$tag" "$name" "$dockerfile" --build-arg "DEPS_IMAGE=$DEPS_IMAGE"
    OUTCOME="built $tag"
}

write_images_env() {
    tmp=$IMAGES_ENV.tmp.$$
    {
        echo "# written by ci/bootstrap_images.sh ($SOURCE_MODE); KEY=value, for compose --env-file or sh"
        echo "HARNESS_IMAGE=$HARNESS_IMAGE"
        echo "TOOL_IMAGE=$TOOL_IMAGE"
        echo "CLOUD_IMAGE=$CLOUD_IMAGE"
        echo "PLC_SIM_IMAGE=$PLC_SIM_IMAGE"
        echo "POSTGRES_IMAGE=$POSTGRES_IMAGE"
    } >"$tmp"
    mv "$tmp" "$IMAGES_ENV"
    OUTCOME="wrote $IMAGES_ENV"
}

# ---------------------------------------------------------------- main

mkdir -p "$BUILD_DIR" "$LOG_DIR"
# One bootstrap at a time per checkout: two debootstraps into one folder wreck both.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$BUILD_DIR/.bootstrap.lock"
    flock -n 9 || { log "another bootstrap holds $BUILD_DIR/.bootstrap.lock; waiting"; flock 9; }
fi

total_started=$(now_ms)
run_step engine check_engine
run_step source choose_source
run_step base ensure_base
run_step postgres ensure_postgres
resolve_requirements
run_step wheelhouse ensure_wheelhouse
run_step pydeps ensure_deps_image
run_step harness ensure_app_image HARNESS_IMAGE harness battle seed
run_step tool ensure_app_image TOOL_IMAGE tool sut seed
run_step cloud ensure_app_image CLOUD_IMAGE cloud sut seed
run_step plcsim ensure_app_image PLC_SIM_IMAGE plcsim sut seed
run_step env write_images_env
log "done in $(seconds $(($(now_ms) - total_started)))"
printf '%s' "$SUMMARY"
cat "$IMAGES_ENV"
