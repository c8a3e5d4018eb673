#!/bin/sh
# Gate self-test: every planted bug must turn its gate red, and a clean run must be green
# (DESIGN.md sections 11 and 14: "prove it green on a healthy system and red on the bug it exists for").
# Runs on the local backend; about 4 minutes per case. Usage: sh ci/gate_selftest.sh [bug ...]
# Prints one line per case and exits 1 if any case did not turn out as expected: a bug case must exit 1
# with exactly its gates failing; the clean case must exit 0 with no failing gate.
set -u
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
RUNS="${RUNS_DIR:-runs/selftest}"
mkdir -p "$RUNS"
# bug | scenario | minutes | extra knobs | gate(s) that must fail
CASES='
none|s1|4|WARMUP_S=30|
stall|s1|4|WARMUP_S=30|I1
leak|s1|5|WARMUP_S=30 LEAK_MIN_WINDOW_S=120|I2
no_restore|s2|3||I3
clobber|s1|4|WARMUP_S=30 BOTS=24 THINK_MIN_MS=100 THINK_MAX_MS=400|I4
drop_429|s3|4||I4 I6
crash|s1|4|WARMUP_S=30|I5
conflict_drop|mutate|4|HOT_FRACTION=0.3 MUTATE_PERIOD_SEC=2|I4 I6
parked_gate|mutate|4|MUTATE_PERIOD_SEC=3|I7
lose_comment|s1|4|WARMUP_S=30|I4 I6
'
wanted="$*"
status=0
cases_file=$(mktemp)
trap 'rm -f "$cases_file"' EXIT
echo "$CASES" >"$cases_file"
while IFS='|' read -r bug scenario minutes extra gates; do
    [ -n "$bug" ] || continue
    if [ -n "$wanted" ] && ! echo " $wanted " | grep -q " $bug "; then continue; fi
    id="selftest-$bug-$(date -u +%Y%m%dT%H%M%S)"
    bugs="$bug"; [ "$bug" = none ] && bugs=""
    # shellcheck disable=SC2086 # extra knobs are word-split on purpose
    env BATTLE_SUT_BUGS="$bugs" $extra "$PY" -m battle run --backend local --scenario "$scenario" \
        --minutes "$minutes" --runs-dir "$RUNS" --run-id "$id" >"$RUNS/$id.log" 2>&1
    code=$?
    failing=$("$PY" -c 'import json,sys; v=json.load(open(sys.argv[1])); print(" ".join(sorted(r["id"] for r in v["results"] if r["status"]=="fail" and r.get("role")=="gate")))' "$RUNS/$id/verdict.json" 2>/dev/null)
    # A planted bug must turn exactly its gate(s) red AND the run's exit code to 1 (a gate that fails
    # while the run exits 0 is a detected loss that passed); a clean run must exit 0 with no failing gate.
    verdict_ok=yes
    if [ -z "$gates" ]; then
        [ "$code" = 0 ] || verdict_ok=no
        [ -z "$failing" ] || verdict_ok=no
    else
        [ "$code" = 1 ] || verdict_ok=no
        want=$(echo $gates | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')
        [ "$failing" = "$want" ] || verdict_ok=no
    fi
    printf '%-14s %-9s exit=%s failing=[%s] expected=[%s] %s\n' "$bug" "$scenario" "$code" "$failing" "$gates" \
        "$([ "$verdict_ok" = yes ] && echo OK || echo UNEXPECTED)"
    [ "$verdict_ok" = yes ] || status=1
done <"$cases_file"
exit $status
