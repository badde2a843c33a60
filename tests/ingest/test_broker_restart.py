"""Fault test with real processes: Mosquitto restarted mid-stream; every QoS 1 reading stored exactly once, and
every SOS pressed meanwhile is one alert (issue 7)."""

from __future__ import annotations

import threading
import time

import pytest
from hubproc import HubProcess
from sos import SOS_DEVICES, check_alerts_once, press_sos, register, wait_sos

from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto
from simulators.community import build_community
from simulators.runner import SimOptions, Simulation

pytestmark = pytest.mark.integration


def test_broker_restart_mid_stream_loses_and_doubles_nothing(mosquitto: Mosquitto, hub_factory) -> None:
    hub: HubProcess = hub_factory()
    community = build_community(residents=20, terminals=10, villages=4, seed=13)
    registry = Registry(StateDB(hub.data_dir / "state.sqlite"))
    community.register(registry)
    register(registry, SOS_DEVICES)
    hub.start()
    sim = Simulation(community, "127.0.0.1", mosquitto.port, SimOptions(seed=13, with_acc=False))
    sim.fleet.connect()
    total = 20_000
    errors: list[BaseException] = []

    def publish() -> None:
        try:
            sim.burst(total, time.time() - 3600, timeout_s=180)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    publisher = threading.Thread(target=publish)
    pressed = threading.Event()
    presser = threading.Thread(target=_press, args=(mosquitto.port, time.time() - 60, pressed, errors))
    publisher.start()
    presser.start()
    assert hub.wait_stored(3000, timeout_s=60) >= 3000
    mosquitto.restart()  # SIGTERM (Mosquitto saves its sessions and queues), then the same port again
    publisher.join(timeout=240)
    presser.join(timeout=240)
    assert not errors, errors
    assert sim.fleet.acked == sim.fleet.published
    sim.fleet.close()
    assert hub.wait_total(total, timeout_s=120) == total
    wait_sos(hub.data_dir)
    time.sleep(1.0)
    assert hub.stop() == 0
    rows, distinct = hub.stored_rows()
    assert (rows, distinct) == (total, total)
    assert pressed.is_set()
    check_alerts_once(hub.data_dir)



def _press(port: int, start_ts: float, done: threading.Event, errors: list[BaseException]) -> None:
    try:
        press_sos(port, start_ts, done)
    except BaseException as exc:  # reported by the assertion on `errors`
        errors.append(exc)
