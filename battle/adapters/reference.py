"""The adapter for the reference system under test: how the harness reads the tool and the cloud.

A team pointing battle at their own image writes one of these; the observer
only calls the methods below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from battle.adapters.events import EventVocabulary
from battle.adapters.reference_events import REFERENCE_VOCABULARY


class AdapterError(Exception):
    """The system under test could not be read; the message says which endpoint and why."""


@dataclass(frozen=True)
class ReferenceAdapter:
    tool_url: str
    cloud_url: str
    api_key: str
    subsystem_id: int = 38
    timeout_s: float = 20.0

    def _get(self, url: str, **params: Any) -> Any:
        headers = {"X-API-Key": self.api_key} if url.startswith(self.cloud_url) else {}
        try:
            response = requests.get(url, params=params, headers=headers, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise AdapterError(f"GET {url} failed: {exc}") from exc
        if response.status_code != 200:
            raise AdapterError(f"GET {url} answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError as exc:
            raise AdapterError(f"GET {url} did not answer JSON: {response.text[:200]!r}") from exc

    @classmethod
    def vocabulary(cls) -> EventVocabulary:
        return REFERENCE_VOCABULARY

    def tool_healthy(self) -> bool:
        try:
            return requests.get(f"{self.tool_url}/api/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def cloud_healthy(self) -> bool:
        try:
            return requests.get(f"{self.cloud_url}/api/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def queue_state(self) -> dict[str, Any]:
        state = self._get(f"{self.tool_url}/api/sync/queue")
        return {"active": int(state["active"]), "parked": int(state["parked"]),
                "parkedRows": list(state.get("parkedRows", []))}

    def local_snapshot(self) -> list[dict[str, Any]]:
        return list(self._get(f"{self.tool_url}/api/ios", subsystemId=self.subsystem_id)["ios"])

    def cloud_snapshot(self) -> list[dict[str, Any]]:
        return list(self._get(f"{self.cloud_url}/api/sync/pull", subsystemId=self.subsystem_id)["ios"])
