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
# The Docker driver's integration test and the e2e tier need the stack's images. With an engine that
# answers, build or reuse them (content-hash tags: a warm re-run takes about a second) before the first
# tier that needs them, so no Docker test can skip for want of an image. A failed build is counted, not
# fatal: the tiers still run and print their summaries. With no engine, the Docker tests skip and say so.
prepare_images() {
    if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
        echo "== images (ci/bootstrap_images.sh)"
        sh ci/bootstrap_images.sh
    else
        echo "== no Docker engine answers: the Docker tests will skip"
    fi
}
images_prepared=0
for tier in $TIERS; do
    if [ "$tier" != unit ] && [ "$images_prepared" = 0 ]; then
        images_prepared=1
        prepare_images || status=$?
    fi
    echo "== pytest tests/$tier"
    "$VENV/bin/python" -m pytest "tests/$tier" -q -p no:cacheprovider || status=$?
done
exit $status
