"""Time reading every tag of a full-size PLC from the simulator with pylogix (best of N).

    python bench/bench_plc.py [--tags plc_tags.json] [--repeats 3] [--delay-ms 0]

Without --tags it serves a synthetic file of the seed's shape (1,184 IO BOOLs, 172 fault BOOLs,
72 VFDs x Map/HP DINT + Dir/Rev BOOL = 1,644 tags). Three figures, seconds for all tags:
  cold    a fresh reader that does not know the types (pylogix asks the PLC once per tag first)
  typed   a fresh reader given the types from the tag file (connect + multi-reads)
  warm    the same typed reader again (multi-reads only)
The last line is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from battle.adapters.plc import PlcReader, load_tag_expectations  # noqa: E402


def synthetic_tag_file(path: Path) -> Path:
    tags = [{"name": f"MCM02_DI_{i:04d}", "type": "BOOL", "kind": "io", "initial": 0, "expected": None}
            for i in range(1, 1185)]
    tags += [{"name": f"MCM02_FLT_{i:03d}", "type": "BOOL", "kind": "fault", "initial": 0, "expected": None}
             for i in range(1, 173)]
    for v in range(1, 73):
        for suffix, cip_type, expected in (("Map", "DINT", v % 32 + 1), ("HP", "DINT", 50 + v),
                                           ("Dir", "BOOL", v % 2), ("Rev", "BOOL", 0)):
            tags.append({"name": f"VFD_{v:02d}_{suffix}", "type": cip_type, "kind": "vfd_flag",
                         "initial": 0, "expected": expected})
    path.write_text(json.dumps({"schema": 1, "tags": tags}))
    return path


def start_simulator(tags: Path, delay_ms: float) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sut.plcsim", "--tags", str(tags), "--host", "127.0.0.1", "--port", "0",
         "--delay-ms", str(delay_ms), "--delay-file", ""],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if ready else b""
    if not line:
        proc.kill()
        raise SystemExit("the simulator did not report plcsim.start within 60 s")
    event = json.loads(line)
    if event.get("event") != "plcsim.start":
        proc.kill()
        raise SystemExit(f"the simulator did not start: {event}")
    return proc, int(event["port"])


def best_of(repeats: int, run: Callable[[], int], expected_count: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        count = run()
        timings.append(time.perf_counter() - started)
        if count != expected_count:
            raise SystemExit(f"read {count} tags, expected {expected_count}")
    return min(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tags", type=Path, help="plc_tags.json (default: a synthetic 1,644-tag file)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        tags_file = args.tags or synthetic_tag_file(Path(scratch) / "plc_tags.json")
        loaded = load_tag_expectations(tags_file)
        names = list(loaded.types)
        proc, port = start_simulator(tags_file, args.delay_ms)
        try:
            def cold() -> int:
                with PlcReader("127.0.0.1", port, timeout=30.0) as reader:
                    return len(reader.read_tags(names))

            def typed() -> int:
                with PlcReader("127.0.0.1", port, timeout=30.0, types=loaded.types) as reader:
                    return len(reader.read_tags(names))

            warm_reader = PlcReader("127.0.0.1", port, timeout=30.0, types=loaded.types)
            warm_reader.read_tags(names)
            results = {
                "cold": best_of(args.repeats, cold, len(names)),
                "typed": best_of(args.repeats, typed, len(names)),
                "warm": best_of(args.repeats, lambda: len(warm_reader.read_tags(names)), len(names)),
            }
            warm_reader.close()
        finally:
            proc.terminate()
            proc.wait(timeout=15)

    for label, seconds in results.items():
        print(f"{label:5s} read of {len(names)} tags: {seconds:.2f} s (best of {args.repeats})")
    print(json.dumps({"bench": "plc_read_all", "tags": len(names), "delayMs": args.delay_ms,
                      "repeats": args.repeats, **{f"{k}S": round(v, 3) for k, v in results.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
