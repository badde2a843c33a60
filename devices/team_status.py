"""`teams/<team_id>/status`: a rescue team's progress on the assignment the hub sent it (issue 14, item 6).

The hub publishes each assignment on `teams/<team_id>/assignment` (retained, QoS 1) with its `assignment_id`; the
team's device answers on its own status topic, naming that assignment, so a team's second mission is a new
assignment id and never mistaken for a repeat of the first (the responder topics key on offers instead). Decoded
here like a device payload (size, topic, JSON, schema, clock); whether the team and the assignment are current is
the dispatch stage's check, since only it knows the teams.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from devices.models import Rejection, TeamStatus
from devices.schemas import Seq, Ts

PREFIX = "teams/"
TEAM_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # as dashboard/resources_api.py registers teams
MAX_PAST_S = 7 * 24 * 3600.0  # a team out of coverage for days still reports; older than a week is no live mission
STATUSES = ("en_route", "on_scene", "done", "available")  # available: back at base, ready for the next mission


class TeamStatusPayload(msgspec.Struct, forbid_unknown_fields=True):
    """{"assignment_id": "A-3f2c9d1e0b", "status": "on_scene", "ts": 1767000000.0, "seq": 12}."""

    assignment_id: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    status: Literal["en_route", "on_scene", "done", "available"]
    ts: Ts
    seq: Seq


_DECODER = msgspec.json.Decoder(TeamStatusPayload)


def decode_team_status(topic: str, payload: bytes, now: float, max_future_s: float) -> TeamStatus | Rejection:
    """One status message -> a TeamStatus, or a Rejection with its reason; never raises."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[2] != "status" or not TEAM_ID.match(parts[1]):
        return Rejection(topic, "bad_topic", f"expected teams/<team_id>/status, got {topic[:200]!r}", payload[:4096],
                         now)  # fmt: skip
    try:
        body = _DECODER.decode(payload)
    except msgspec.ValidationError as exc:
        return Rejection(topic, "invalid", str(exc)[:300], payload[:4096], now)
    except msgspec.DecodeError as exc:
        return Rejection(topic, "not_json", str(exc)[:300], payload[:4096], now)
    if body.ts > now + max_future_s or body.ts < now - MAX_PAST_S:
        return Rejection(topic, "clock", f"ts {body.ts} is {body.ts - now:+.0f} s from the hub's clock",
                         payload[:4096], now)  # fmt: skip
    return TeamStatus(parts[1], body.assignment_id, body.status, body.ts, body.seq, topic, payload[:4096], now)
