"""Wire time format shared with the cloud and the harness: UTC ISO-8601, milliseconds, `Z`."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_iso(epoch_s: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if epoch_s is None else epoch_s, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
