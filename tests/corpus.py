"""A corpus of malformed MQTT messages, each with the reason the hub must give, and a registry to test it on."""

from __future__ import annotations

import time

import orjson

from devices.records import DeviceRecord, Home, Resident, Village
from devices.registry import Registry

WEARABLE, SENSOR, TERMINAL = "W-CORPUS", "S-CORPUS", "T-CORPUS"


def register_corpus_devices(registry: Registry) -> None:
    """One device of each family."""
    registry.add_village(Village("V-C", "Corpus village", "T", "C", 28.2, 112.9), replace=True)
    registry.add_home(Home("H-C", "1 Corpus Road", 28.2, 112.9, "V-C"), replace=True)
    registry.add_resident(Resident("R-C", "Corpus Resident", "H-C"), replace=True)
    registry.add_device(DeviceRecord(WEARABLE, "wearable", "wearable", resident_id="R-C", worn_at="waist"), True)
    registry.add_device(DeviceRecord(SENSOR, "home_sensor", "smoke", home_id="H-C"), True)
    registry.add_device(DeviceRecord(TERMINAL, "terminal", "river_gauge", village_id="V-C"), True)


def _j(**fields: object) -> bytes:
    return orjson.dumps(fields)


def malformed(now: float | None = None) -> list[tuple[str, str, bytes, str]]:
    """(name, topic, payload, expected reason) for every kind of bad input."""
    t = time.time() if now is None else now
    tel = f"eldercare/{WEARABLE}/telemetry"
    nested = b"[" * 5000 + b"]" * 5000
    return [
        ("not json", tel, b"hello", "not_json"),
        ("truncated json", tel, b'{"ts": 1800000000.5, "seq": 1', "not_json"),
        ("empty payload", tel, b"", "not_json"),
        ("invalid utf-8", tel, b"\xff\xfe\xfd", "not_json"),
        ("utf-16 json", tel, f'{{"ts": {t}, "seq": 1}}'.encode("utf-16"), "not_json"),
        ("NaN literal", tel, b'{"ts": %d, "seq": 1, "heart_rate": NaN}' % int(t), "not_json"),
        ("json array", tel, b"[1, 2, 3]", "invalid"),
        ("deeply nested", tel, nested, "invalid"),
        ("missing ts", tel, _j(seq=1, heart_rate=70), "invalid"),
        ("missing seq", tel, _j(ts=t, heart_rate=70), "invalid"),
        ("bool as seq", tel, _j(ts=t, seq=True), "invalid"),
        ("negative seq", tel, _j(ts=t, seq=-1), "invalid"),
        ("string heart rate", tel, _j(ts=t, seq=1, heart_rate="fast"), "invalid"),
        ("heart rate out of range", tel, _j(ts=t, seq=1, heart_rate=400), "invalid"),
        ("spo2 over 100", tel, _j(ts=t, seq=1, spo2=120), "invalid"),
        ("infinity", tel, b'{"ts": %d, "seq": 1, "skin_temp": 1e999}' % int(t), "invalid"),
        ("unknown field", tel, _j(ts=t, seq=1, password="x"), "invalid"),
        ("acc with two axes", tel, _j(ts=t, seq=1, acc=[[0, 1]], acc_hz=50), "invalid"),
        ("acc without rate", tel, _j(ts=t, seq=1, acc=[[0, -1, 0]]), "invalid"),
        ("unknown event", f"eldercare/{WEARABLE}/event", _j(ts=t, seq=1, event="party"), "invalid"),
        ("negative report count", f"disaster/{TERMINAL}/report",
         _j(ts=t, seq=1, event_id="E1", stage="initial", hazard="flood", indicators={"deaths": -1}), "invalid"),
        ("unknown report stage", f"disaster/{TERMINAL}/report",
         _j(ts=t, seq=1, event_id="E1", stage="final", hazard="flood", indicators={}), "invalid"),
        ("oversized", tel, b'{"ts": 1, "pad": "' + b"x" * 100_000 + b'"}', "oversized"),
        ("unknown channel", f"eldercare/{WEARABLE}/bogus", _j(ts=t, seq=1), "bad_topic"),
        ("unknown domain", f"weather/{WEARABLE}/telemetry", _j(ts=t, seq=1), "bad_topic"),
        ("unknown device", "eldercare/NOBODY/telemetry", _j(ts=t, seq=1, heart_rate=70), "unknown_device"),
        ("terminal on eldercare", f"eldercare/{TERMINAL}/telemetry", _j(ts=t, seq=1), "topic_mismatch"),
        ("wearable on disaster", f"disaster/{WEARABLE}/observation", _j(ts=t, seq=1), "topic_mismatch"),
        ("payload names another device", tel, _j(ts=t, seq=1, device_id="W-OTHER"), "topic_mismatch"),
        ("timestamp in the future", tel, _j(ts=t + 10 * 86400, seq=1), "clock"),
        ("timestamp long past", tel, _j(ts=t - 90 * 86400, seq=1), "clock"),
        ("timestamp before 2000", tel, _j(ts=1000.0, seq=1), "invalid"),
    ]
