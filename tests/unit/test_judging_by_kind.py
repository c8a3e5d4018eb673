"""Targets are (record kind, id): the journals fold each kind apart, and I4/I6 judge every kind with
per-kind evidence counts, a planted loss named by its kind."""

import json
import random
from pathlib import Path

import pytest

from battle.adapters.events import RECORD_KIND_FIELD, BattleEvent
from battle.common.timefmt import iso_utc
from battle.evidence import Evidence, Op, QueueState, ToolEvent, WrittenTargets
from battle.invariants import i4_no_loss, i6_convergence
from battle.invariants.targets import written_targets
from battle.observer import journals
from battle.observer.journals import JournalJob, digest_ops

KINDS = ("io", "cell")
LIMITS = {"SETTLE_MAX_S": 120.0}
T0 = 1_796_000_000.0


def write(bot: int, op: int, target: int, kind: str, result: str = "Passed") -> list[Op]:
    value = {"result": result, "comments": f"{kind} {target}"}
    return [Op(bot, op, "invoke", target, value, False, T0 + op, kind=kind),
            Op(bot, op, "ok", target, value, False, T0 + op, latency_ms=1.0, kind=kind)]


def row(kind: str, target: int, result: str = "Passed") -> dict:
    return {"id": target, "result": result, "comments": f"{kind} {target}"}


def mixed_ops() -> list[Op]:
    """Bot 0 writes IOs 1-3 and cells 1-3 (the same ids: other targets), interleaved op by op."""
    out: list[Op] = []
    op = 0
    for target in (1, 2, 3):
        for kind in KINDS:
            op += 1
            out += write(0, op, target, kind)
    return out


def evidence(ops: list[Op], local: dict[str, dict], cloud: dict[str, dict], events=(),
             queue: QueueState | None = None) -> Evidence:
    return Evidence(run_id="r", started_at=0.0, soak_end=600.0, warmup_s=0.0, journal=digest_ops(ops),
                    local=local["io"], cloud=cloud["io"], record_kinds=KINDS,
                    other_local={"cell": local["cell"]}, other_cloud={"cell": cloud["cell"]},
                    events=tuple(events), queue=queue or QueueState(0, 0), settle_s=3.0)


def clean_state() -> dict[str, dict]:
    return {kind: {t: row(kind, t) for t in (1, 2, 3)} for kind in KINDS}


def test_the_same_id_in_two_kinds_is_two_targets():
    digest = digest_ops(mixed_ops())
    assert set(digest.targets) == set(KINDS)
    assert sorted(digest.targets["io"].judged) == sorted(digest.targets["cell"].judged) == [1, 2, 3]
    assert digest.targets["cell"].judged[2].write == ("Passed", "cell 2")
    assert digest.targets["io"].judged[2].write == ("Passed", "io 2")
    assert not digest.targets["io"].multi_writer and not digest.targets["cell"].multi_writer


def test_a_clean_control_passes_with_counts_per_kind():
    state = clean_state()
    ev = evidence(mixed_ops(), state, clean_state())
    i4, i6 = i4_no_loss.judge(ev, LIMITS), i6_convergence.judge(ev, LIMITS)
    assert i4.status == "pass", i4.reason
    assert i6.status == "pass", i6.reason
    for result in (i4, i6):
        assert {k: v["judged_targets"] for k, v in result.details["perKind"].items()} == {"io": 3, "cell": 3}
        assert result.evidence == 6  # the sum of the kinds'


def test_one_lost_cell_write_fails_i4_naming_cell_while_io_is_clean():
    local = clean_state()
    local["cell"][2] = row("cell", 2, result="Failed")  # the cell's last acknowledged write was lost
    ev = evidence(mixed_ops(), local, clean_state())
    result = i4_no_loss.judge(ev, LIMITS)
    assert result.status == "fail"
    assert "cell 2" in result.reason and "cell targets" in result.reason and "IO" not in result.reason
    per_kind = result.details["perKind"]
    assert per_kind["cell"]["mismatch_count"] == 1 and per_kind["io"]["mismatch_count"] == 0
    assert per_kind["io"]["judged_targets"] == per_kind["cell"]["judged_targets"] == 3
    assert result.details["mismatches"][0][RECORD_KIND_FIELD] == "cell"


def test_a_cell_differing_from_the_cloud_fails_i6_naming_cell():
    cloud = clean_state()
    cloud["cell"][3] = row("cell", 3, result="Failed")
    result = i6_convergence.judge(evidence(mixed_ops(), clean_state(), cloud), LIMITS)
    assert result.status == "fail"
    assert "1 of 3 cell targets differ" in result.reason and "cell 3" in result.reason
    assert result.details["perKind"]["io"]["difference_count"] == 0
    assert result.details["perKind"]["cell"]["difference_count"] == 1


def test_a_dropped_cell_row_is_a_silent_drop_of_the_cell_kind():
    dropped = ToolEvent(10.0, BattleEvent.RECORD_DROPPED,
                        {"ioId": 2, "reason": "conflict cap", "kind": "conflict", RECORD_KIND_FIELD: "cell"})
    cloud = clean_state()
    cloud["cell"][2] = row("cell", 2, result="Failed")  # the field's write never reached the cloud
    ev = evidence(mixed_ops(), clean_state(), cloud, events=[dropped])
    i4 = i4_no_loss.judge(ev, LIMITS)
    assert i4.status == "fail" and "cell 2 record_dropped" in i4.reason
    assert i4.details["perKind"]["cell"]["silent_drop_count"] == 1
    assert i4.details["perKind"]["io"]["silent_drop_count"] == 0
    i6 = i6_convergence.judge(ev, LIMITS)
    assert i6.status == "fail" and "1 cell target(s) whose outbox row was dropped" in i6.reason
    assert i6.details["perKind"]["cell"]["abandoned"] == 1 and i6.details["perKind"]["io"]["abandoned"] == 0


def test_a_business_park_excuses_only_its_own_kind():
    parked = QueueState(0, 1, ({"ioId": 1, "reason": "rule", "kind": "business", RECORD_KIND_FIELD: "cell"},))
    cloud = clean_state()
    cloud["io"][1] = row("io", 1, result="Failed")  # the IO 1 differs: a cell's business park is no excuse
    cloud["cell"][1] = row("cell", 1, result="Failed")
    result = i6_convergence.judge(evidence(mixed_ops(), clean_state(), cloud, queue=parked), LIMITS)
    assert result.status == "fail" and "IO 1" in result.reason
    assert [r["ioId"] for r in result.details["business_rejections"]] == [1]
    assert result.details["business_rejections"][0][RECORD_KIND_FIELD] == "cell"


def journal_lines(ops: list[Op]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for op in ops:
        record = {"schema": 2, "ts": iso_utc(op.t), "mono": op.t - T0, "bot": op.bot, "kind": op.kind,
                  "lifetime": op.lifetime, "op": op.op, "type": op.type, "action": "mark", "target": op.target,
                  "hot": op.hot, "value": op.value, "status": None, "latencyMs": op.latency_ms, "error": None}
        out.setdefault(op.bot, []).append(json.dumps(record, separators=(",", ":")))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_journals_of_mixed_kinds_fold_as_each_kind_alone(tmp_path: Path, monkeypatch, seed):
    """Chunks of several kinds are split by kind in append order; chunks of one kind take the array fold."""
    rng = random.Random(seed)
    monkeypatch.setattr(journals, "CHUNK_LINES", rng.choice([2, 4, 6, 10, 4096]))
    ops: list[Op] = []
    for bot in range(3):
        kinds = [rng.choice(KINDS) for _ in range(rng.randint(1, 4))]  # runs of one kind, then another
        for op in range(1, 40):
            kind = kinds[(op // 7) % len(kinds)]
            ops += write(bot, op, bot + 3 * rng.randint(0, 4), kind, rng.choice(["Passed", "Failed"]))
    for bot, lines in journal_lines(ops).items():
        (tmp_path / f"journal-bot{bot}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    paths = sorted(tmp_path.glob("journal-bot*.jsonl"))
    digest, _ = JournalJob.start(paths, None, workers=1 + seed % 2, min_bytes=0).result()
    for kind in KINDS:
        mine = [op for op in ops if op.kind == kind]
        expected = written_targets(mine) if mine else WrittenTargets()
        got = digest.targets.get(kind, WrittenTargets())
        assert dict(got.judged) == dict(expected.judged), kind
        assert got.never_ok == expected.never_ok and dict(got.multi_writer) == dict(expected.multi_writer)
    assert digest.ops == len(ops)


def test_the_seal_expects_each_further_kinds_snapshots_and_an_old_manifest_means_the_io_alone():
    from battle.seal import RunShape, expected_artifacts, record_kinds_of

    assert record_kinds_of({}) == ("io",) and record_kinds_of({"recordKinds": []}) == ("io",)
    assert record_kinds_of({"recordKinds": ["io", "cell"]}) == KINDS
    old = expected_artifacts(RunShape(1, "local", 0, 0, False))
    assert old == expected_artifacts(RunShape(1, "local", 0, 0, False, record_kinds=("io",)))
    both = set(expected_artifacts(RunShape(1, "local", 0, 0, False, record_kinds=KINDS)))
    assert both - set(old) == {"snapshot-local.cell.json", "snapshot-cloud.cell.json"}


def test_each_kind_is_partitioned_on_its_own_ids_and_only_the_first_has_a_hot_set():
    from battle.adapters.base import RecordTarget
    from battle.crew.targets import assign_kinds

    targets = {kind: [RecordTarget(kind, i) for i in range(12)] for kind in KINDS}
    shares = [assign_kinds(targets, bot, 3, frozenset({0, 1})) for bot in range(3)]
    for kind in KINDS:
        owned = [t.id for share in shares for t in share[kind].own]
        assert len(owned) == len(set(owned))  # one writer per (kind, id)
        assert all(t.id % 3 == bot for bot, share in enumerate(shares) for t in share[kind].own)
    assert sorted(t.id for t in shares[0]["io"].hot) == [0, 1] and not shares[0]["cell"].hot
    assert sorted(t.id for share in shares for t in share["cell"].own) == list(range(12))
