"""The report's numbers and building blocks, checked on values worked out by hand."""

from __future__ import annotations

import re

import pytest

from battle.evidence import Fault, Op, Probe
from battle.observer.journals import digest_ops
from battle.report.figures import (
    bot_summaries,
    coverage_from_ledger,
    fault_windows,
    percentile,
    probe_phases,
    slope_mb_per_h,
)
from battle.report.htmlkit import Markup, compact, css_token, esc, table
from battle.report.svg import latency_timeline, make_frame


def test_percentile_interpolates_like_numpy():
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0, 20.0, 30.0], 95) == pytest.approx(29.0)


def test_slope_in_mb_per_hour():
    points = [(t * 60.0, 100.0 + t * 0.5) for t in range(10)]  # +0.5 MB a minute
    assert slope_mb_per_h(points) == pytest.approx(30.0)
    assert slope_mb_per_h(points[:2]) is None
    assert slope_mb_per_h([(5.0, 1.0)] * 4) is None


def _fault(fid: str, kind: str, applied: float | None, restored: float | None, failed: str | None = None) -> Fault:
    return Fault(fid, kind, "tool", {}, planned_at=0.0, applied_at=applied, restored_at=restored, failed=failed)


def test_coverage_and_windows_from_the_ledger():
    faults = [_fault("f2", "power", 30.0, 40.0), _fault("f1", "power", 10.0, None, "start refused"),
              _fault("f3", "wipe", None, None)]
    assert coverage_from_ledger(faults) == {
        "power": {"planned": 2, "applied": 2, "restored": 1, "failed": 1},
        "wipe": {"planned": 1, "applied": 0, "restored": 0, "failed": 0}}
    windows = fault_windows(faults)
    assert [(w.fault, w.end, w.failed) for w in windows] == [("f1", None, "start refused"), ("f2", 40.0, None)]


def _op(bot: int, op: int, kind: str, latency: float | None = None, hot: bool = False) -> Op:
    return Op(bot=bot, op=op, type=kind, target=bot, value={}, hot=hot, t=float(op), latency_ms=latency)


def test_bot_summaries_count_outcomes_and_cut_off_invokes():
    ops = [_op(1, 1, "invoke"), _op(1, 1, "ok", 10.0), _op(1, 2, "invoke"), _op(1, 2, "info", None, hot=True),
           _op(1, 3, "invoke"), _op(0, 1, "invoke"), _op(0, 1, "fail", 30.0)]
    rows, total = bot_summaries(digest_ops(ops).bots)
    assert [(r.bot, r.invokes, r.ok, r.fail, r.info, r.open, r.hot) for r in rows] == [
        (0, 1, 0, 1, 0, 0, 0), (1, 3, 1, 0, 1, 1, 1)]
    assert rows[1].p50_ms == 10.0, "an outcome without latency is not counted as 0 ms"
    assert total is not None and (total.invokes, total.open, total.p50_ms) == (4, 1, 20.0)
    assert bot_summaries([]) == ([], None)


def test_probe_phases_in_run_order():
    probes = [Probe(1.0, True, 10.0, 200, "calm"), Probe(2.0, False, None, None, "fault"),
              Probe(0.5, True, 30.0, 200, "warmup"), Probe(3.0, True, 50.0, 200, "fault")]
    rows = probe_phases(probes)
    assert [(r.phase, r.probes, r.failed, r.max_ms) for r in rows] == [
        ("warmup", 1, 0, 30.0), ("calm", 1, 0, 10.0), ("fault", 2, 1, 50.0)]


def test_compact_cuts_long_lists_and_text():
    assert compact({"ids": list(range(12))}) == "ids: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, … (+2 more)]"
    assert compact("x" * 500, limit=20) == "x" * 19 + "…"
    assert compact({"a": 0.123456, "b": None}) == "a: 0.1235, b: null"


def test_escaping_happens_once():
    assert esc("<a & 'b'>") == "&lt;a &amp; &#x27;b&#x27;&gt;"
    assert esc(Markup("<b>x</b>")) == "<b>x</b>"
    assert css_token('x"><script>') == "x-script"
    cell = table(["h"], [["<i>"]])
    assert "<td>&lt;i&gt;</td>" in cell and "&amp;lt;" not in cell


def test_timeline_stays_small_for_an_eight_hour_soak():
    start = 1_780_000_000.0
    probes = [Probe(start + s, s % 997 != 0, 20.0 + (s % 50), 200, "calm") for s in range(8 * 3600)]
    svg = latency_timeline(make_frame([p.t for p in probes], start), probes, [], [], {})
    assert len(svg) < 120_000, "probes must be bucketed into pixel columns, not drawn one by one"
    assert len(re.findall(r"<line x1=\"[\d.]+\" y1=\"[\d.]+\" x2=\"[\d.]+\" y2=\"[\d.]+\"/>", svg)) <= 450
    failed = re.findall(r'<title>(\d+) failed probe', svg)
    assert sum(int(n) for n in failed) == sum(1 for p in probes if not p.ok)
