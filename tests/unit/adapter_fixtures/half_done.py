"""Adapters a team might select by mistake: for the selection tests."""

from battle.adapters.reference import ReferenceAdapter


class NotAnAdapter:
    """A class that is no SutAdapter."""


class ToolOnly(ReferenceAdapter):
    """An adapter whose local launch forgets the cloud and the PLC simulator."""

    @classmethod
    def local_services(cls, context):
        return [service for service in super().local_services(context) if service.name == "tool"]


class RenamedReference(ReferenceAdapter):
    """A complete adapter living outside battle's package (it only renames the reference one)."""

    name = "renamed"
