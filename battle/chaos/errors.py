"""The chaos package's root exception and the few flavours callers branch on."""

from __future__ import annotations

from collections.abc import Iterable


class ChaosError(Exception):
    """Anything chaos refuses or cannot do; the message says what happened and how to fix it."""


class TargetRefused(ChaosError):
    """A target outside the allowlist: nothing was done to it."""

    def __init__(self, target: str, allowlist: Iterable[str], why: str = "") -> None:
        self.target = target
        self.allowlist = sorted(allowlist)
        reason = f" ({why})" if why else ""
        super().__init__(
            f"target {target!r} is not allowed{reason}; chaos acts only on {self.allowlist or 'nothing'} "
            "(services of its own run that carry the chaos label)"
        )


class FaultSpecError(ChaosError):
    """A fault description is malformed: unknown kind, wrong target for the kind, bad params."""


class DriverError(ChaosError):
    """The runtime (Docker engine or local process) did not do what was asked."""


class ProxyControlError(ChaosError):
    """The cloud-proxy's control API refused or could not be reached."""
