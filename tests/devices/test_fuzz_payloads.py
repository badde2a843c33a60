"""Property-based fuzzing (hypothesis) of every payload schema through the production decoder.

Whatever bytes arrive on whatever topic, the decoder returns a record or a Rejection with a reason; it never
raises, and anything it accepts lies within the contract's ranges.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import orjson
import pytest
from corpus import SENSOR, TERMINAL, WEARABLE, register_corpus_devices
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.decode import Decoder
from devices.models import Availability, DeviceEvent, DisasterReport, Reading, Rejection
from devices.registry import Registry
from devices.statedb.sqlite import StateDB

NOW = time.time()
REASONS = {"oversized", "bad_topic", "unknown_device", "topic_mismatch", "not_json", "invalid", "clock"}
TOPICS = [f"eldercare/{WEARABLE}/telemetry", f"eldercare/{SENSOR}/telemetry", f"eldercare/{WEARABLE}/event",
          f"eldercare/{WEARABLE}/availability", f"disaster/{TERMINAL}/observation", f"disaster/{TERMINAL}/report",
          f"disaster/{TERMINAL}/availability", "eldercare/NOBODY/telemetry", f"eldercare/{WEARABLE}/set"]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30)
FIELDS = ["ts", "seq", "heart_rate", "spo2", "skin_temp", "battery", "steps", "lat", "lon", "acc", "acc_hz",
          "occupancy", "smoke", "river_level_m", "rainfall_mm", "event", "stage", "hazard", "indicators",
          "event_id", "device_id", "state"]
numbers = st.floats(allow_nan=False) | st.integers(min_value=-(2**63), max_value=2**63 - 1)
plausible = st.fixed_dictionaries(
    {"ts": st.floats(NOW - 40 * 86400, NOW + 2 * 86400), "seq": st.integers(-5, 2**60)},
    optional={f: numbers | json_values for f in FIELDS[2:]})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Decoder, dict[str, object]]:
    registry = Registry(StateDB(Path(tmp_path_factory.mktemp("fuzz")) / "state.sqlite"))
    register_corpus_devices(registry)
    return Decoder(64 * 1024, 86400), registry.devices()


def _check(out: object) -> None:
    if isinstance(out, Rejection):
        assert out.reason in REASONS and out.detail
        return
    assert isinstance(out, Reading | DeviceEvent | Availability | DisasterReport)
    if isinstance(out, Reading):
        assert all(math.isfinite(v) for v in out.values.values())
        assert 20 <= out.values.get("heart_rate", 60) <= 250 and 0 <= out.values.get("battery", 50) <= 100
        assert out.seq >= 0 and NOW - 31 * 86400 < out.ts < NOW + 86400 + 1


@FUZZ
@given(topic=st.sampled_from(TOPICS) | st.text(max_size=60), payload=st.binary(max_size=2048))
def test_random_bytes_on_any_topic(world, topic: str, payload: bytes) -> None:
    decoder, devices = world
    _check(decoder.decode(topic, payload, devices, NOW))


@FUZZ
@given(topic=st.sampled_from(TOPICS), body=plausible)
def test_structured_payloads_near_the_schema(world, topic: str, body: dict[str, object]) -> None:
    decoder, devices = world
    _check(decoder.decode(topic, orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), devices, NOW))


@FUZZ
@given(topic=st.sampled_from(TOPICS), body=json_values)
def test_any_json_document(world, topic: str, body: object) -> None:
    decoder, devices = world
    try:
        payload = orjson.dumps(body)
    except orjson.JSONEncodeError:  # integers beyond 64 bit: not JSON orjson can write
        payload = repr(body).encode()
    _check(decoder.decode(topic, payload, devices, NOW))


@FUZZ
@given(hr=st.floats(20, 250), spo2=st.floats(50, 100), n=st.integers(1, 400), g=st.floats(-16, 16))
def test_valid_wearable_telemetry_is_accepted(world, hr: float, spo2: float, n: int, g: float) -> None:
    decoder, devices = world
    body = {"ts": NOW, "seq": 7, "heart_rate": hr, "spo2": spo2, "acc": [[g, -1.0, 0.0]] * n, "acc_hz": 50}
    out = decoder.decode(f"eldercare/{WEARABLE}/telemetry", orjson.dumps(body), devices, NOW)
    assert isinstance(out, Reading) and out.acc.shape == (n, 3)
    assert out.values["acc_peak_g"] == pytest.approx(math.sqrt(g * g + 1.0), rel=1e-5)


@pytest.mark.parametrize("literal", [b"1e999", b"-1e999", b"99999999999999999999999999", b"NaN", b"Infinity", b"-0"])
def test_extreme_number_literals(world, literal: bytes) -> None:
    decoder, devices = world
    for field in (b"ts", b"seq", b"heart_rate"):
        body = b'{"ts": %d, "seq": 1, "%s": %s}' % (int(NOW), field, literal)
        _check(decoder.decode(f"eldercare/{WEARABLE}/telemetry", body, devices, NOW))
