"""The observer's supervisor loops log and count what they catch; a nonzero count reaches the verdict."""

from __future__ import annotations

from types import SimpleNamespace

from battle.adapters.base import SutEndpoints
from battle.adapters.reference import ReferenceAdapter
from battle.observer.run import Observer, ObserverHooks, ObserverSettings


def _observer(tmp_path):
    settings = ObserverSettings(run_dir=tmp_path, soak_start=0.0, soak_end=60.0, warmup_s=0.0, settle_max_s=10.0,
                                propagation_max_s=10.0, restore_max_s=10.0)
    hooks = ObserverHooks(adapter=ReferenceAdapter(SutEndpoints("http://127.0.0.1:9", "http://127.0.0.1:9")),
                          memory_source=SimpleNamespace(sample=lambda: []), calm=dict,
                          event_logs=((tmp_path / "tool.log", "tool"),))
    return Observer(settings, hooks, clock=lambda: 0.0)


def test_no_caught_errors_no_harness_failure(tmp_path):
    assert _observer(tmp_path).loop_errors() == []


def test_each_loop_that_caught_errors_is_named(tmp_path):
    observer = _observer(tmp_path)
    observer.sampler.errors = 2
    observer.followers[0].errors = 1
    observer.prober.errors = 3
    problems = observer.loop_errors()
    assert len(problems) == 3
    assert any("health prober caught 3 error(s)" in p for p in problems)
    assert any("memory sampler caught 2" in p for p in problems)
    assert any("event follower of tool.log caught 1" in p for p in problems)
    assert all(p.startswith("harness: ") for p in problems)
