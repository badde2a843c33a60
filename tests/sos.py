"""SOS presses and their check, for the fault tests (issue 7: no alert lost or doubled)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.records import DeviceRecord, Home, Resident
from devices.registry import Registry

SOS_DEVICES = [f"SOS{i:02d}" for i in range(20)]
PRESSES = 300
FALLER = "FALL0"


def register(registry: Registry, device_ids: list[str]) -> None:
    """A wearable, a resident and a home for each id."""
    for device_id in device_ids:
        registry.add_home(Home(f"H-{device_id}", "test", 28.2, 112.9), replace=True)
        registry.add_resident(Resident(f"R-{device_id}", "test", f"H-{device_id}"), replace=True)
        registry.add_device(DeviceRecord(device_id, "wearable", "wearable", resident_id=f"R-{device_id}",
                                         worn_at="wrist"), replace=True)


def rows(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows of a query on a hub's state database, read-only (the hub may be running: WAL)."""
    con = sqlite3.connect(f"file:{data_dir / 'state.sqlite'}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def press_sos(port: int, start_ts: float, done: threading.Event) -> None:
    """Press SOS `PRESSES` times round-robin over `SOS_DEVICES`, 20 ms apart, each acked by the broker.

    While the broker is away a press is repeated until paho has a connection again; a press that reaches the
    broker twice that way has the same seq, and the hub keeps it once (dedup), as it would from a wearable.
    """
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sos-presser")
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = []
    for k in range(PRESSES):
        device_id = SOS_DEVICES[k % len(SOS_DEVICES)]
        body = {"ts": start_ts + k * 0.5, "seq": k // len(SOS_DEVICES) + 1, "event": "sos"}
        info = client.publish(f"eldercare/{device_id}/event", orjson.dumps(body), qos=1)
        while info.rc == mqtt.MQTT_ERR_NO_CONN:  # the broker is restarting: paho reconnects, press again
            time.sleep(0.1)
            info = client.publish(f"eldercare/{device_id}/event", orjson.dumps(body), qos=1)
        infos.append(info)
        time.sleep(0.02)  # spread over the telemetry stream, across the kill
    for info in infos:
        info.wait_for_publish(30)
    client.disconnect()
    client.loop_stop()
    done.set()


def check_alerts_once(data_dir: Path) -> None:
    """Every SOS is one detection, no detection identity is kept twice, each SOS wearer has one incident."""
    sos = "SELECT count(*), count(DISTINCT device_id || ts) FROM detections WHERE kind = 'sos'"
    assert rows(data_dir, sos) == [(PRESSES, PRESSES)]
    doubled = rows(data_dir, "SELECT detector, kind, subject_id, device_id, ts, alert_key, count(*) FROM detections"
                   " GROUP BY detector, kind, subject_id, device_id, ts, alert_key HAVING count(*) > 1")
    assert doubled == []
    incidents = rows(data_dir, "SELECT device_id, count(*) FROM incidents WHERE device_id LIKE 'SOS%'"
                     " GROUP BY device_id")
    assert sorted(incidents) == [(d, 1) for d in SOS_DEVICES]


def wait_sos(data_dir: Path, timeout_s: float = 60.0) -> None:
    """Wait until every SOS press is a detection (or the time is up; the check then says what is missing)."""
    deadline = time.monotonic() + timeout_s
    while rows(data_dir, "SELECT count(*) FROM detections WHERE kind = 'sos'")[0][0] < PRESSES:
        if time.monotonic() > deadline:
            return
        time.sleep(0.2)
