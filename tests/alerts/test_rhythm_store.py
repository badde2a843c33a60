"""Issue 21: the routine detector's learned rhythm is kept in the state database (SQLite and PostgreSQL), so a
restarted hub judges silences by what it learned before, and goes on judging the silence it was in."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from hubproc import HubProcess
from paho.mqtt.enums import CallbackAPIVersion
from tiny_home import write_home

from alerts.care.rhythm_store import RhythmStore
from alerts.care.routine import RoutineDetector, RoutineSettings
from alerts.eval import home_replay as hr
from devices.models import Family, Reading
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto
from simulators.community import build_community

H = 3600.0


def _detector(layout: hr.HomeLayout, db: StateDB | None) -> RoutineDetector:
    settings = RoutineSettings(utc_offset_s=layout.events[0].utc_offset_s)
    return RoutineDetector(hr.topology(layout.sensors), settings, RhythmStore(db) if db is not None else None)


def test_a_restarted_detector_keeps_the_learned_rhythm_and_the_current_silence(
        tmp_path: Path, open_db: Callable[[], StateDB]) -> None:
    layout = hr.load_home(write_home(tmp_path / "h", days=8, labels=False))
    db = open_db()
    before = _detector(layout, db)
    hr.replay(layout, [before])  # eight days learned, saved as it went
    last = layout.events[-1].ts  # 22:33 local on the last day: in bed
    assert before.advance(last + 1200) == []  # the quiet spell begins: saved with its context
    learned = before._homes["home"]
    assert len(learned.rhythm.samples) > 20 and len(learned.wake_tods) >= 5

    after = _detector(layout, open_db())  # a new process on the same store (a restart)
    fresh = _detector(layout, None)  # one that learned nothing
    heartbeat = Reading("pir_kit", Family.HOME_SENSOR, last + 1800, 1, {"battery": 90.0})  # no sign of life
    for det in (after, fresh):
        det.observe(heartbeat)
    home = after._homes["home"]
    assert list(home.rhythm.samples) == list(learned.rhythm.samples)
    assert list(home.wake_tods) == list(learned.wake_tods) and home.rhythm.fires == learned.rhythm.fires
    assert after.wake_limit_tod("home") == before.wake_limit_tod("home") != fresh.wake_limit_tod("home")
    assert home.rhythm.last_ts == learned.rhythm.last_ts and home.rhythm.last_sensor == learned.rhythm.last_sensor
    limit = before._homes["home"].rhythm.expectation(before.wake_limit_tod("home"))
    assert home.rhythm.expectation(after.wake_limit_tod("home")) == limit
    # nothing more from the home: the restarted detector raises the alert the first one would have
    found = [d for t in range(int(last + 1800), int(last + 2 * 86_400), 600)
             for d in after.advance(float(t))]
    assert found and found[0].kind in ("no_wakeup", "bed_not_left", "inactivity")
    assert fresh._homes["home"].rhythm.last_ts == float("-inf")  # the fresh one knows of no silence at all


def test_the_silence_across_the_restart_is_not_learned(tmp_path: Path, open_db: Callable[[], StateDB]) -> None:
    layout = hr.load_home(write_home(tmp_path / "h", days=4, labels=False))
    db = open_db()
    before = _detector(layout, db)
    hr.replay(layout, [before])
    last = layout.events[-1].ts
    before.advance(last + 1200)
    after = _detector(layout, open_db())
    n = len(before._homes["home"].rhythm.samples)
    after.observe(Reading("pir_kit", Family.HOME_SENSOR, last + 9 * H, 1, {"occupancy": 1.0}))
    after.advance(last + 9 * H + 60)
    assert len(after._homes["home"].rhythm.samples) == n  # unsure what happened before it started: not learned
    after.observe(Reading("pir_kit", Family.HOME_SENSOR, last + 10 * H, 2, {"occupancy": 1.0}))
    after.advance(last + 10 * H + 60)
    assert len(after._homes["home"].rhythm.samples) == n + 1  # the next silence is
    third = _detector(layout, open_db())
    third.observe(Reading("pir_kit", Family.HOME_SENSOR, last + 10 * H + 120, 3, {"battery": 90.0}))
    assert len(third._homes["home"].rhythm.samples) == n + 1


def _rhythm_row(data_dir: Path, home_id: str) -> tuple[dict[str, int], int]:
    """The saved counts per sensor of a home and its learned silences, read from the hub's state file."""
    con = sqlite3.connect(str(data_dir / "state.sqlite"), timeout=5)
    try:
        state = con.execute("SELECT state FROM home_rhythm WHERE home_id = ?", (home_id,)).fetchone()
        silences = con.execute("SELECT count(*) FROM rhythm_silences WHERE home_id = ?", (home_id,)).fetchone()
    except sqlite3.OperationalError:  # the hub has not made the tables yet
        return {}, 0
    finally:
        con.close()
    return (orjson.loads(state[0])["rhythm"]["fires"] if state else {}), int(silences[0])


def _wait_row(data_dir: Path, home_id: str, sensor: str, fires: int) -> tuple[dict[str, int], int]:
    deadline = time.monotonic() + 20
    while (row := _rhythm_row(data_dir, home_id))[0].get(sensor) != fires and time.monotonic() < deadline:
        time.sleep(0.2)
    return row


@pytest.mark.integration
def test_the_hub_killed_keeps_the_rhythm_and_learns_on(hub_factory, mosquitto: Mosquitto) -> None:
    hub: HubProcess = hub_factory()
    community = build_community(residents=1, terminals=1, villages=1, seed=11)
    db = StateDB(hub.data_dir / "state.sqlite")
    community.register(Registry(db))
    db.close()
    pir = next(d for d in community.devices if d.family == "home_sensor" and d.kind == "motion")
    hub.start()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-rhythm-restart")
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    t0 = time.time() - 3 * H

    def move(k: int, ts: float) -> None:
        body = {"ts": ts, "seq": k, "battery": 90.0, "occupancy": True}
        client.publish(f"eldercare/{pir.device_id}/telemetry", orjson.dumps(body), qos=1).wait_for_publish(5)

    for k in range(9):  # seen every 20 minutes for three hours: eight silences learned
        move(k + 1, t0 + k * 1200)
    assert _wait_row(hub.data_dir, str(pir.home_id), pir.device_id, 9) == ({pir.device_id: 9}, 8)

    hub.kill()
    hub.start()

    move(10, time.time() - 60)  # 40 minutes after the last: across the restart, so not learned (unsure)
    fires, silences = _wait_row(hub.data_dir, str(pir.home_id), pir.device_id, 10)
    assert fires == {pir.device_id: 10} and silences == 8  # counted on from what was saved, not from zero
    client.loop_stop()
    client.disconnect()
