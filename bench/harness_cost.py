"""The harness's own cost in a finished run, from its artifacts: `python bench/harness_cost.py RUN_DIR`.

Prints, from cost.csv (every 10 s, each service's CPU seconds and RSS; battle/observer/cost.py):
- every service's CPU as % of one core, and its RSS at the first, last and highest sample;
- the crew's CPU per op (ops: the journals' outcome lines) and the crew's CPU against the tool's;
- the observer's 1 Hz health probe cadence error (p50 / p99 / max lateness, from health.csv).
On the local backend the crew is the `bot<N>` threads of the harness process and `harness` is the rest
(observer, chaos, mutator, supervisor); on Docker each harness service is its own container.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from battle.common.timefmt import iso_utc  # noqa: E402
from battle.observer.cost import probe_lateness_ms, read_cost, summarize_cost  # noqa: E402


def journal_ops(run_dir: Path, window: tuple[float, float]) -> int:
    """Outcome lines stamped within the window (the span the crew's CPU was sampled over)."""
    first, last = (iso_utc(t).encode() for t in window)
    total = 0
    for path in run_dir.glob("journal-bot*.jsonl"):
        with open(path, "rb") as handle:
            for line in handle:
                if b'"type":"invoke"' in line:
                    continue
                at = line.find(b'"ts":"')
                if at >= 0 and first <= line[at + 6:at + 30] <= last:
                    total += 1
    return total


def probe_epochs(run_dir: Path) -> list[float]:
    epochs = []
    with open(run_dir / "health.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                epochs.append(float(row["epoch"]))
            except (KeyError, TypeError, ValueError):
                continue
    return epochs


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not (Path(argv[0]) / "cost.csv").is_file():
        print(__doc__, file=sys.stderr)
        print("error: give one run dir that has cost.csv", file=sys.stderr)
        return 2
    run_dir = Path(argv[0])
    rows = read_cost(run_dir / "cost.csv")
    summary = summarize_cost(rows)
    print(f"{'service':<14} {'CPU % core':>10} {'covered':>9} {'RSS first':>10} {'last':>8} {'max':>8}  (MB)")
    for name, cost in sorted(summary.items(), key=lambda item: -item[1].cpu_share):
        print(f"{name:<14} {cost.cpu_share * 100:>9.1f}% {cost.seconds / 60:>7.1f}m {cost.rss_first_mb:>10.1f} "
              f"{cost.rss_last_mb:>8.1f} {cost.rss_max_mb:>8.1f}")
    crew, tool = summary.get("crew"), summary.get("tool")
    crew_epochs = [epoch for epoch, service, *_ in rows if service == "crew"]
    ops = journal_ops(run_dir, (min(crew_epochs), max(crew_epochs))) if crew_epochs else 0
    if crew and ops:
        print(f"crew: {ops} ops in its sampled {crew.seconds / 60:.1f} min ({ops / crew.seconds:.0f} ops/s), "
              f"{crew.cpu_s / ops * 1e6:.0f} µs CPU per op")
    if crew and tool and tool.cpu_s > 0:
        print(f"crew CPU / tool CPU: {crew.cpu_s / tool.cpu_s:.2f}")
    lateness = probe_lateness_ms(probe_epochs(run_dir))
    print(f"health probe cadence: {lateness['probes']:.0f} probes, lateness p50 {lateness['p50']:.1f} ms, "
          f"p99 {lateness['p99']:.1f} ms, max {lateness['max']:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
