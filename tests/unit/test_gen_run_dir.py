"""bench/gen_run_dir.py writes a sealed run dir in the real artifact formats that judges PASS and seals clean."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from battle.common.timefmt import iso_utc, parse_iso
from battle.crew.journal import OpJournal
from battle.judging import judge_run_dir, run_shape
from battle.seal import expected_artifacts, verify

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import gen_run_dir  # noqa: E402


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return gen_run_dir.generate(tmp_path_factory.mktemp("gen") / "run", ops=600, targets=240, bots=4, hours=0.1)


def test_the_generated_run_judges_pass_and_seals_clean(generated, tmp_path):
    manifest = json.loads((generated / "manifest.json").read_text())
    expected = expected_artifacts(run_shape(generated, manifest))
    assert sorted(manifest["seal"]["artifacts"]) == sorted(expected) and manifest["seal"]["missing"] == []
    assert verify(generated, expected, manifest["seal"]).problems == {}
    verdict = judge_run_dir(generated)
    assert verdict.verdict == "pass" and verdict.sealed and not verdict.evidence_problems
    results = {o.id: o for o in verdict.results}
    assert results["I4"].status == "pass" and results["I4"].evidence > 100
    assert results["I6"].status == "pass" and results["I1"].status == "pass"
    assert (generated / "report.html").is_file() and (generated / "junit.xml").is_file()


def crew_line(folder: Path) -> str:
    """One line as the crew's own journal writer writes it: the generator must write the same keys."""
    journal = OpJournal(folder / "journal-bot0.jsonl", 0, record_kind="io")
    journal.invoke("mark", 5, {"result": "Passed", "comments": "", "currentUser": "bot0"}, False)
    journal.close()
    return (folder / "journal-bot0.jsonl").read_text().splitlines()[0]


def test_journal_lines_are_what_the_crew_writes(generated, tmp_path):
    lines = (generated / "journal-bot1.jsonl").read_text().splitlines()
    assert len(lines) == 2 * 150
    crew_keys = set(json.loads(crew_line(tmp_path)))
    kinds = set()
    for line in lines:
        record = json.loads(line)
        assert json.dumps(record, sort_keys=True, separators=(",", ":")) == line  # JsonlWriter's form
        assert iso_utc(parse_iso(record["ts"])) == record["ts"]
        assert set(record) == crew_keys
        assert record["bot"] == 1 and (record["hot"] or record["target"] % 4 == 1)
        kinds.add(record["type"])
    assert kinds <= {"invoke", "ok", "fail", "info"} and {"invoke", "ok"} <= kinds
    invokes = [json.loads(x) for x in lines[0::2]]
    assert [r["op"] for r in invokes] == list(range(1, 151)) and all(r["type"] == "invoke" for r in invokes)


def test_samples_cover_the_soak_at_their_rates(generated):
    with open(generated / "health.csv", newline="") as handle:
        probes = list(csv.DictReader(handle))
    with open(generated / "memory.csv", newline="") as handle:
        memory = list(csv.DictReader(handle))
    assert abs(len(probes) - 0.1 * 3600) <= 3  # 1 Hz
    assert {m["service"] for m in memory} == {"tool", "cloud", "plc-sim"}
    assert abs(len(memory) / 3 - 0.1 * 3600 / 5) <= 2  # every 5 s
    assert iso_utc(float(probes[0]["epoch"])) == probes[0]["utc"]
    snapshot = json.loads((generated / "snapshot-local.json").read_text())
    assert len(snapshot) == 240 and {"id", "result", "comments", "version", "pending"} <= set(snapshot[0])
