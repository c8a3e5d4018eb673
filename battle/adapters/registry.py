"""Which adapter a run uses: the knob `SUT_ADAPTER`, read as `package.module:Class` or an entry-point name.

Entry points let a team's own package, installed into the harness image, offer its adapter by name:

    [project.entry-points."battle.adapters"]
    mytool = "mytool_battle.adapter:MyToolAdapter"

The adapters that ship with battle resolve by name even where battle itself is not installed as a package.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from importlib.metadata import entry_points

from battle.adapters.base import AdapterError, SutAdapter, SutEndpoints

KNOB = "SUT_ADAPTER"
ENTRY_POINT_GROUP = "battle.adapters"
DEFAULT_ADAPTER = "reference"
BUILT_IN = {"reference": "battle.adapters.reference:ReferenceAdapter"}


class AdapterSelectionError(AdapterError):
    """`SUT_ADAPTER` names no usable adapter; the message says what was wrong and what is accepted."""


@dataclass(frozen=True)
class AdapterChoice:
    """The adapter a knob value resolved to, as recorded in manifest.json."""

    knob: str
    target: str  # package.module:Class
    adapter_class: type[SutAdapter]

    def to_manifest(self) -> dict[str, str]:
        return {"knob": self.knob, "class": self.target, "name": self.adapter_class.name}


def accepted_form() -> str:
    names = ", ".join(sorted(known_names()))
    return (f"'package.module:Class' naming a subclass of battle.adapters.base.SutAdapter that the harness can "
            f"import, or the name of an entry point in group '{ENTRY_POINT_GROUP}' (known here: {names})")


def known_names() -> dict[str, str]:
    """Adapter names and their targets: battle's own, then those installed packages declare."""
    names = dict(BUILT_IN)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(point.name, point.value)
    return names


def choose_adapter(value: str) -> AdapterChoice:
    """Resolve a knob value; AdapterSelectionError says what was wrong (never a bare ImportError)."""
    text = value.strip() or DEFAULT_ADAPTER
    target = text if ":" in text else known_names().get(text)
    if target is None:
        raise AdapterSelectionError(f"{text!r} is neither 'package.module:Class' nor a known adapter name")
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise AdapterSelectionError(f"{target!r} needs both a module and a class, as 'package.module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise AdapterSelectionError(f"module {module_name!r} not found ({exc}); is its package installed in the "
                                    "harness's environment (or image)?") from exc
    except Exception as exc:  # the team's module itself failed while importing: say so, with its error
        raise AdapterSelectionError(f"module {module_name!r} failed to import: {type(exc).__name__}: {exc}") from exc
    found: object = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise AdapterSelectionError(f"module {module_name!r} has no attribute {attribute!r}")
        found = getattr(found, part)
    if not (inspect.isclass(found) and issubclass(found, SutAdapter)):
        what = "a class" if inspect.isclass(found) else f"a {type(found).__name__}"
        raise AdapterSelectionError(f"{target!r} is {what}, not a subclass of battle.adapters.base.SutAdapter")
    if inspect.isabstract(found):
        missing = ", ".join(sorted(found.__abstractmethods__))
        raise AdapterSelectionError(f"{target!r} is not an adapter yet: it does not implement {missing}")
    return AdapterChoice(knob=text, target=target, adapter_class=found)


def build_adapter(value: str, endpoints: SutEndpoints) -> SutAdapter:
    """The adapter the knob names, built for these endpoints."""
    return choose_adapter(value).adapter_class(endpoints)
