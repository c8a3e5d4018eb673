import threading
import time

import pytest

from battle.observer.cost import ProcessCostSource, probe_lateness_ms, read_cost, summarize_cost


def test_cpu_is_summed_within_each_lifetime_and_never_across_a_restart():
    rows = [
        (0.0, "tool", "a", 10.0, 100.0), (10.0, "tool", "a", 15.0, 110.0), (20.0, "tool", "a", 20.0, 120.0),
        # restarted: the counter starts again; the gap across lifetimes counts neither time nor CPU
        (30.0, "tool", "b", 1.0, 90.0), (40.0, "tool", "b", 3.0, 95.0),
        (0.0, "crew", "x", 0.0, 0.0), (40.0, "crew", "x", 4.0, 0.0),
    ]
    summary = summarize_cost(rows)
    assert summary["tool"].seconds == 30.0 and summary["tool"].cpu_s == 12.0
    assert summary["tool"].cpu_share == pytest.approx(0.4)
    assert (summary["tool"].rss_first_mb, summary["tool"].rss_last_mb, summary["tool"].rss_max_mb) == (100, 95, 120)
    assert summary["crew"].cpu_share == pytest.approx(0.1)
    assert summarize_cost(rows, window=(10.0, 20.0))["tool"].cpu_s == 5.0


def test_a_counter_that_goes_backwards_in_one_lifetime_is_not_counted():
    summary = summarize_cost([(0.0, "s", "a", 5.0, 1.0), (10.0, "s", "a", 4.0, 1.0), (20.0, "s", "a", 6.0, 1.0)])
    assert summary["s"].cpu_s == 2.0 and summary["s"].seconds == 10.0


def test_probe_lateness_is_the_gap_beyond_the_interval():
    epochs = [0.0, 1.0, 2.002, 3.0, 5.5, 6.5]
    lateness = probe_lateness_ms(epochs)
    assert lateness["max"] == pytest.approx(1500.0)
    assert lateness["p50"] == pytest.approx(0.0, abs=1e-9)
    assert probe_lateness_ms([1.0])["probes"] == 1.0


def test_the_local_source_splits_this_process_into_crew_threads_and_the_rest(tmp_path):
    done = threading.Event()

    def spin():
        end = time.process_time() + 0.3
        while time.process_time() < end and not done.is_set():
            sum(range(1000))

    bot = threading.Thread(target=spin, name="bot0")
    bot.start()
    rows = list(ProcessCostSource(lambda: {"gone": None}).sample())
    done.set()
    bot.join()
    names = [row[0] for row in rows]
    assert names == ["crew", "harness"]
    crew, harness = rows
    assert crew[2] >= 0.0 and harness[2] >= 0.0 and harness[3] > 10.0  # MB of this test process


def test_cost_csv_reads_back_and_skips_damaged_rows(tmp_path):
    path = tmp_path / "cost.csv"
    path.write_text("utc,epoch,service,lifetime,cpu_s,rss_mb\n"
                    "x,1.0,tool,a,1.5,10\n"
                    "x,not-a-number,tool,a,1.5,10\n"
                    "x,2.0,tool,a,2.5\n", encoding="utf-8")
    assert read_cost(path) == [(1.0, "tool", "a", 1.5, 10.0)]
