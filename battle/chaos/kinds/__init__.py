"""The fault kinds: one module per kind, each registered by name when this package is imported.

See `base.py` for what a kind declares. Every module of this package is imported here, so a new
kind needs no edit anywhere else.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import (
    NO_EFFECTS,
    AttritionRole,
    Effects,
    FaultKind,
    Flap,
    KindDeclarationError,
    Storm,
    check_declaration,
    effects_of,
    get_kind,
    kinds,
    plc_targets,
    register,
    registered,
    unregister,
    validate_fault,
)

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module != "base" and not _module.startswith("_"):
        importlib.import_module(f"{__name__}.{_module}")

__all__ = [
    "NO_EFFECTS", "AttritionRole", "Effects", "FaultKind", "Flap", "KindDeclarationError", "Storm",
    "check_declaration", "effects_of", "get_kind", "kinds", "plc_targets", "register", "registered", "unregister",
    "validate_fault",
]
