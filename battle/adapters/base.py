"""The `SutAdapter` contract: everything battle needs from a system under test, and nothing more.

battle never speaks to a system under test directly. The crew, the mutator, the observer and the local
stack ask an adapter, so a team with a different tool (other routes, other payloads, plain-text logs)
writes one subclass of `SutAdapter` and selects it with the knob `SUT_ADAPTER=package.module:Class`.

An adapter is built once per harness process with the system's endpoints (`SutEndpoints`). Everything a
member needs to reach the system comes from there; nothing is read from the environment behind battle's
back, so the knobs stay the one source of a run's settings.

Errors: a read that cannot be done raises `AdapterError` (or a subclass) whose message names the
endpoint and what it answered; callers retry or report it, they never see a transport library's error.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from battle.adapters.events import EventVocabulary
    from battle.adapters.plc import TagExpectations

Outcome = Literal["ok", "fail", "info"]


class AdapterError(Exception):
    """The system under test could not be read or written; the message says which endpoint and why."""


@dataclass(frozen=True)
class SutEndpoints:
    """Where the system under test answers, as the backend knows it (loopback ports or compose names)."""

    tool_url: str
    cloud_url: str
    cloud_api_key: str = ""


@dataclass(frozen=True)
class RecordTarget:
    """One record a bot may write: its kind, its id, and whatever the kind's writes need to know about it
    (the reference tool: whether an IO is a SPARE, which is never marked Passed)."""

    kind: str
    id: int
    traits: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BotWrite:
    """The request one bot op sends, and the value the journal keeps for the judges.

    `path` is relative to the tool's base URL; `body` is sent as JSON; `value` is what the judges later
    compare with the local snapshot (usually the body)."""

    method: str
    path: str
    body: Mapping[str, Any]
    value: Mapping[str, Any]


@dataclass(frozen=True)
class QueueState:
    """The tool's outbox: rows still to sync (`active`) and rows it gave up on for now (`parked`), with the
    record ids of the parked rows (they differ from the cloud by design) and the rows as the tool lists them
    (kept in snapshot-queue.json for the reader)."""

    active: int
    parked: int
    parked_ids: tuple[int, ...] = ()  # of the first record kind
    parked_rows: tuple[Any, ...] = ()  # each with `ioId` (its id) and, past the first kind, `recordKind`
    parked_targets: tuple[tuple[str, int], ...] = ()  # (record kind, id) of every parked row, when told

    def parked_of(self, kind: str, first_kind: str) -> set[int]:
        """The parked ids of one record kind (a state that names no kinds: its ids are the first kind's)."""
        if not self.parked_targets:
            return set(self.parked_ids) if kind == first_kind else set()
        return {record_id for parked_kind, record_id in self.parked_targets if parked_kind == kind}

    def to_json(self) -> dict[str, Any]:
        return {"active": self.active, "parked": self.parked, "parkedRows": list(self.parked_rows)}


@dataclass(frozen=True)
class CloudEdit:
    """One edit the mutator makes in the cloud: `add` a record, `edit` or `retire` one (`record_id`)."""

    action: str
    record_id: int | None
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class CloudEditResult:
    """What the cloud answered to an edit: its HTTP status, the id it gave an added record, its text."""

    status: int
    record_id: int | None
    text: str = ""


@dataclass(frozen=True)
class LaunchContext:
    """What the local backend decided before any process starts: the interpreter, the loopback host, a free
    port per service name, the seed and data directories, the cloud URL the tool must use (battle's
    fault-injecting proxy), the cloud's API key and the knobs as environment text."""

    python: str
    host: str
    ports: Mapping[str, int]  # a free port for any service name asked for
    seed_dir: Path
    data_dir: Path
    tool_cloud_url: str
    cloud_api_key: str
    knobs_env: Mapping[str, str]  # SEED among them: setup that generates data must use it
    plc_delay_file: Path  # the PLC simulator reads its reply delay here (chaos slows the PLC by writing it)


@dataclass(frozen=True)
class LocalService:
    """One process of the system under test on the local backend.

    `name` is what chaos targets: the fault kinds name `cloud`, `plc-sim` and `tool`, so a system's cloud,
    PLC simulator and tool carry those names (the backend puts its fault proxy in front of `cloud` and
    reads the PLC at `plc-sim`'s port). `ready_path` is an HTTP path that answers 200 once the service is up (on
    `ports[name]`); None means readiness is a TCP connect to that port."""

    name: str
    command: tuple[str, ...]
    env: Mapping[str, str]
    ready_path: str | None = None
    data_dir: Path | None = None
    seed_dir: Path | None = None


class RecordKind(ABC):
    """One kind of record the tool keeps and syncs (the reference tool: `io`, an IO check mark)."""

    name: str
    # The fields the judges compare between a write, the tool and the cloud, each through `normalise`.
    compared_fields: tuple[str, ...]

    @abstractmethod
    def list_targets(self) -> list[RecordTarget]:
        """Every record of this kind the bots may write, sorted by id; AdapterError if the tool cannot say."""

    @abstractmethod
    def bot_write(self, rng: random.Random, target: RecordTarget, user: str) -> BotWrite:
        """The write one bot (named `user`) makes to `target`, drawn from `rng` only (runs are seeded)."""

    @abstractmethod
    def classify_status(self, status: int) -> Outcome:
        """`ok` applied, `fail` definitely not applied, `info` may or may not have been applied."""

    @abstractmethod
    def local_snapshot(self) -> list[dict[str, Any]]:
        """Every record of this kind as the tool holds it now (each with an `id`)."""

    @abstractmethod
    def cloud_snapshot(self) -> list[dict[str, Any]]:
        """Every record of this kind as the cloud holds it now (each with an `id`)."""

    @abstractmethod
    def normalise(self, field_name: str, value: Any) -> Any:
        """A field's value in the form the judges compare (e.g. the reference's `Cleared` result is NULL)."""

    def compared_value(self, record: Mapping[str, Any]) -> tuple[Any, ...]:
        """A record's compared fields, normalised: two records with the same value hold the same data."""
        return tuple(self.normalise(name, record.get(name)) for name in self.compared_fields)


def classify_http_status(status: int) -> Outcome:
    """The usual reading of an HTTP answer: 2xx applied, 4xx refused (not applied), anything else unknown."""
    if 200 <= status < 300:
        return "ok"
    if 400 <= status < 500:
        return "fail"
    return "info"


class SutAdapter(ABC):
    """The only seam between battle and a system under test. Subclass it, then `SUT_ADAPTER=pkg.mod:Class`.

    The constructor takes the endpoints: `Class(SutEndpoints(...))`. Class-level members (`vocabulary`,
    `local_services`) are asked before anything runs, so they must not need the endpoints.
    """

    name: str = "unnamed"
    # A tool without a PLC says False: the probe then expects no PLC events, `tag_expectations` may raise
    # AdapterError, the local backend starts no plc-sim, I3 is demoted and faults on a PLC target are refused.
    has_plc: bool = True

    def __init__(self, endpoints: SutEndpoints) -> None:
        self.endpoints = endpoints

    # ---- record kinds

    @abstractmethod
    def record_kinds(self) -> Mapping[str, RecordKind]:
        """Every kind of record the tool syncs, by name; the crew writes and the judges judge each."""

    def primary_kind(self) -> RecordKind:
        """The first declared kind: the one the crew writes and the judges judge until every kind is judged."""
        return next(iter(self.record_kinds().values()))

    # ---- state

    @abstractmethod
    def tool_healthy(self) -> bool:
        """True when the tool answers its health check now; never raises."""

    @abstractmethod
    def cloud_healthy(self) -> bool:
        """True when the cloud answers its health check now; never raises."""

    @abstractmethod
    def tool_health_url(self) -> str:
        """The URL the observer probes every second (HTTP 200 = healthy) for responsiveness (I1)."""

    @abstractmethod
    def queue_state(self) -> QueueState:
        """The tool's outbox now; AdapterError if it cannot be read. Settling waits for `active == 0`."""

    # ---- cloud side (the mutator)

    @abstractmethod
    def choose_cloud_edit(self, rng: random.Random, op: int) -> CloudEdit:
        """The mutator's next cloud edit (op counts from 1), drawn from `rng` only; reads the cloud's records
        to pick one (AdapterError if it cannot)."""

    @abstractmethod
    def apply_cloud_edit(self, edit: CloudEdit) -> CloudEditResult:
        """Make the edit in the cloud; AdapterError only when no answer came (the cloud may be down)."""

    @abstractmethod
    def edit_visible(self, local_record: Mapping[str, Any] | None, edit_fields: Mapping[str, Any]) -> bool:
        """Whether a record of the tool's local snapshot shows every field of a cloud edit (I7 propagation)."""

    # ---- PLC

    @abstractmethod
    def tag_expectations(self, seed_dir: Path) -> TagExpectations:
        """The PLC tags the tool must keep right: the expected values (only tags that have one) and every tag's
        type (BOOL | DINT | REAL), read by the harness's own PLC reader after every program download (I3)."""

    # ---- events and launch: class-level, asked before the system runs

    @classmethod
    @abstractmethod
    def vocabulary(cls) -> EventVocabulary:
        """How the tool's log lines map to battle's events (battle.adapters.events)."""

    @classmethod
    @abstractmethod
    def local_services(cls, context: LaunchContext) -> Sequence[LocalService]:
        """The processes the local backend starts, in dependency order (the PLC simulator included, when
        `has_plc`)."""

    @classmethod
    def local_setup(cls, context: LaunchContext) -> Sequence[tuple[str, ...]]:
        """Commands the local backend runs once, in order, before any service starts (e.g. writing the seed
        data into `context.seed_dir`); each must exit 0 within 5 minutes. None by default."""
        return ()
