"""The decoder on real registry records: every malformed kind gets its reason; good messages decode fully."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import orjson
import pytest
from corpus import SENSOR, TERMINAL, WEARABLE, malformed, register_corpus_devices

from devices.decode import Decoder
from devices.models import Availability, DeviceEvent, DisasterReport, Family, Reading, Rejection
from devices.registry import Registry
from devices.statedb.sqlite import StateDB

NOW = time.time()
CASES = malformed(NOW)


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    registry = Registry(StateDB(Path(tmp_path_factory.mktemp("reg")) / "state.sqlite"))
    register_corpus_devices(registry)
    return registry.devices()


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder(max_payload_bytes=64 * 1024, max_future_s=86400)


def test_corpus_has_twenty_kinds_and_every_reason() -> None:
    assert len({name for name, *_ in CASES}) >= 20
    assert {reason for *_, reason in CASES} == {
        "not_json", "invalid", "oversized", "bad_topic", "unknown_device", "topic_mismatch", "clock"}


@pytest.mark.parametrize(("name", "topic", "payload", "reason"), CASES, ids=[c[0] for c in CASES])
def test_malformed_is_rejected_with_reason(decoder, devices, name, topic, payload, reason) -> None:
    out = decoder.decode(topic, payload, devices, NOW)
    assert isinstance(out, Rejection), name
    assert out.reason == reason, (name, out.detail)
    assert out.detail and out.topic == topic
    assert len(out.payload) <= 4096


def test_wearable_telemetry_with_acc(decoder, devices) -> None:
    acc = [[0.0, -1.0, 0.0]] * 49 + [[3.0, 0.0, 4.0]]
    payload = orjson.dumps({"ts": NOW, "seq": 5, "heart_rate": 71, "spo2": 97.5, "acc": acc, "acc_hz": 50})
    out = decoder.decode(f"eldercare/{WEARABLE}/telemetry", payload, devices, NOW)
    assert isinstance(out, Reading)
    assert out.family is Family.WEARABLE and out.seq == 5 and out.ts == NOW
    assert out.values == {"heart_rate": 71.0, "spo2": 97.5, "acc_peak_g": 5.0}
    assert out.acc.shape == (50, 3) and out.acc.dtype == np.float32 and out.acc_rate_hz == 50


def test_home_sensor_booleans_become_numbers(decoder, devices) -> None:
    out = decoder.decode(f"eldercare/{SENSOR}/telemetry", orjson.dumps({"ts": NOW, "seq": 1, "smoke": True}),
                         devices, NOW)
    assert isinstance(out, Reading) and out.values == {"smoke": 1.0}


def test_event_report_and_availability(decoder, devices) -> None:
    ev = decoder.decode(f"eldercare/{WEARABLE}/event", orjson.dumps({"ts": NOW, "seq": 2, "event": "sos"}),
                        devices, NOW)
    assert isinstance(ev, DeviceEvent) and ev.event == "sos"
    rep = decoder.decode(f"disaster/{TERMINAL}/report", orjson.dumps({
        "ts": NOW - 300, "seq": 3, "event_id": "E-1", "stage": "initial", "hazard": "flood",
        "indicators": {"affected_population": 120, "emergency_relocated": 30}}), devices, NOW)
    assert isinstance(rep, DisasterReport) and rep.indicators["affected_population"] == 120.0
    assert (rep.ts, rep.received_at) == (NOW - 300, NOW)  # issue 14: the hub's receipt time beside the terminal's
    for body in (b"offline", b'{"state": "offline"}'):
        av = decoder.decode(f"eldercare/{WEARABLE}/availability", body, devices, NOW)
        assert isinstance(av, Availability) and av.online is False
