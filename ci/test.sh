#!/bin/sh
# Runs every test tier. Does its own set-up: a virtualenv with the project and its dev tools.
# TIERS="unit integration e2e" by default; the e2e tier skips (and says so) where no Docker engine answers.
set -eu
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install --quiet -e '.[dev]'
echo "== ruff"
"$VENV/bin/ruff" check battle sut seed tests
echo "== mypy (harness)"
"$VENV/bin/mypy" battle
TIERS="${TIERS:-unit integration e2e}"
status=0
for tier in $TIERS; do
    echo "== pytest tests/$tier"
    "$VENV/bin/python" -m pytest "tests/$tier" -q -p no:cacheprovider || status=$?
done
exit $status
