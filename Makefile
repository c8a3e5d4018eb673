# Benchmarks print figures; they are not pass/fail tests.
PY ?= python3

.PHONY: bench bench-tool bench-cloud bench-plc bench-judge test

bench: bench-tool bench-cloud bench-plc

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
