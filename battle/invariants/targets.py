"""Which targets the loss and convergence judges may judge, and what was written to them.

A target is judged only when exactly one bot wrote it outside the hot set and at
least one of its writes was acknowledged: then the bot's own append order is the
one true order of its writes (timestamps are never used: two writes in the same
millisecond, or a wall clock that stepped back, would sort wrong and look like a wipe).

`single_writer_targets` is the definition, op by op. Judges read its result reduced
(`written_targets`: per target the last acknowledged write and the indeterminate ones after
it), which gathering computes while the journals stream (battle/observer/journals.py) and
checks against this definition whenever a journal is not what the crew writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from battle.evidence import Op, TargetWrites, Write, WrittenTargets

COMPLETIONS = ("ok", "fail", "info")


def norm_result(value: Any) -> str | None:
    """`Cleared` is stored as NULL, so the two are the same value."""
    if value is None or value == "" or value == "Cleared":
        return None
    return str(value)


def norm_comments(value: Any) -> str:
    return "" if value is None else str(value)


__all__ = ["Write", "norm_comments", "norm_result", "norm_write", "show_write", "single_writer_targets",
           "written_targets"]


def norm_write(value: Any) -> Write:
    """The whole write a technician made: result *and* comments (a bot always sends both)."""
    value = value if isinstance(value, dict) else {}
    return norm_result(value.get("result")), norm_comments(value.get("comments"))


def show_write(write: Write | None) -> dict[str, Any] | None:
    return None if write is None else {"result": write[0], "comments": write[1]}


@dataclass(frozen=True)
class TargetHistory:
    target: int
    bot: int
    writes: tuple[Op, ...]  # one per op, append order; an invoke never completed counts as info

    @property
    def last_ok_index(self) -> int | None:
        for i in range(len(self.writes) - 1, -1, -1):
            if self.writes[i].type == "ok":
                return i
        return None

    @property
    def last_ok(self) -> Op | None:
        i = self.last_ok_index
        return None if i is None else self.writes[i]

    def later_info(self) -> tuple[Op, ...]:
        """Indeterminate writes after the last acknowledged one: any of them may have landed."""
        i = self.last_ok_index
        start = 0 if i is None else i + 1
        return tuple(w for w in self.writes[start:] if w.type == "info")

    def accepted_writes(self) -> set[Write]:
        """The last acknowledged write, or any indeterminate one after it: each may be what stuck."""
        last = self.last_ok
        accepted = set() if last is None else {norm_write(last.value)}
        accepted.update(norm_write(w.value) for w in self.later_info())
        return accepted

    def accepted_results(self) -> set[str | None]:
        return {result for result, _ in self.accepted_writes()}


@dataclass(frozen=True)
class Targets:
    judged: dict[int, TargetHistory]  # single writer, not hot, at least one ok
    hot: frozenset[int]
    multi_writer: dict[int, tuple[int, ...]]  # target -> bots: the partition was broken
    never_ok: frozenset[int]  # single writer but nothing acknowledged: nothing to expect


def single_writer_targets(ops: Iterable[Op]) -> Targets:
    order: dict[int, list[tuple[int, str, int]]] = {}  # target -> op keys in first-seen order
    final: dict[tuple[int, str, int], Op] = {}
    bots: dict[int, set[int]] = {}
    hot: set[int] = set()
    for op in ops:
        if op.hot:
            hot.add(op.target)
            continue
        key = (op.bot, op.lifetime, op.op)  # a restarted writer numbers its ops from 1 again
        bots.setdefault(op.target, set()).add(op.bot)
        if key not in final:
            order.setdefault(op.target, []).append(key)
            final[key] = op
        elif op.type in COMPLETIONS:
            final[key] = op  # the completion replaces its invoke, keeping the invoke's place

    judged: dict[int, TargetHistory] = {}
    multi: dict[int, tuple[int, ...]] = {}
    never_ok: set[int] = set()
    for target, keys in order.items():
        if target in hot:
            continue
        if len(bots[target]) > 1:
            multi[target] = tuple(sorted(bots[target]))
            continue
        writes = tuple(_as_completion(final[k]) for k in keys)
        history = TargetHistory(target=target, bot=writes[0].bot, writes=writes)
        if history.last_ok is None:
            never_ok.add(target)
        else:
            judged[target] = history
    return Targets(judged=judged, hot=frozenset(hot), multi_writer=multi, never_ok=frozenset(never_ok))


def _as_completion(op: Op) -> Op:
    # A request whose outcome was never journaled may or may not have landed.
    return op if op.type in COMPLETIONS else replace(op, type="info")


def reduced(history: TargetHistory) -> TargetWrites:
    """A judged target's history as the judges read it: the last acknowledged write and the later infos."""
    last = history.last_ok
    assert last is not None  # judged targets always have one
    return TargetWrites(target=history.target, bot=history.bot, op=last.op, t=last.t, latency_ms=last.latency_ms,
                        write=norm_write(last.value), later_info=tuple(norm_write(w.value) for w in history.later_info()))


def written_targets(ops: Iterable[Op]) -> WrittenTargets:
    """`single_writer_targets`, reduced to what the judges read."""
    targets = single_writer_targets(ops)
    return WrittenTargets(judged={t: reduced(h) for t, h in targets.judged.items()}, hot=targets.hot,
                          multi_writer=targets.multi_writer, never_ok=targets.never_ok)
