"""The report package's root exception."""

from __future__ import annotations


class ReportError(Exception):
    """A report cannot be written at all (no such run directory, nowhere to write); the message says what to pass."""
