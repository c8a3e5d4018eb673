"""Adapters a team might select by mistake: for the selection tests."""

from battle.adapters.reference import ReferenceAdapter


class NotAnAdapter:
    """A class that is no SutAdapter."""


class RenamedReference(ReferenceAdapter):
    """A complete adapter living outside battle's package (it only renames the reference one)."""

    name = "renamed"
