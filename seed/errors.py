"""The seed package's root exception and the one subclass the CLI maps to a usage error."""

from __future__ import annotations


class SeedError(Exception):
    """Anything the seed generator refuses or cannot do; the message says what and how to fix it."""


class SeedUsageError(SeedError):
    """A caller-supplied argument is wrong (bad seed, unwritable output); the CLI exits 2.

    `argument` names the command-line option the value came from, so the CLI can point at it.
    """

    def __init__(self, message: str, argument: str) -> None:
        super().__init__(message)
        self.argument = argument
