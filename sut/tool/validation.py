"""Parsing of field writes: every refusal names what was wrong and what is accepted."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sut.tool.errors import BadRequest

ACCEPTED_RESULTS = ("Passed", "Failed", "Cleared")
MAX_COMMENTS = 2000
MAX_USER = 200


@dataclass(frozen=True)
class Mark:
    result: str  # as sent: Passed | Failed | Cleared
    comments: str
    current_user: str

    @property
    def stored_result(self) -> str | None:
        """Cleared is stored as NULL, in the tool and in the cloud alike."""
        return None if self.result == "Cleared" else self.result


def parse_mark(body: bytes) -> Mark:
    if not body.strip():
        raise BadRequest('empty body; send a JSON object {"result", "comments", "currentUser"}')
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"malformed JSON: {exc}; send a JSON object "
                         '{"result", "comments", "currentUser"}') from None
    if not isinstance(data, dict):
        raise BadRequest(f"body must be a JSON object, got {type(data).__name__}")
    missing = [name for name in ("result", "comments", "currentUser") if name not in data]
    if missing:
        raise BadRequest(f"missing field(s): {', '.join(missing)}; required: result, comments, currentUser")
    result, comments, user = data["result"], data["comments"], data["currentUser"]
    if not isinstance(result, str) or result not in ACCEPTED_RESULTS:
        raise BadRequest(f"invalid result {result!r}; accepted: {', '.join(ACCEPTED_RESULTS)}")
    if not isinstance(comments, str):
        raise BadRequest(f"comments must be a string, got {type(comments).__name__}")
    if len(comments) > MAX_COMMENTS:
        raise BadRequest(f"comments are {len(comments)} characters; at most {MAX_COMMENTS} accepted")
    if not isinstance(user, str) or not user.strip():
        raise BadRequest("currentUser must be a non-empty string naming the technician")
    if len(user) > MAX_USER:
        raise BadRequest(f"currentUser is {len(user)} characters; at most {MAX_USER} accepted")
    return Mark(result, comments, user)
