"""Fault test with real processes: the hub SIGKILLed mid-stream loses and doubles no alert (issue 7).

Telemetry from a simulated community flows while 20 wearables press SOS 300 times in all and one wearable
reports a fall whose cancel window is still running when the hub is killed. After the restart every SOS is
one detection, the fall is alerted once when its window ends, no detection identity is kept twice, and each
SOS wearer has one incident.
"""

from __future__ import annotations

import threading
import time

import orjson
import paho.mqtt.client as mqtt
import pytest
from hubproc import HubProcess
from paho.mqtt.enums import CallbackAPIVersion
from sos import FALLER, SOS_DEVICES, check_alerts_once, press_sos, register, rows, wait_sos

from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto
from simulators.community import build_community
from simulators.runner import SimOptions, Simulation

pytestmark = pytest.mark.integration


def test_hub_killed_mid_stream_loses_and_doubles_no_alert(mosquitto: Mosquitto, hub_factory) -> None:
    hub: HubProcess = hub_factory(env={"HUB_ALERTS__CANCEL_WINDOW_S": "15"})
    community = build_community(residents=20, terminals=10, villages=4, seed=17)
    registry = Registry(StateDB(hub.data_dir / "state.sqlite"))
    community.register(registry)
    register(registry, [*SOS_DEVICES, FALLER])
    hub.start()
    now = time.time()
    faller = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="faller")
    faller.connect("127.0.0.1", mosquitto.port)
    faller.loop_start()
    fall = {"ts": now - 5, "seq": 1, "event": "fall"}
    faller.publish(f"eldercare/{FALLER}/event", orjson.dumps(fall), qos=1).wait_for_publish(10)
    deadline = time.monotonic() + 10
    while not rows(hub.data_dir, "SELECT * FROM pending_falls") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rows(hub.data_dir, "SELECT device_id FROM pending_falls") == [(FALLER,)]  # saved before its ack
    faller.loop_stop()

    sim = Simulation(community, "127.0.0.1", mosquitto.port, SimOptions(seed=17, with_acc=False))
    sim.fleet.connect()
    total = 20_000
    telemetry = threading.Thread(target=sim.burst, args=(total, now - 3600, 180))
    pressed = threading.Event()
    presser = threading.Thread(target=press_sos, args=(mosquitto.port, now - 60, pressed))
    telemetry.start()
    presser.start()
    assert hub.wait_stored(3000, timeout_s=60) >= 3000
    hub.kill()  # SIGKILL: batches stored but not yet detected are not acked, so the broker redelivers them
    telemetry.join(timeout=200)
    presser.join(timeout=60)
    sim.fleet.close()
    assert pressed.is_set() and sim.fleet.acked == sim.fleet.published
    hub.start()
    assert hub.wait_total(total, timeout_s=120) == total
    wait_sos(hub.data_dir)
    deadline = time.monotonic() + 30  # the fall's 15 s window, on the hub's clock, may still be running
    while not rows(hub.data_dir, "SELECT 1 FROM detections WHERE kind = 'fall'") and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # anything redelivered late would now show up twice
    assert hub.stop() == 0
    assert hub.stored_rows() == (total, total)
    check_alerts_once(hub.data_dir)
    assert rows(hub.data_dir, "SELECT device_id, ts FROM detections WHERE kind = 'fall'") == [(FALLER, now - 5)]
    assert rows(hub.data_dir, "SELECT * FROM pending_falls") == []
