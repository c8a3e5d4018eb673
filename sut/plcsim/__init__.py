"""EtherNet/IP (CIP) PLC simulator for the reference system under test.

`python -m sut.plcsim` serves every tag of a seed `plc_tags.json` at its initial value through
cpppo's EtherNet/IP server; clients use pylogix. State lives only in memory, so a restart is a
program download: every tag back to `initial`. See docs/contracts.md section 4 and docs/plc-notes.md.
"""

from sut.plcsim.errors import PlcSimError, TagFileError

__all__ = ["PlcSimError", "TagFileError"]
