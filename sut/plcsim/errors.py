"""The plcsim package's one root exception, and its tag-file flavour."""


class PlcSimError(Exception):
    """Anything that stops the PLC simulator from starting or serving; the message says what and how to fix it."""


class TagFileError(PlcSimError):
    """The tag file is missing, not JSON, or a tag in it is malformed (the message names the tag and field)."""
