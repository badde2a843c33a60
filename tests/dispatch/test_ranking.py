"""Responder ranking: capability, availability (hours, capacity), ETA by road-speed model, family only for own."""

from __future__ import annotations

from dispatch.ranking import drive_min, eta_min, need_for, open_at, rank
from dispatch.responders import Responder

HOME = (28.20, 112.90)


def _r(rid: str, kind: str, services: str, dlat: float, **kw: object) -> Responder:
    return Responder(rid, rid, kind, services, HOME[0] + dlat, HOME[1], **kw)


def test_nearest_capable_available_first() -> None:
    rs = [
        _r("far", "provider", "emergency_visit", 0.10),
        _r("near", "provider", "emergency_visit", 0.01),
        _r("meals", "provider", "meals", 0.001),
        _r("closed", "provider", "emergency_visit", 0.002, hours="08:00-09:00"),
        _r("full", "provider", "emergency_visit", 0.003, capacity=1),
        _r("son", "family", "", 0.04, resident_id="R1"),
        _r("other-son", "family", "", 0.0001, resident_id="R2"),
    ]
    ranked = rank(rs, {"full": 1}, *HOME, "emergency_visit", 12 * 60, "R1")
    ids = [c.responder_id for c in ranked]
    assert ids[:3] == ["near", "son", "far"]
    assert set(ids[3:]) == {"closed", "full"} and not any(c.available for c in ranked[3:])
    assert "meals" not in ids and "other-son" not in ids


def test_service_request_ranks_for_the_requested_service() -> None:
    rs = [_r("cook", "provider", "meals", 0.05), _r("nurse", "provider", "nursing", 0.01)]
    assert [c.responder_id for c in rank(rs, {}, *HOME, need_for("service_request", "meals"), 600)] == ["cook"]
    assert need_for("fall") == "emergency_visit"


def test_road_speed_model_and_hours() -> None:
    assert eta_min(_r("a", "provider", "", 0.0), *HOME) == 5.0
    assert drive_min(2.0) == 6.0 and drive_min(10.0) == 6.0 + 60 * 8 / 35
    times = [drive_min(k / 10) for k in range(300)]
    assert times == sorted(times)  # longer trips never arrive sooner
    assert open_at("22:00-06:00", 23 * 60) and not open_at("22:00-06:00", 12 * 60) and open_at("", 0)
