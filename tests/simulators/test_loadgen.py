"""The load generator (issue 20 item 5): every device its own connection to a real Mosquitto, the intended rate
delivered, each device's `seq` continuous."""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from devices.credentials import Credentials
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto, auth_config
from simulators.load_tally import Tally
from simulators.loadgen import LoadGenerator, LoadOptions, Payloads, wearables

DEVICES = 200
HOLD_S = 4.0


def test_two_hundred_connections_publish_at_the_intended_rate(mosquitto: Mosquitto) -> None:
    devices = wearables(DEVICES)
    tally = Tally("127.0.0.1", mosquitto.port).start()
    options = LoadOptions(nodes=(("127.0.0.1", mosquitto.port),), processes=2)
    try:
        with LoadGenerator(devices, options) as gen:
            started = gen.start(timeout_s=60)
            assert started.connected == DEVICES and started.refused == 0
            time.sleep(1.5)  # every device past its first (phase-spread) message
            n0, t0 = tally.received, time.monotonic()
            time.sleep(HOLD_S)
            rate = (tally.received - n0) / (time.monotonic() - t0)
            live = gen.stats()
            final = gen.stop()
        time.sleep(0.3)  # the last publishes reach the subscriber
    finally:
        tally.stop()
    assert gen.intended_per_s == DEVICES  # one 1 s accelerometer window a second each
    assert abs(rate - DEVICES) / DEVICES < 0.1, rate
    assert live.connected == DEVICES and live.lag_s < 0.5
    assert final.acked == final.published  # every QoS 1 publish (availability included) acknowledged
    assert set(tally.devices) == {d.record.device_id.encode() for d in devices}  # each device its own publisher
    for device, seen in tally.devices.items():
        assert seen.breaks == 0, device
        assert seen.count == seen.last_seq - seen.first_seq + 1, device
        assert seen.first_seq == 1, device
    # availability excluded, the subscriber saw exactly what was acknowledged
    assert sum(s.count for s in tally.devices.values()) == final.published - DEVICES


def test_payloads_follow_the_contract() -> None:
    dev = wearables(1)[0]
    payloads = Payloads(seed=1, acc=True)
    msgs = [orjson.loads(payloads.message(dev, 1_795_847_500.0 + i)) for i in range(12)]
    assert [m["seq"] for m in msgs] == list(range(1, 13))
    assert all(len(m["acc"]) == m["acc_hz"] == 50 and len(m["acc"][0]) == 3 for m in msgs)
    with_vitals = [m["seq"] for m in msgs if "heart_rate" in m]
    assert with_vitals == [1, 11]  # vitals every tenth window
    assert payloads.topic(dev) == b"eldercare/W00000/telemetry"
    plain = orjson.loads(Payloads(seed=1, acc=False).message(dev, 1_795_847_500.0))
    assert "acc" not in plain and plain["seq"] == 13 and "spo2" in plain


def test_each_device_logs_in_with_its_own_password(tmp_path: Path) -> None:
    """A broker that requires credentials (issue 16): every device its own username and password, a revoked one
    refused and counted, the others publish."""
    devices = wearables(6)
    db = StateDB(tmp_path / "state.sqlite")
    creds = Credentials(db)
    passwords = {d.record.device_id: creds.issue(d.record.device_id) for d in devices}
    creds.revoke("W00005")
    files = creds.write_broker_files(tmp_path / "auth")
    db.close()
    broker = Mosquitto(tmp_path / "mosquitto", extra_config=auth_config(*files)).start()
    try:
        options = LoadOptions(nodes=(("127.0.0.1", broker.port),), processes=2)
        with LoadGenerator(devices, options, passwords) as gen:
            started = gen.start(timeout_s=60)
            time.sleep(2.5)
            final = gen.stop()
    finally:
        broker.stop()
    assert (started.connected, started.refused) == (5, 1)
    assert final.acked == final.published >= 5 * 3  # availability + two or more windows each, all acknowledged
