"""The cloud store's rules, run identically against SQLite and a throwaway Postgres cluster."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from test_cloud_support import SUBSYSTEM, PostgresCluster, first_id, make_seed_ios, postgres_cluster

from sut.cloud.config import CloudConfig
from sut.cloud.errors import CursorAhead, NotFound, StoreUnavailable
from sut.cloud.store import PushItem, Store, open_store


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgres"])
def config(request: pytest.FixtureRequest, tmp_path) -> CloudConfig:
    if request.param == "postgres":
        cluster: PostgresCluster = request.getfixturevalue("pg")
        return CloudConfig(database_url=cluster.new_database())
    return CloudConfig(sqlite_path=tmp_path / "cloud.db")


@pytest.fixture
def seed() -> list[dict[str, Any]]:
    return make_seed_ios(40)


@pytest.fixture
def store(config: CloudConfig, seed) -> Iterator[Store]:
    opened = open_store(config)
    assert opened.load_seed_if_empty(seed) == len(seed)
    yield opened
    opened.close()


def by_id(ios: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {io["id"]: io for io in ios}


def item(io: dict[str, Any], result: Any = "Passed", comments: str = "ok", base: int | None = None) -> PushItem:
    return PushItem(io["id"], result, comments, io["version"] if base is None else base)


def test_backend_is_the_configured_one(store: Store, config: CloudConfig) -> None:
    assert store.backend_name == config.backend


def test_seed_is_the_baseline_and_loads_only_into_an_empty_database(store: Store, config, seed) -> None:
    ios, cursor = store.pull(SUBSYSTEM)
    assert ios == seed
    assert cursor == 0
    live = seed[0]
    store.push([item(live, "Failed")])
    reopened = open_store(config)
    try:
        assert reopened.load_seed_if_empty(seed) == 0
        assert by_id(reopened.pull(SUBSYSTEM)[0])[live["id"]]["result"] == "Failed"
    finally:
        reopened.close()


def test_push_outcomes_in_one_batch(store: Store, seed) -> None:
    live = seed[0]
    spare = seed[first_id(seed, spare=True) - 1]
    stale = seed[1]
    outcomes = store.push([
        item(live, "Passed", "checked"),
        item(spare, "Passed"),
        PushItem(9999, "Passed", "", 1),
        item(stale, "Failed", base=stale["version"] + 5),
        item(seed[2], "Done"),
    ])
    assert outcomes == [
        {"ioId": live["id"], "status": "applied", "version": live["version"] + 1},
        {"ioId": spare["id"], "status": "rejected", "reason": "SPARE cannot be Passed"},
        {"ioId": 9999, "status": "rejected", "reason": "unknown IO"},
        {"ioId": stale["id"], "status": "conflict", "version": stale["version"],
         "result": stale["result"], "comments": stale["comments"]},
        {"ioId": seed[2]["id"], "status": "rejected",
         "reason": 'invalid result "Done"; accepted: Passed, Failed, Cleared'},
    ]
    after = by_id(store.pull(SUBSYSTEM)[0])
    assert after[live["id"]]["result"] == "Passed"
    assert after[live["id"]]["comments"] == "checked"
    assert after[live["id"]]["updatedAt"] != live["updatedAt"]
    for untouched in (spare, stale, seed[2]):
        assert after[untouched["id"]] == untouched


def test_spare_may_be_failed_or_cleared_and_cleared_is_stored_as_null(store: Store, seed) -> None:
    spare = seed[first_id(seed, spare=True) - 1]
    assert store.push([item(spare, "Failed")])[0]["status"] == "applied"
    assert store.push([item(spare, "Cleared", base=spare["version"] + 1)])[0]["status"] == "applied"
    assert by_id(store.pull(SUBSYSTEM)[0])[spare["id"]]["result"] is None


def test_same_io_twice_in_a_batch_second_conflicts_with_the_first(store: Store, seed) -> None:
    io = seed[0]
    outcomes = store.push([item(io, "Passed", "a"), item(io, "Failed", "b")])
    assert [o["status"] for o in outcomes] == ["applied", "conflict"]
    assert outcomes[1]["result"] == "Passed" and outcomes[1]["comments"] == "a"


def test_delta_feed_reports_pushes_admin_edits_and_deletions(store: Store, seed) -> None:
    _, cursor0 = store.pull(SUBSYSTEM)
    pushed, edited, deleted = seed[0], seed[1], seed[2]
    store.push([item(pushed)])
    store.update_io(edited["id"], {"description": "moved to panel 4"})
    store.delete_io(deleted["id"])
    changes, cursor = store.changes(SUBSYSTEM, cursor0)
    assert cursor == cursor0 + 3
    assert [c["id"] for c in changes] == [pushed["id"], edited["id"], deleted["id"]]
    assert changes[1]["description"] == "moved to panel 4"
    assert changes[1]["version"] == edited["version"] + 1
    assert changes[2]["deleted"] is True and "deleted" not in changes[0]
    assert store.changes(SUBSYSTEM, cursor) == ([], cursor)
    assert store.changes(SUBSYSTEM + 1, cursor0) == ([], cursor)
    assert deleted["id"] not in by_id(store.pull(SUBSYSTEM)[0])
    with pytest.raises(CursorAhead):
        store.changes(SUBSYSTEM, cursor + 1)


def test_admin_add_edit_delete(store: Store, seed) -> None:
    added = store.add_io({"subsystemId": SUBSYSTEM, "name": "MCM02_DI_9000", "description": "new eye"})
    assert added["id"] == len(seed) + 1
    assert (added["version"], added["result"], added["comments"], added["isSpare"]) == (1, None, "", 0)
    assert store.get_io(added["id"]) == added
    edited = store.update_io(added["id"], {"comments": "relabelled", "isSpare": 1})
    assert edited["version"] == 2 and edited["comments"] == "relabelled" and edited["isSpare"] == 1
    tomb = store.delete_io(added["id"])
    assert tomb["deleted"] is True and tomb["version"] == 3
    for call in (lambda: store.get_io(added["id"]), lambda: store.update_io(added["id"], {"name": "x"}),
                 lambda: store.delete_io(added["id"])):
        with pytest.raises(NotFound):
            call()
    # Ids are never reused: a client holding the tombstone must not confuse it with a new IO.
    assert store.add_io({"subsystemId": SUBSYSTEM, "name": "n", "description": "d"})["id"] == added["id"] + 1
    assert store.push([PushItem(added["id"], "Failed", "", 3)])[0]["reason"] == "unknown IO"


def test_concurrent_pushes_on_one_io_apply_exactly_once(store: Store, seed) -> None:
    io = seed[0]
    outcomes: list[dict[str, Any]] = []
    barrier = threading.Barrier(6)

    def push() -> None:
        barrier.wait()
        outcomes.extend(store.push([item(io, "Failed")]))

    threads = [threading.Thread(target=push) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o["status"] for o in outcomes) == ["applied"] + ["conflict"] * 5
    assert by_id(store.pull(SUBSYSTEM)[0])[io["id"]]["version"] == io["version"] + 1


def test_delta_reader_misses_nothing_under_concurrent_writers(store: Store, seed) -> None:
    """A reader following the cursor while four threads push must end with every IO's final version."""
    writers, pushes_each = 4, 15
    stop = threading.Event()
    seen: dict[int, int] = {}
    cursors: list[int] = []
    errors: list[BaseException] = []

    def follow() -> None:
        cursor = 0
        try:
            while True:
                finished = stop.is_set()
                changes, cursor = store.changes(SUBSYSTEM, cursor)
                cursors.append(cursor)
                for change in changes:
                    seen[change["id"]] = change["version"]
                if finished:
                    return
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    def write(index: int) -> None:
        mine = [io for io in seed if io["id"] % writers == index and not io["isSpare"]]
        versions = {io["id"]: io["version"] for io in mine}
        try:
            for n in range(pushes_each):
                io = mine[n % len(mine)]
                [outcome] = store.push([PushItem(io["id"], "Failed", f"w{index}-{n}", versions[io["id"]])])
                assert outcome["status"] == "applied", outcome
                versions[io["id"]] = outcome["version"]
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=follow)
    reader.start()
    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    reader.join(timeout=30)
    assert not errors, errors
    assert cursors == sorted(cursors)
    final = by_id(store.pull(SUBSYSTEM)[0])
    changed = {i: io["version"] for i, io in final.items() if io["version"] != by_id(seed)[i]["version"]}
    assert len(changed) > 0
    assert {i: seen.get(i) for i in changed} == changed


def test_a_batch_is_visible_all_at_once(store: Store, seed) -> None:
    """Readers never see half a push: every pull shows all IOs of the batch at the same version."""
    batch = [io for io in seed if not io["isSpare"]][:30]
    for io in batch:  # align versions so "same version" is the atomicity signal
        store.update_io(io["id"], {"comments": "aligned"})
    start = {io["id"]: io for io in store.pull(SUBSYSTEM)[0] if io["id"] in {b["id"] for b in batch}}
    offsets = {i: io["version"] for i, io in start.items()}
    torn: list[set[int]] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            current = by_id(store.pull(SUBSYSTEM)[0])
            steps = {current[i]["version"] - offsets[i] for i in offsets}
            if len(steps) != 1:
                torn.append(steps)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for step in range(10):
            outcomes = store.push([PushItem(i, "Failed", f"s{step}", offsets[i] + step) for i in offsets])
            assert {o["status"] for o in outcomes} == {"applied"}
    finally:
        done.set()
        reader.join(timeout=30)
    assert not torn, f"a pull saw a partly applied batch: version steps {torn[:3]}"


def test_postgres_store_survives_a_database_restart(pg: PostgresCluster) -> None:
    store = open_store(CloudConfig(database_url=pg.new_database()))
    try:
        store.load_seed_if_empty(make_seed_ios(5))
        assert store.cursor() == 0
        pg.stop("fast")
        pg.start()
        # The idle connection died with the server; the next call reconnects instead of failing.
        assert store.cursor() == 0
        pg.stop("fast")
        with pytest.raises(StoreUnavailable):
            store.cursor()
        pg.start()
        assert store.push([PushItem(1, "Failed", "", 2)])[0]["status"] == "applied"
    finally:
        store.close()
