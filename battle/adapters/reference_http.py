"""HTTP reads for the reference adapter: one GET with the cloud's key, errors worded with the URL."""

from __future__ import annotations

from typing import Any

import requests

from battle.adapters.base import AdapterError


class HttpReader:
    """GETs JSON from the tool and the cloud; the cloud's requests carry its API key."""

    def __init__(self, cloud_url: str, api_key: str, timeout_s: float) -> None:
        self.cloud_url = cloud_url
        self.api_key = api_key
        self.timeout_s = timeout_s

    def headers(self, url: str) -> dict[str, str]:
        return {"X-API-Key": self.api_key} if url.startswith(self.cloud_url) else {}

    def get_json(self, url: str, **params: Any) -> Any:
        try:
            response = requests.get(url, params=params, headers=self.headers(url), timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise AdapterError(f"GET {url} failed: {exc}") from exc
        if response.status_code != 200:
            raise AdapterError(f"GET {url} answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError as exc:
            raise AdapterError(f"GET {url} did not answer JSON: {response.text[:200]!r}") from exc

    def get_list(self, url: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """The `key` list of a JSON answer (the reference system wraps every listing in an object)."""
        answer = self.get_json(url, **params)
        rows = answer.get(key) if isinstance(answer, dict) else None
        if not isinstance(rows, list):
            raise AdapterError(f"GET {url} answered JSON without a `{key}` list: {str(answer)[:200]}")
        return rows

    def answers_200(self, url: str) -> bool:
        try:
            return requests.get(url, headers=self.headers(url), timeout=5).status_code == 200
        except requests.RequestException:
            return False
