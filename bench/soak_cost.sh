#!/bin/sh
# The harness's own cost during a real soak at zero think time (issue 9): a run of s1, then
# bench/harness_cost.py over its run dir (observer and crew CPU, RSS over the run, probe cadence).
#
#   sh bench/soak_cost.sh [local|docker] [MINUTES]      # make bench-soak-cost BACKEND=docker MINUTES=30
#
# Zero think time makes the crew drive the tool as hard as it can, so the crew's CPU is compared with a
# saturated tool's. THINK_MIN_MS / THINK_MAX_MS / SCENARIO in the environment override.
set -u
cd "$(dirname "$0")/.." || exit 2
BACKEND=${1:-local}
MINUTES=${2:-5}
PY=${BATTLE_PYTHON:-.venv/bin/python}
export THINK_MIN_MS=${THINK_MIN_MS:-0} THINK_MAX_MS=${THINK_MAX_MS:-0} SCENARIO=${SCENARIO:-s1}
RUN_ID=cost-$BACKEND-$(date -u +%Y%m%dT%H%M%SZ)
case $BACKEND in
    docker)
        RUN_ID=$RUN_ID SOAK_MINUTES=$MINUTES sh ci/run_scenario.sh
        CODE=$?
        RUN_DIR=${BATTLE_ARTIFACTS:-battle-artifacts}/$RUN_ID ;;
    local)
        [ -x "$PY" ] || { python3 -m venv .venv && .venv/bin/pip install -q -e . ; } || exit 2
        "$PY" -m battle run --backend local --minutes "$MINUTES" --runs-dir runs --run-id "$RUN_ID"
        CODE=$?
        RUN_DIR=runs/$RUN_ID ;;
    *) echo "usage: sh bench/soak_cost.sh [local|docker] [MINUTES]" >&2; exit 2 ;;
esac
echo "verdict exit code $CODE (the cost below is measured whatever the verdict)"
"$PY" bench/harness_cost.py "$RUN_DIR"
