"""The mutator's edits in the reference cloud: add an IO, fix a description, retire an IO to SPARE."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import requests

from battle.adapters.base import AdapterError, CloudEdit, CloudEditResult
from battle.adapters.reference_io import CLOUD_PULL_ROUTE

ADMIN_IOS_ROUTE = "/api/admin/ios"  # cloud: POST adds, PATCH /{id} edits
# add / edit / retire weights: mostly new points and description fixes, a few re-designations to SPARE
WEIGHTS = (("add", 5), ("edit", 4), ("retire", 1))


def choose_edit(rng: random.Random, op: int, known_ids: list[int], retirable_ids: list[int],
                subsystem_id: int) -> CloudEdit:
    """Pure and seeded: the next edit, given the cloud's live IOs and those that may be retired."""
    actions = [name for name, _ in WEIGHTS]
    weights = [weight for _, weight in WEIGHTS]
    action = rng.choices(actions, weights=weights)[0]
    if action == "retire" and not retirable_ids:
        action = "edit"
    if action == "edit" and not known_ids:
        action = "add"
    if action == "add":
        return CloudEdit("add", None, {"subsystemId": subsystem_id, "name": f"MCM02_NEW_{op:04d}",
                                       "description": f"Added in cloud, mutation {op}",
                                       "tagName": f"MCM02_NEW_{op:04d}"})
    if action == "edit":
        return CloudEdit("edit", rng.choice(known_ids), {"description": f"Edited in cloud, mutation {op}"})
    return CloudEdit("retire", rng.choice(retirable_ids), {"isSpare": 1, "description": "SPARE"})


def edit_visible(io: Mapping[str, Any] | None, fields: Mapping[str, Any]) -> bool:
    """Whether a tool row shows every field of a cloud edit (the subsystem is routing, not content)."""
    if io is None:
        return False
    return all(str(io.get(key)) == str(value) for key, value in fields.items() if key != "subsystemId")


class CloudEditor:
    """Reads the cloud's IOs and makes edits through its admin routes, with the API key."""

    def __init__(self, cloud_url: str, api_key: str, subsystem_id: int, timeout_s: float) -> None:
        self.cloud_url = cloud_url
        self.subsystem_id = subsystem_id
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self.session.headers["X-API-Key"] = api_key

    def choose(self, rng: random.Random, op: int) -> CloudEdit:
        url = f"{self.cloud_url}{CLOUD_PULL_ROUTE}"
        try:
            response = self.session.get(url, params={"subsystemId": self.subsystem_id}, timeout=self.timeout_s)
            response.raise_for_status()
            ios = response.json()["ios"]
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            raise AdapterError(f"GET {url} (the cloud's IOs, to choose an edit) failed: {exc}") from exc
        live = [io for io in ios if not io.get("deleted")]
        ids = sorted(int(io["id"]) for io in live)
        retirable = [int(io["id"]) for io in live if not io.get("isSpare")]
        return choose_edit(rng, op, ids, retirable, self.subsystem_id)

    def apply(self, edit: CloudEdit) -> CloudEditResult:
        base = f"{self.cloud_url}{ADMIN_IOS_ROUTE}"
        try:
            if edit.action == "add":
                response = self.session.post(base, json=dict(edit.fields), timeout=self.timeout_s)
            else:
                response = self.session.patch(f"{base}/{edit.record_id}", json=dict(edit.fields),
                                              timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise AdapterError(f"{edit.action} in the cloud ({base}) got no answer: {exc}") from exc
        record_id = edit.record_id
        if response.ok and edit.action == "add":
            try:
                record_id = int(response.json()["id"])
            except (ValueError, KeyError, TypeError) as exc:
                raise AdapterError(f"POST {base} answered {response.status_code} without an id: "
                                   f"{response.text[:200]!r}") from exc
        return CloudEditResult(response.status_code, record_id, "" if response.ok else response.text[:200])
