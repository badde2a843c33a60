"""A counting subscriber for the load generator's benches and tests: messages a second, and each device's `seq`.

It runs its own asyncio loop in a thread with one simulators/mqtt_lite.py connection subscribed (QoS 0: counting
must not slow the broker) to the devices' telemetry and observation topics. Per device it keeps the count, the first
and the last `seq` and the number of times a `seq` was not the previous one + 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from dataclasses import dataclass

from simulators.mqtt_lite import MqttClient

SEQ = re.compile(rb'"seq":(\d+)')
TOPICS = ("eldercare/+/telemetry", "disaster/+/observation")
BROKER_CLIENTS = "$SYS/broker/clients/connected"  # Mosquitto's own count, every sys_interval (10 s)


@dataclass
class DeviceTally:
    """What one device's messages looked like on the broker's side."""

    count: int = 0
    first_seq: int = -1
    last_seq: int = -1
    breaks: int = 0  # a seq that is not the previous + 1 (a loss, a duplicate or a reordering)


class Tally:
    """Count what the broker delivers, from a thread of its own."""

    def __init__(self, host: str, port: int, topics: tuple[str, ...] = TOPICS) -> None:
        self.host, self.port, self.topics = host, port, topics
        self.devices: dict[bytes, DeviceTally] = {}
        self.received = 0
        self.broker_clients = -1  # from $SYS, where the broker publishes it (-1: not seen yet)
        self._loop = asyncio.new_event_loop()
        self._client = MqttClient(f"tally-{time.monotonic_ns()}", on_message=self._on_message, keepalive=60)
        self._ready = threading.Event()
        self._pinger: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="tally", daemon=True)

    def _on_message(self, topic: bytes, payload: bytes) -> None:
        if topic.startswith(b"$SYS/"):
            self.broker_clients = int(payload)
            return
        self.received += 1
        device = topic.split(b"/", 2)[1]
        tally = self.devices.get(device)
        if tally is None:
            tally = self.devices[device] = DeviceTally()
        tally.count += 1
        found = SEQ.search(payload)
        if found is None:
            return
        seq = int(found.group(1))
        if tally.first_seq < 0:
            tally.first_seq = seq
        elif seq != tally.last_seq + 1:
            tally.breaks += 1
        tally.last_seq = seq

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._subscribe())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    async def _subscribe(self) -> None:
        await self._client.connect(self.host, self.port)
        await self._client.subscribe([*self.topics, BROKER_CLIENTS], qos=0)
        self._pinger = self._loop.create_task(self._keepalive())

    async def _keepalive(self) -> None:
        """A subscriber only reads: without a PINGREQ the broker drops it after 1.5 x keepalive."""
        while True:
            await asyncio.sleep(5.0)
            self._client.ping_if_idle(time.monotonic())

    async def _close(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
        self._client.close()
        await asyncio.sleep(0.05)  # the transport's close runs on the next turns of the loop

    def start(self) -> Tally:
        """Connect and subscribe; returns once the broker has acknowledged the subscription."""
        self._thread.start()
        self._ready.wait(15)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        """Disconnect and end the thread."""
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()
