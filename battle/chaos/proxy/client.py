"""A small client for the cloud-proxy's control API (what the fault kinds and the local driver use)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from battle.chaos.errors import ProxyControlError


class ProxyClient:
    def __init__(self, control_url: str, token: str, timeout_s: float = 5.0) -> None:
        self._base = control_url.rstrip("/")
        self._token = token
        self._timeout_s = timeout_s

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        url = self._base + path
        try:
            response = requests.request(
                method, url, json=body, headers={"X-Chaos-Token": self._token}, timeout=self._timeout_s
            )
        except requests.RequestException as exc:
            raise ProxyControlError(f"cloud-proxy control API at {url} unreachable: {exc}") from exc
        if response.status_code != 200:
            raise ProxyControlError(
                f"cloud-proxy control API {method} {path} answered {response.status_code}: {response.text[:300]}"
            )
        return response.json()

    def get_mode(self) -> dict[str, Any]:
        return self._call("GET", "/mode")

    def set_mode(self, layers: Mapping[str, Any]) -> dict[str, Any]:
        """Set the named layers (`cut`, `shape`, `errors`, or `{"mode": "pass"}`); returns the new mode."""
        return self._call("PUT", "/mode", layers)

    def stats(self) -> dict[str, int]:
        return self._call("GET", "/stats")

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")
