"""The fault kinds' public face: `battle.chaos.kinds` holds one module per kind; see its base.py."""

from __future__ import annotations

from battle.chaos.kinds import (  # noqa: F401  (re-exported)
    Effects,
    FaultKind,
    effects_of,
    get_kind,
    kinds,
    register,
    registered,
    validate_fault,
)

__all__ = ["Effects", "FaultKind", "effects_of", "get_kind", "kinds", "register", "registered", "validate_fault"]
