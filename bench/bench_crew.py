"""Benchmark of the crew's own cost against the tool's, at zero think time, on loopback.

    python bench/bench_crew.py [--seconds 20] [--warmup 3] [--bots 8] [--rounds 3]

Starts the reference tool with the real cloud (SQLite) and PLC simulator (bench/bench_tool.py's stack),
then runs the real crew (`battle.crew.crew.run_crew`, journals and all) in its own process with
THINK_MIN_MS = THINK_MAX_MS = 0. After `--warmup` seconds it measures, over `--seconds`, the CPU time of the
crew process and of the tool process (user + system, psutil) and the ops the journals gained, then STOPs the
crew the way the observer does. Prints per round and the median over rounds:

- ops/s reached, crew CPU µs per op, tool CPU µs per op;
- crew CPU / tool CPU (issue 9's goal: <= 0.25; the tool must be the one that saturates);
- the CPU share of a core of crew, tool, cloud and plcsim.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))

import bench_tool  # noqa: E402
import psutil  # noqa: E402

GOAL_RATIO = 0.25


def crew_main(run_dir: str, tool_url: str, bots: int) -> int:
    """The crew process: the real crew, zero think time, until STOP."""
    from battle.adapters.base import SutEndpoints
    from battle.adapters.registry import build_adapter
    from battle.crew.crew import CrewSettings, run_crew

    adapter = build_adapter("reference", SutEndpoints(tool_url=tool_url, cloud_url=tool_url))  # the crew needs no cloud
    stats = run_crew(CrewSettings(run_dir=Path(run_dir), tool_url=tool_url, bots=bots, seed=1, think_min_ms=0,
                                  think_max_ms=0, hot_fraction=0.1), adapter)
    errors = sum(s.errors for s in stats.values())
    return 1 if errors else 0


def journal_ops(run_dir: Path) -> int:
    """Ops finished so far: the journals' outcome lines (every line that is not an invoke)."""
    total = 0
    for path in run_dir.glob("journal-bot*.jsonl"):
        data = path.read_bytes()
        total += data.count(b"\n") - data.count(b'"type":"invoke"')
    return total


def cpu_s(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass(frozen=True)
class Round:
    ops_per_s: float
    crew_us_per_op: float
    tool_us_per_op: float
    ratio: float
    shares: dict[str, float]


def one_round(procs: list[bench_tool.Proc], tool_url: str, bots: int, warmup: float, seconds: float) -> Round:
    with tempfile.TemporaryDirectory(prefix="bench-crew-run-") as folder:
        run_dir = Path(folder)
        (run_dir / "control").mkdir()
        crew = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--as-crew", str(run_dir),
                                 tool_url, str(bots)], cwd=REPO)
        watched = {"crew": psutil.Process(crew.pid)}
        watched.update({p.name: psutil.Process(p.proc.pid) for p in procs})
        try:
            time.sleep(warmup)
            cpu0 = {name: cpu_s(p) for name, p in watched.items()}
            ops0, t0 = journal_ops(run_dir), time.monotonic()
            time.sleep(seconds)
            cpu1 = {name: cpu_s(p) for name, p in watched.items()}
            ops1, t1 = journal_ops(run_dir), time.monotonic()
        finally:
            (run_dir / "control" / "STOP").write_text("stop\n", encoding="utf-8")
            try:
                crew.wait(30)
            except subprocess.TimeoutExpired:
                crew.kill()
        if crew.returncode not in (0, None):
            raise SystemExit(f"the crew exited {crew.returncode}: a harness error, see its output")
        ops, wall = ops1 - ops0, t1 - t0
        if ops <= 0:
            raise SystemExit("the crew journaled no op in the window: is the tool answering?")
        used = {name: cpu1[name] - cpu0[name] for name in watched}
        return Round(ops_per_s=ops / wall, crew_us_per_op=used["crew"] / ops * 1e6,
                     tool_us_per_op=used["tool"] / ops * 1e6, ratio=used["crew"] / used["tool"],
                     shares={name: used[name] / wall for name in watched})


def show(label: str, r: Round) -> None:
    shares = "  ".join(f"{name} {share * 100:.0f}%" for name, share in r.shares.items())
    print(f"{label}: {r.ops_per_s:.0f} ops/s  crew {r.crew_us_per_op:.0f} µs/op  tool {r.tool_us_per_op:.0f} µs/op"
          f"  crew/tool {r.ratio:.2f}  (CPU of a core: {shares})")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--as-crew":
        return crew_main(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--bots", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-crew-") as folder:
        procs, tool_url, _cloud_url, _tool_pid = bench_tool.start_stack(Path(folder))
        try:
            rounds = []
            for n in range(args.rounds):
                rounds.append(one_round(procs, tool_url, args.bots, args.warmup, args.seconds))
                show(f"round {n + 1}", rounds[-1])
        finally:
            for proc in procs:
                proc.stop()
    median = Round(ops_per_s=statistics.median(r.ops_per_s for r in rounds),
                   crew_us_per_op=statistics.median(r.crew_us_per_op for r in rounds),
                   tool_us_per_op=statistics.median(r.tool_us_per_op for r in rounds),
                   ratio=statistics.median(r.ratio for r in rounds),
                   shares={k: statistics.median(r.shares[k] for r in rounds) for k in rounds[0].shares})
    show(f"median of {len(rounds)}, {args.bots} bots, think 0 ms", median)
    verdict = "meets" if median.ratio <= GOAL_RATIO else "misses"
    print(f"crew CPU / tool CPU {median.ratio:.2f}: {verdict} the goal <= {GOAL_RATIO}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
