"""`responders/<responder_id>/status`: a responder app's answer to an offer or its progress (issue 5).

Decoded here like a device payload (size, topic, JSON, schema, clock); whether the offer exists and belongs to
that responder is the dispatch stage's check, since only it knows the offers.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from devices.models import Rejection, ResponderStatus
from devices.schemas import Ts

PREFIX = "responders/"
RESPONDER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # as dashboard/responders_api.py registers them
MAX_PAST_S = 7 * 24 * 3600.0  # an app offline for days still reports; older than a week is not a live job


class StatusPayload(msgspec.Struct, forbid_unknown_fields=True):
    """{"offer_id": 12, "status": "accepted", "ts": 1767000000.0}."""

    offer_id: Annotated[int, Meta(ge=1, le=2**53)]
    status: Literal["accepted", "declined", "en_route", "on_scene", "done"]
    ts: Ts


_DECODER = msgspec.json.Decoder(StatusPayload)


def decode_status(topic: str, payload: bytes, now: float, max_future_s: float) -> ResponderStatus | Rejection:
    """One status message -> a ResponderStatus, or a Rejection with its reason; never raises."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[2] != "status" or not RESPONDER_ID.match(parts[1]):
        return Rejection(
            topic, "bad_topic", f"expected responders/<responder_id>/status, got {topic[:200]!r}", payload[:4096], now
        )
    try:
        body = _DECODER.decode(payload)
    except msgspec.ValidationError as exc:
        return Rejection(topic, "invalid", str(exc)[:300], payload[:4096], now)
    except msgspec.DecodeError as exc:
        return Rejection(topic, "not_json", str(exc)[:300], payload[:4096], now)
    if body.ts > now + max_future_s or body.ts < now - MAX_PAST_S:
        return Rejection(
            topic, "clock", f"ts {body.ts} is {body.ts - now:+.0f} s from the hub's clock", payload[:4096], now
        )
    return ResponderStatus(parts[1], body.offer_id, body.status, body.ts, topic, payload[:4096], now)
