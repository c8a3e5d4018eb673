# Benchmarks print figures; they are not pass/fail tests.
PY ?= python3

.PHONY: bench bench-tool bench-cloud bench-plc bench-crew bench-judge bench-soak-cost test

bench: bench-tool bench-cloud bench-plc bench-crew

# The crew's CPU against the tool's at zero think time, on loopback (issue 9's goal: <= 0.25).
bench-crew:
	$(PY) bench/bench_crew.py

# The harness's own cost during a real soak at zero think time: observer and crew CPU, RSS, probe cadence.
# BACKEND=docker runs the stack with sh ci/run_scenario.sh; MINUTES sets the soak.
MINUTES ?= 5
BACKEND ?= local
bench-soak-cost:
	sh bench/soak_cost.sh $(BACKEND) $(MINUTES)

bench-tool:
	$(PY) bench/bench_tool.py

bench-cloud:
	$(PY) bench/bench_cloud.py

bench-plc:
	$(PY) bench/bench_plc.py

test:
	sh ci/test.sh

bench-judge:
	$(PY) bench/bench_judge.py
