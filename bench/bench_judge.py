"""Benchmark of `python -m battle judge RUN_DIR` (verdict.json, junit.xml and report.html) on night-sized runs.

    python bench/bench_judge.py [--sizes 100000,300000,1000000] [--targets 100000] [--bots 8] [--hours 8]
                                [--rounds 3] [--cache DIR]

Generates one run dir per size with bench/gen_run_dir.py (cached under DIR, by default
$TMPDIR/battle-bench-judge, keyed by the generator's parameters), then times the whole judge as a
subprocess, `--rounds` times per size in alternating order (100k, 300k, 1M, 100k, ...), and prints each
size's wall time, CPU time (user + system of the judge and the workers it reaped: the machine may be
shared, so CPU time is the steadier measure) and peak RSS (min / median / max): of the largest process (ru_maxrss from wait4, which
covers the worker processes the judge forks and reaps) and of the whole process tree (the judge and its
workers together, summed from psutil samples every 10 ms). The package is byte-compiled first, as pip
installs it (the harness image): with PYTHONDONTWRITEBYTECODE set, a source tree is otherwise compiled anew
by every judge (about 0.17 s of each run's start-up).
Goal (issue 9): 1,000,000 ops over 100,000 targets, 8 bots: <= 3 s and <= 1 GB; 100,000 ops: <= 0.5 s.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import gen_run_dir  # noqa: E402
import psutil  # noqa: E402

GENERATOR_VERSION = 2  # bump when gen_run_dir's output changes, so cached run dirs are rebuilt


def run_dir_for(cache: Path, ops: int, targets: int, bots: int, hours: float, seed: int = 1) -> Path:
    """The cached run dir of these parameters, generated (atomically: a killed generator leaves no half dir)."""
    final = cache / f"v{GENERATOR_VERSION}-{ops}ops-{targets}t-{bots}b-{hours:g}h-s{seed}"
    if (final / "manifest.json").is_file():
        return final
    cache.mkdir(parents=True, exist_ok=True)
    partial = cache / f"{final.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    started = time.monotonic()
    gen_run_dir.generate(partial, ops, targets, bots, hours, seed)
    partial.rename(final)
    print(f"generated {final} in {time.monotonic() - started:.1f} s", flush=True)
    return final


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def judge_once(python: str, run_dir: Path) -> tuple[float, float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS of the largest process in MB, peak RSS of the process tree in MB,
    exit code) of one `battle judge` as a child process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    child = subprocess.Popen([python, "-m", "battle", "judge", str(run_dir)], cwd=REPO, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    process, tree = psutil.Process(child.pid), 0
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)  # this child's own rusage, not every child's so far
        if pid:
            break
        try:
            tree = max(tree, _tree_rss(process))
        except psutil.Error:
            pass
        time.sleep(0.01)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if child.stderr:
        child.stderr.close()
    if child.returncode not in (0, 1, 3) or "Traceback" in stderr:
        raise SystemExit(f"judge of {run_dir} failed (exit {child.returncode}):\n{stderr[-3000:]}")
    cpu = usage.ru_utime + usage.ru_stime  # (wait4 counts the child's reaped workers too)
    return wall, cpu, usage.ru_maxrss / 1024.0, tree / 2**20, child.returncode  # ru_maxrss: KiB on Linux


def _fmt(values: list[float], digits: int) -> str:
    return " / ".join(f"{v:.{digits}f}" for v in (min(values), statistics.median(values), max(values)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000,1000000", help="journal ops per run dir, comma-separated")
    parser.add_argument("--targets", type=int, default=100_000)
    parser.add_argument("--bots", type=int, default=8)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "battle-bench-judge")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs `battle judge`")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    dirs = {ops: run_dir_for(args.cache, ops, args.targets, args.bots, args.hours) for ops in sizes}
    compileall.compile_dir(REPO / "battle", quiet=1)
    walls: dict[int, list[float]] = {ops: [] for ops in sizes}
    cpus: dict[int, list[float]] = {ops: [] for ops in sizes}
    rss: dict[int, list[float]] = {ops: [] for ops in sizes}
    tree: dict[int, list[float]] = {ops: [] for ops in sizes}
    codes: dict[int, set[int]] = {ops: set() for ops in sizes}
    for round_no in range(1, args.rounds + 1):
        for ops in sizes:
            wall, cpu, peak, whole, code = judge_once(args.python, dirs[ops])
            walls[ops].append(wall)
            cpus[ops].append(cpu)
            rss[ops].append(peak)
            tree[ops].append(whole)
            codes[ops].add(code)
            print(f"round {round_no}: {ops:>9,} ops  {wall:6.2f} s  cpu {cpu:5.2f} s  {peak:7.0f} MB "
                  f"(tree {whole:.0f} MB)  exit {code}", flush=True)
    print(f"\nbattle judge, {args.targets:,} targets, {args.bots} bots, {args.hours:g} h of samples, "
          f"{args.rounds} rounds")
    print("| journal ops | wall s (min / median / max) | CPU s (user + sys) | peak RSS MB, largest process | peak RSS MB, process tree "
          "| exit |")
    print("|---:|---|---|---|---|---|")
    for ops in sizes:
        print(f"| {ops:,} | {_fmt(walls[ops], 2)} | {_fmt(cpus[ops], 2)} | {_fmt(rss[ops], 0)} | {_fmt(tree[ops], 0)} "
              f"| {','.join(map(str, sorted(codes[ops])))} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
