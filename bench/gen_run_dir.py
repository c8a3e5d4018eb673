"""Generate a sealed run directory of any size, in the exact artifact formats a real run leaves.

    python bench/gen_run_dir.py OUT_DIR [--ops 1000000] [--targets 100000] [--bots 8] [--hours 8] [--seed 1]

The shapes are those of a real local `s1` run (`battle run --backend local --scenario s1`): the manifest
from `build_manifest` with its `times` and `seal`, plan.json from the real plan, health.csv at 1 Hz and
memory.csv every 5 s over the whole soak (three services), one journal per bot (an `invoke` line and one
outcome line per op, `json.dumps(sort_keys=True, separators=(",", ":"))` as `JsonlWriter` writes them),
events.jsonl with the tool's `server.start`, `health`, `pull.applied` and one `sync.pushed` per second
listing the writes the cloud applied, the three snapshots and settle.json.

The crew is modelled as the real one works: `target % bots == bot` for owned targets, a 16-IO hot set every
bot writes (10% of the ops), the `mark` action's results and comments; about 1% of outcomes are `fail`
(HTTP 409, not applied) and 0.1% `info` (a read timeout, applied). The tool applies every `ok` and `info`
write in time order, so both snapshots hold each target's last applied write: the run judges PASS.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from battle.adapters.reference_io import FAILED_COMMENTS  # noqa: E402
from battle.backends.manifest import build_manifest  # noqa: E402
from battle.chaos.plan import plan_to_json  # noqa: E402
from battle.common.jsonl import write_json_atomic  # noqa: E402
from battle.common.timefmt import iso_utc  # noqa: E402
from battle.config import resolve  # noqa: E402
from battle.gating import plan_and_gates  # noqa: E402
from battle.judging import seal_run_dir  # noqa: E402

START_MS = 1_796_221_246_243  # the real run's startedAt (2026-12-02T14:20:46.243Z)
STARTUP_MS = 3_998  # startedAt -> soakStart
HOT_SET_SIZE = 16
HOT_FRACTION = 0.1
SERVICES = (("tool", 42.0), ("cloud", 36.4), ("plc-sim", 28.7))
_JOURNAL = ('{{"action":"mark","bot":{bot},"error":{error},"hot":{hot},"kind":"io","latencyMs":{latency},'
            '"lifetime":"{lifetime}","mono":{mono!r},"op":{op},"schema":2,"status":{status},"target":{target},'
            '"ts":"{ts}","type":"{type}","value":{{"comments":{comments},"currentUser":"bot{bot}",'
            '"result":"{result}"}}}}\n')


class Clock:
    """ISO-8601 UTC stamps of whole milliseconds, as `iso_utc` writes them, with one strftime per second."""

    def __init__(self) -> None:
        self._second: int | None = None
        self._prefix = ""

    def iso(self, ms: int) -> str:
        second, millis = divmod(ms, 1000)
        if second != self._second:
            self._second, self._prefix = second, iso_utc(float(second))[:-5]
        return f"{self._prefix}.{millis:03d}Z"


def _io_row(io_id: int, spare: bool) -> dict[str, Any]:
    module, point = divmod(io_id - 1, 16)
    return {"comments": "", "description": f"MCM{module // 64:02d} point {point} of card {module}", "id": io_id,
            "isSpare": int(spare), "name": f"MCM{module // 64:02d}_R{module % 64:02d}_S01_DI{point:02d}",
            "result": None, "subsystemId": 38 + module // 64, "tagName": f"MCM{module // 64:02d}_T{io_id}",
            "updatedAt": "2026-11-20T06:03:00.000Z", "version": 1}


def _result(rng: random.Random, spare: bool) -> str:
    roll = rng.random()  # the `mark` action: about 75/20/5 Passed/Failed/Cleared, a spare never Passed
    if roll < 0.75:
        return "Failed" if spare else "Passed"
    return "Failed" if roll < 0.95 else "Cleared"


def generate(out: Path, ops: int = 1_000_000, targets: int = 100_000, bots: int = 8, hours: float = 8.0,
             seed: int = 1) -> Path:
    """Write the run dir `out` (created; must not exist yet) and seal it; returns `out`."""
    if targets < bots * 2 or bots < 1 or ops < bots:
        raise ValueError("need at least 2 targets per bot and one op per bot")
    out.mkdir(parents=True)
    rng = random.Random(seed)
    clock = Clock()
    soak_ms = int(hours * 3600 * 1000)
    t0 = START_MS + STARTUP_MS
    end = t0 + soak_ms
    config = resolve({"SCENARIO": "s1", "SOAK_MINUTES": f"{hours * 60:g}", "BOTS": str(bots), "SEED": str(seed)})
    plan, decision = plan_and_gates(config)
    run_id = f"s1-gen-{ops}ops-{targets}t-{bots}b"
    manifest = build_manifest(config, run_id, "local", START_MS / 1000, decision)
    warmup_ms = int(float(config.limits()["WARMUP_S"]) * 1000)
    (out / "plan.json").write_text(plan_to_json(plan), encoding="utf-8")

    spares = {i for i in range(1, targets + 1) if i % 50 == 0}
    hot_ids = sorted(random.Random(f"{seed}:hot").sample(range(1, targets + 1), HOT_SET_SIZE))
    hot_set = set(hot_ids)
    owned = [[t for t in range(1, targets + 1) if t % bots == b and t not in hot_set] for b in range(bots)]
    # The tool's view: every ok/info write applied in time order (the last one stays).
    applied: list[tuple[int, int, str, str]] = []  # (ms, target, result, comments)
    for bot in range(bots):
        _journal(out, bot, ops // bots + (bot < ops % bots), owned[bot], hot_ids, spares, t0, end, clock,
                 random.Random(f"{seed}:bot{bot}"), applied)
    applied.sort()
    rows = {i: _io_row(i, i in spares) for i in range(1, targets + 1)}
    pushes: dict[int, list[dict[str, Any]]] = {}
    for ms, target, result, comments in applied:
        row = rows[target]
        row.update(result=None if result == "Cleared" else result, comments=comments, version=row["version"] + 1,
                   updatedAt=clock.iso(ms))
        pushes.setdefault((ms + 999) // 1000, []).append(
            {"comments": comments, "ioId": target, "result": row["result"], "version": row["version"]})
    del applied
    cloud = [rows[i] for i in sorted(rows)]
    write_json_atomic(out / "snapshot-cloud.json", cloud)
    write_json_atomic(out / "snapshot-local.json", [{**r, "pending": None} for r in cloud])
    del cloud, rows
    write_json_atomic(out / "snapshot-queue.json", {"active": 0, "parked": 0, "parkedRows": []})
    write_json_atomic(out / "settle.json", {"convergeS": 0.027, "converged": True, "drained": True, "lastError": None,
                                            "lastQueue": {"active": 0, "parked": 0, "parkedRows": []}, "polls": 2,
                                            "seconds": 1.0108411589999378, "stillDiffering": 0})
    _events(out, pushes, targets, t0, end, clock, rng)
    _health(out, t0, end, warmup_ms, clock, rng)
    _memory(out, t0, end, clock, rng)
    (out / "plc-readback.jsonl").write_text("", encoding="utf-8")
    manifest.update(calm={"failed": [], "ok": True, "problems": [], "reason": None, "restored": [], "running": {}},
                    startup={"cloud": 0.22, "cloud-proxy": 0.22, "plc-sim": 3.05, "tool": 0.24})
    manifest["times"] = {"soakStart": clock.iso(t0), "soakEnd": clock.iso(end), "quiesced": clock.iso(end + 202),
                         "calmed": clock.iso(end + 203), "settled": clock.iso(end + 1242),
                         "snapshotted": clock.iso(end + 1292)}
    manifest["seal"] = seal_run_dir(out, manifest)
    manifest["seal"]["sealedAt"] = clock.iso(end + 1300)
    write_json_atomic(out / "manifest.json", manifest)
    return out


def _journal(out: Path, bot: int, count: int, own: list[int], hot: list[int], spares: set[int], t0: int,
             end: int, clock: Clock, rng: random.Random, applied: list[tuple[int, int, str, str]]) -> None:
    lifetime = f"{29565 + bot}-{t0 - 3_000 + bot}"
    mono0 = 7942.367785 - (t0 - START_MS) / 1000
    step = (end - t0 - 2_000) / max(count, 1)
    ready = t0 + 1_000  # a bot is sequential: its next request goes out after the last one came back
    comments_json = {c: json.dumps(c) for c in ("", *FAILED_COMMENTS)}
    lines: list[str] = []
    with open(out / f"journal-bot{bot}.jsonl", "w", encoding="utf-8") as handle:
        for op in range(1, count + 1):
            is_hot = rng.random() < HOT_FRACTION
            target = rng.choice(hot if is_hot else own)
            result = _result(rng, target in spares)
            comments = rng.choice(FAILED_COMMENTS) if result == "Failed" else ""
            at = max(ready, t0 + 1_000 + int((op - 1) * step + rng.random() * step * 0.5))
            latency = round(1.5 + rng.expovariate(1 / 6.0), 2)
            roll = rng.random()
            kind, status, error = ("ok", "200", "null")
            if roll < 0.001:
                kind, status, error, latency = "info", "null", '"ReadTimeout: read timed out"', 10_000.5
            elif roll < 0.011:
                kind, status, error = "fail", "409", '"HTTP 409"'
            done = at + int(latency)
            ready = done + 1
            common = {"bot": bot, "hot": "true" if is_hot else "false", "lifetime": lifetime, "op": op,
                      "target": target, "comments": comments_json[comments], "result": result}
            lines.append(_JOURNAL.format(**common, error="null", latency="null", status="null", type="invoke",
                                         mono=round(mono0 + (at - START_MS) / 1000, 6), ts=clock.iso(at)))
            lines.append(_JOURNAL.format(**common, error=error, latency=repr(latency), status=status, type=kind,
                                         mono=round(mono0 + (done - START_MS) / 1000, 6), ts=clock.iso(done)))
            if kind != "fail":
                applied.append((done, target, result, comments))
            if len(lines) >= 20_000:
                handle.write("".join(lines))
                lines.clear()
        handle.write("".join(lines))


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"


def _events(out: Path, pushes: dict[int, list[dict[str, Any]]], targets: int, t0: int, end: int, clock: Clock,
            rng: random.Random) -> None:
    with open(out / "events.jsonl", "w", encoding="utf-8") as handle:
        handle.write(_line({"bugs": [], "cloud": "http://127.0.0.1:37355", "event": "server.start", "pid": 29825,
                            "plc": "127.0.0.1", "port": 45101, "seeded": True, "source": "tool",
                            "ts": clock.iso(t0 - 42)}))
        handle.write(_line({"count": 0, "cursor": 0, "event": "pull.applied", "full": True, "received": targets,
                            "source": "tool", "ts": clock.iso(t0 + 30)}))
        handle.write(_line({"event": "plc.connected", "host": "127.0.0.1", "port": 53739, "source": "tool",
                            "ts": clock.iso(t0 + 247)}))
        handle.write(_line({"event": "plc.restore", "failed": 0, "mismatched": 217, "reason": "connect",
                            "source": "tool", "ts": clock.iso(t0 + 1290), "written": 288}))
        cursor = 0
        for second in range(t0 // 1000 + 1, max([(end + 1_500) // 1000, *pushes]) + 1):
            ms = second * 1000 + 222
            items = pushes.get(second, [])
            if items:
                handle.write(_line({"applied": len(items), "appliedItems": items, "conflicts": 0,
                                    "count": len(items), "event": "sync.pushed", "rejected": 0, "source": "tool",
                                    "ts": clock.iso(ms)}))
            if second % 20 == 0:
                count = rng.randint(0, 20)
                cursor += count
                handle.write(_line({"count": count, "cursor": cursor, "event": "pull.applied", "full": False,
                                    "received": count, "source": "tool", "ts": clock.iso(ms + 56)}))
            if second % 60 == 0:
                handle.write(_line({"active": rng.randint(0, 6), "event": "health", "parked": 0,
                                    "rssMb": round(45 + rng.random(), 2), "source": "tool", "ts": clock.iso(ms + 1),
                                    "workerErrors": {"health": 0, "plc": 0, "pull": 0, "push": 0}}))


def _health(out: Path, t0: int, end: int, warmup_ms: int, clock: Clock, rng: random.Random) -> None:
    rows = ["utc,epoch,latency_ms,status,ok,phase\r\n"]
    for at in range(t0 + 29, end + 2_000, 1000):
        phase = "warmup" if at < t0 + warmup_ms else ("calm" if at < end else "judging")
        latency = 1.2 + rng.expovariate(1 / 2.5) + (40 * rng.random() if rng.random() < 0.01 else 0.0)
        rows.append(f"{clock.iso(at)},{at / 1000:.3f},{latency:.1f},200,1,{phase}\r\n")
    (out / "health.csv").write_text("".join(rows), encoding="utf-8", newline="")


def _memory(out: Path, t0: int, end: int, clock: Clock, rng: random.Random) -> None:
    rows = ["utc,epoch,service,lifetime,rss_mb\r\n"]
    lifetimes = {name: f"{29825 - i * 90}@{(t0 - 4_000) // 1000}" for i, (name, _) in enumerate(SERVICES)}
    for at in range(t0 + 30, end + 1_000, 5000):
        for name, base in SERVICES:
            warm = min((at - t0) / 120_000, 1.0) * 4.0  # a few MB while caches warm, then flat with noise
            rows.append(f"{clock.iso(at)},{at / 1000:.3f},{name},{lifetimes[name]},"
                        f"{base + warm + rng.gauss(0, 0.4):.3f}\r\n")
    (out / "memory.csv").write_text("".join(rows), encoding="utf-8", newline="")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the run dir to create (must not exist)")
    parser.add_argument("--ops", type=int, default=1_000_000, help="journal ops (two lines each)")
    parser.add_argument("--targets", type=int, default=100_000, help="IOs (targets), ids 1..N")
    parser.add_argument("--bots", type=int, default=8)
    parser.add_argument("--hours", type=float, default=8.0, help="soak length: probes at 1 Hz, memory every 5 s")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.monotonic()
    generate(args.out, args.ops, args.targets, args.bots, args.hours, args.seed)
    print(f"{args.out}: {args.ops} ops over {args.targets} targets, {args.bots} bots, {args.hours:g} h "
          f"({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
