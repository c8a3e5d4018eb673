"""battle reaches the system under test only through its adapter: no module of battle/ outside
battle/adapters/ names a route, a table or an event of the reference system.

The forbidden strings come from their one source: the routes and event names the reference adapter
declares, the tables the reference system creates (sut/, seed/), plus every "/api/" path, every launch of
`sut.*` and of its seed generator.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import battle.adapters
from battle.adapters.reference_events import REFERENCE_EVENT_NAMES

REPO = Path(__file__).resolve().parents[2]
BATTLE = REPO / "battle"
ADAPTERS = BATTLE / "adapters"


def declared_routes() -> set[str]:
    """Every `*_ROUTE` constant of the reference adapter's modules."""
    routes = set()
    for info in pkgutil.iter_modules(battle.adapters.__path__, "battle.adapters."):
        if info.name.startswith("battle.adapters.reference"):
            module = importlib.import_module(info.name)
            routes |= {value for name, value in vars(module).items()
                       if name.endswith("_ROUTE") and isinstance(value, str)}
    return routes


def reference_tables() -> set[str]:
    """The tables the reference system creates (its schemas, in sut/ and the seed generator, are the source)."""
    pattern = re.compile(r'CREATE TABLE (?:IF NOT EXISTS )?"?([A-Za-z_][A-Za-z0-9_]*)', re.IGNORECASE)
    return {name for folder in ("sut", "seed") for path in (REPO / folder).rglob("*.py")
            for name in pattern.findall(path.read_text("utf-8"))}


def forbidden() -> list[tuple[str, re.Pattern[str]]]:
    checks = [("an /api/ route", re.compile(re.escape("/api/"))),
              ("a launch of the reference system", re.compile(r"""["']sut\.(?:tool|cloud|plcsim)\b""")),
              ("the reference seed generator", re.compile(r"""["']-m["'],\s*["']seed["']"""))]
    checks += [(f"the route {route}", re.compile(re.escape(route) + r"(?![\w/])")) for route in declared_routes()]
    checks += [(f"the event {name}", re.compile(r"(?<![\w.])" + re.escape(name) + r"(?![\w.])"))
               for name in REFERENCE_EVENT_NAMES]
    checks += [(f"the table {table}", re.compile(rf"\b{re.escape(table)}\b")) for table in reference_tables()]
    return checks


def offences(root: Path) -> list[str]:
    found = []
    checks = forbidden()
    for path in sorted(root.rglob("*.py")):
        if ADAPTERS in path.parents:
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            for what, pattern in checks:
                if pattern.search(line):
                    found.append(f"{path.relative_to(root)}:{number}: names {what}: {line.strip()[:100]}")
    return found


def test_the_forbidden_strings_are_derived_from_their_sources():
    checks = dict(forbidden())
    assert {"the route /api/ios", "the route /api/sync/queue", "the route /api/health"} <= set(checks)
    assert {"the event server.start", "the event sync.dropped", "the event plc.restore"} <= set(checks)
    assert {"the table Ios", "the table PendingSyncs"} <= set(checks)


def test_no_module_outside_the_adapters_names_the_reference_system():
    problems = offences(BATTLE)
    assert not problems, ("battle reaches the system under test only through battle/adapters/; move these into "
                          "the reference adapter (or its vocabulary):\n" + "\n".join(problems))


def test_the_check_catches_what_it_is_meant_to(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text('URL = "/api/ios"\nEVENT = "sync.parked"\nSQL = "SELECT * FROM PendingSyncs"\n'
                       'ARGV = ["python", "-m", "sut.tool"]\nSEED = ["python", "-m", "seed", "generate"]\n'
                       'OK = "record_parked"\n', encoding="utf-8")
    found = offences(tmp_path)
    assert [line.split(": names ")[1].split(":")[0] for line in found] == [
        "an /api/ route", "the route /api/ios", "the event sync.parked", "the table PendingSyncs",
        "a launch of the reference system", "the reference seed generator"]
