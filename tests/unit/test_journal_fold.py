"""The journals read once and folded as they stream (battle/observer/journals.py) give exactly what the op-by-op
definition gives (single_writer_targets over every op, as the old loader built them), and list exactly the
problems the old loader listed: on regular journals, damaged ones, chunk by chunk, in forked workers or not."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from battle.common.jsonl import read_jsonl
from battle.common.timefmt import IsoParser, iso_utc, parse_iso
from battle.crew.journal import OpJournal
from battle.evidence import Op, WrittenTargets
from battle.invariants.targets import written_targets
from battle.observer import journals
from battle.observer.gather import Problems, load_journals
from battle.observer.journals import JournalJob, digest_ops, epoch_micros

T0 = 1_796_000_000.0


def old_load_ops(run_dir: Path, problems: list[str]) -> list[Op]:
    """The loader this replaced (one Op per line), kept here as the definition of what is read and listed."""
    ops: list[Op] = []
    paths = sorted(run_dir.glob("journal-bot*.jsonl"), key=lambda p: int(re.search(r"(\d+)\.jsonl$", p.name)[1]))
    for path in paths:
        records, bad = read_jsonl(path)
        problems.extend(str(p) for p in bad)
        for record in records:
            if record.get("schema") not in (1, 2):
                problems.append(f"{path.name}: a line of schema {record.get('schema')!r}, expected 1 or 2: written by "
                                "another version of battle, so its meaning is unknown")
                break
            try:
                ops.append(Op(bot=int(record["bot"]), op=int(record["op"]), type=str(record["type"]),
                              target=int(record["target"]), value=dict(record.get("value") or {}),
                              hot=bool(record.get("hot")), t=parse_iso(record["ts"]),
                              status=record.get("status"), latency_ms=record.get("latencyMs"),
                              lifetime=str(record.get("lifetime") or "")))
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(f"{path.name}: bad op {record!r:.80} ({exc})")
    return ops


def random_ops(rng: random.Random) -> list[Op]:
    """Bots' ops as the crew writes them, with what goes wrong: lost and late outcomes, lost invokes,
    restarts (a new lifetime numbers ops from 1), a broken partition, hot targets, an outcome whose value
    differs from its invoke's, and now and then something no crew writes (a second outcome, ...)."""
    ops: list[Op] = []
    odd = rng.random() < 0.2
    for bot in range(rng.randint(1, 3)):
        for lifetime in ("a", "b")[:rng.randint(1, 2)]:
            late: list[tuple[int, int, bool, dict]] = []
            for k in range(1, rng.randint(0, 40) + 1):
                target = rng.randint(1, 6) if rng.random() < 0.2 else bot * 10 + rng.randint(1, 3)
                hot = rng.random() < 0.1
                value = {"result": rng.choice(["Passed", "Failed", "Cleared", None]), "comments": rng.choice(["", "x"])}
                t = float(len(ops))
                if odd:
                    ops.append(Op(bot, rng.randint(1, k), rng.choice(["invoke", "ok", "fail", "info", "weird"]), target,
                                  value, hot, t, latency_ms=2.5, lifetime=lifetime))
                    continue
                if rng.random() > 0.05:  # else the invoke line was lost
                    ops.append(Op(bot, k, "invoke", target, value, hot, t, lifetime=lifetime))
                if rng.random() < 0.08:
                    late.append((k, target, hot, value))  # answered later, or never
                    continue
                answer = value if rng.random() < 0.9 else {"result": "Failed", "comments": "y"}
                ops.append(Op(bot, k, rng.choice(["ok", "ok", "ok", "fail", "info"]), target, answer, hot, t,
                              latency_ms=rng.choice([None, 2.5, 7.0]), lifetime=lifetime))
                if late and rng.random() < 0.5:
                    k2, target2, hot2, value2 = late.pop(0)
                    ops.append(Op(bot, k2, rng.choice(["ok", "info", "fail"]), target2, value2, hot2, t,
                                  latency_ms=3.0, lifetime=lifetime))
    return ops


def write_journals(run_dir: Path, ops: list[Op]) -> None:
    by_bot: dict[int, list[Op]] = {}
    for op in ops:
        by_bot.setdefault(op.bot, []).append(op)
    run_dir.mkdir(parents=True, exist_ok=True)
    for bot, items in by_bot.items():
        with open(run_dir / f"journal-bot{bot}.jsonl", "w", encoding="utf-8") as handle:
            for op in items:
                record = {"schema": 1, "ts": iso_utc(T0 + op.t), "mono": op.t, "bot": op.bot, "lifetime": op.lifetime,
                          "op": op.op, "type": op.type, "action": "mark", "target": op.target, "hot": op.hot,
                          "value": {**op.value, "currentUser": f"bot{bot}"}, "status": None,
                          "latencyMs": op.latency_ms, "error": None}
                handle.write(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")


def reduced(targets):
    return ({t: (w.bot, w.op, w.t, w.latency_ms, w.write, frozenset(w.later_info)) for t, w in targets.judged.items()},
            targets.hot, dict(targets.multi_writer), targets.never_ok)


def tally(ops: list[Op]) -> dict[int, tuple]:
    """What the report's crew table counted from the old ops."""
    out = {}
    for bot in sorted({op.bot for op in ops}):
        mine = [op for op in ops if op.bot == bot]
        kinds = Counter(op.type for op in mine)
        outcomes = [op for op in mine if op.type in ("ok", "fail", "info")]
        latencies = Counter(float(op.latency_ms) for op in outcomes if isinstance(op.latency_ms, int | float))
        out[bot] = (kinds["invoke"], kinds["ok"], kinds["fail"], kinds["info"], len(outcomes),
                    sum(op.hot for op in outcomes), dict(latencies))
    return out


@pytest.mark.parametrize("seed", range(60))
def test_the_streaming_fold_is_the_op_by_op_definition(tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    monkeypatch.setattr(journals, "CHUNK_LINES", rng.choice([2, 4, 6, 10, 4096]))
    ops = random_ops(rng)
    write_journals(tmp_path, ops)
    problems: list[str] = []
    old = old_load_ops(tmp_path, problems)
    paths = sorted(tmp_path.glob("journal-bot*.jsonl"), key=lambda p: int(p.stem[len("journal-bot"):]))
    alongside = 10**9 if seed % 4 == 3 else 0  # (then one forked reader, as when the caller reads more itself)
    digest, _ = JournalJob.start(paths, None, workers=1 + seed % 2, min_bytes=0,
                                 alongside_bytes=alongside).result()  # odd seeds: forked
    assert reduced(digest.targets.get("io", WrittenTargets())) == reduced(written_targets(old))
    assert {b.bot: (b.invokes, b.ok, b.fail, b.info, b.outcomes, b.hot, dict(b.latencies))
            for b in digest.bots} == tally(old)
    assert digest.ops == len(old)
    assert reduced(digest_ops(old).targets.get("io", WrittenTargets())) == reduced(written_targets(old))


def test_comments_are_kept_for_the_targets_asked_for(tmp_path):
    ops = [Op(0, 1, "invoke", 5, {"result": "Passed", "comments": "a"}, False, 1.0),
           Op(0, 1, "ok", 5, {"result": "Passed", "comments": "a"}, False, 1.0),
           Op(0, 2, "invoke", 6, {"result": "Failed", "comments": "b"}, True, 2.0),
           Op(0, 2, "info", 6, {"result": "Failed", "comments": "b"}, True, 2.0),
           Op(0, 3, "invoke", 6, {"result": "Failed", "comments": "c"}, False, 3.0),
           Op(0, 3, "fail", 6, {"result": "Failed", "comments": "c"}, False, 3.0)]
    assert digest_ops(ops).comments == {"io": {5: frozenset({"a"}), 6: frozenset({"b"})}}
    assert digest_ops(ops, comment_targets={6}).comments == {"io": {6: frozenset({"b"})}}
    assert digest_ops(ops, comment_targets=()).comments == {}


DAMAGE = [
    lambda line: line[: len(line) // 2],  # cut
    lambda line: "[1, 2]",
    lambda line: "",
    lambda line: "   ",
    lambda line: line.replace('"target":', '"target":"x"', 1)[:-0 or None],
    lambda line: re.sub(r'"target":\d+', '"target":"12"', line),  # the old loader took int("12")
    lambda line: re.sub(r'"ts":"[^"]*"', '"ts":1795000000', line),
    lambda line: re.sub(r'"ts":"[^"]*"', '"ts":"2026-02-30T00:00:00.000Z"', line),
    lambda line: re.sub(r'"ts":"[^"]*"', '"ts":"2026-12-02T14:20:50Z"', line),  # valid, not as iso_utc writes
    lambda line: re.sub(r'"schema":1', '"schema":2', line),
    lambda line: re.sub(r'"schema":1', '"schema":true', line),
    lambda line: re.sub(r'"hot":false', '"hot":0', line),
    lambda line: re.sub(r'"latencyMs":[^,]*', '"latencyMs":NaN', line),
    lambda line: re.sub(r'"latencyMs":[^,]*', '"latencyMs":"slow"', line),
    lambda line: re.sub(r'"value":\{', '"value":{"result":5,"x":', line),
    lambda line: line.replace('"lifetime":', '"lifetime":null,"x":', 1),
    lambda line: line + line,  # two objects on one line
    lambda line: "[" * 100_000,
    lambda line: "\ufeff" + line,
    lambda line: line.replace("}", "}\r", 1),
]


@pytest.mark.parametrize("damage", range(len(DAMAGE)))
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_damaged_lines_are_read_and_listed_as_the_old_loader_did(tmp_path, monkeypatch, damage, where):
    monkeypatch.setattr(journals, "CHUNK_LINES", 4)
    run = tmp_path / "run"
    journal = OpJournal(run / "journal-bot0.jsonl", 0, "io", wall=lambda: T0, mono=lambda: 1.0, lifetime="L")
    for k in range(6):
        op = journal.invoke("mark", 10 + k % 3, {"result": "Passed", "comments": f"c{k}"}, hot=False)
        journal.outcome(op, "ok" if k % 3 else "info", "mark", 10 + k % 3, {"result": "Passed", "comments": f"c{k}"},
                        False, 200, 2.5)
    journal.close()
    path = run / "journal-bot0.jsonl"
    lines = path.read_text().splitlines()
    at = {"start": 0, "middle": len(lines) // 2 + 1, "end": len(lines) - 1}[where]
    lines[at] = DAMAGE[damage](lines[at])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    old_problems: list[str] = []
    old = old_load_ops(run, old_problems)
    problems = Problems()
    digest = load_journals(run, problems)
    assert list(problems) == old_problems
    assert reduced(digest.targets.get("io", WrittenTargets())) == reduced(written_targets(old))
    assert digest.ops == len(old)


def test_times_are_read_as_parse_iso_reads_them():
    rng = random.Random(5)
    stamps = [iso_utc(rng.uniform(1.6e9, 2.0e9)) for _ in range(20_000)]
    stamps += ["2024-02-29T23:59:59.999Z", "2000-02-29T00:00:00.000Z", "0001-01-01T00:00:00.000Z"]
    micros = epoch_micros(stamps)
    assert micros is not None and [u / 1_000_000 for u in micros.tolist()] == [parse_iso(s) for s in stamps]
    parse = IsoParser()
    assert [parse(s) for s in stamps] == [parse_iso(s) for s in stamps]
    for bad in ("2023-02-29T00:00:00.000Z", "0000-01-01T00:00:00.000Z", "2026-12-02T24:00:00.000Z",
                "2026-04-31T14:20:50.000Z", "2026-12-02T14:20:60.000Z", "2026-12-02 14:20:50.123Z"):
        assert epoch_micros([stamps[0], bad]) is None
        try:
            expected = parse_iso(bad)
        except ValueError as exc:
            with pytest.raises(ValueError, match=re.escape(str(exc))):
                parse(bad)
        else:
            assert parse(bad) == expected


def test_a_journal_measured_while_read_is_measured_as_the_seal_measures(tmp_path):
    from battle.seal import measure

    ops = random_ops(random.Random(1))
    write_journals(tmp_path, ops)
    paths = sorted(tmp_path.glob("journal-bot*.jsonl"))
    limits = {paths[0].name: None, paths[-1].name: 100}
    _, files = JournalJob.start(paths, None, seal=limits, workers=1).result()
    for path in paths:
        if path.name in limits:
            assert files[path].seal == measure(path, limits[path.name])
        else:
            assert files[path].seal is None
