"""Simulated responder apps for the demo: each takes its offers on `responders/<id>/offer` and answers on
`responders/<id>/status` (docs/mqtt-contract.md): most accept, some decline, and those who accept report en route,
on scene and done a little later, so an offer moves on its own as a real provider's would.

Like the device fleet, the clients have no network threads: the simulator's thread pumps them (one selector).
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import random
import selectors
import time
from collections.abc import Callable

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

logger = logging.getLogger(__name__)
DECLINE_P = 0.25
STEPS_S: tuple[tuple[str, float, float], ...] = (  # status, seconds after the previous step (low, high)
    ("accepted", 4.0, 10.0), ("en_route", 5.0, 10.0), ("on_scene", 25.0, 45.0), ("done", 30.0, 60.0))  # fmt: skip
MISC_EVERY_S = 2.0


class ResponderApps:
    """One MQTT client per responder (username = responder id), answering offers on a seeded schedule."""

    def __init__(self, host: str, port: int, responder_ids: list[str], password: Callable[[str], str | None],
                 seed: int = 7, clock: Callable[[], float] = time.time) -> None:
        self.host, self.port = host, port
        self.ids = responder_ids
        self.password = password
        self.rng = random.Random(seed + 29)
        self.clock = clock
        self.clients: dict[str, mqtt.Client] = {}
        self._sel = selectors.DefaultSelector()
        self._due: list[tuple[float, int, str, int, str]] = []  # (when, tiebreak, responder, offer id, status)
        self._n = 0
        self._last_misc = 0.0
        self.answered: list[tuple[str, int, str]] = []  # (responder, offer id, status) as sent

    def connect(self) -> None:
        """Connect every responder's app and subscribe to its offers (answers come from `pump`)."""
        for rid in self.ids:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-app-{rid}", protocol=mqtt.MQTTv311)
            client.username_pw_set(rid, self.password(rid))
            client.on_connect = lambda c, _u, _f, reason, _p, rid=rid: self._on_connect(c, rid, reason)
            client.on_message = lambda _c, _u, msg, rid=rid: self._on_offer(rid, msg.payload)
            try:
                client.connect(self.host, self.port, 60)
            except OSError as exc:
                logger.warning("responder app %s cannot reach the broker: %s", rid, exc)
                continue
            self.clients[rid] = client
            sock = client.socket()
            if sock is not None:
                self._sel.register(sock, selectors.EVENT_READ, client)

    def _on_connect(self, client: mqtt.Client, rid: str, reason: object) -> None:
        if getattr(reason, "is_failure", False):
            logger.warning("the broker refused responder app %s: %s", rid, reason)
            return
        client.subscribe(f"responders/{rid}/offer", qos=1)

    def _on_offer(self, rid: str, payload: bytes) -> None:
        try:
            offer_id = int(orjson.loads(payload)["offer_id"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            logger.warning("responder app %s: an offer it cannot read: %r", rid, payload[:200])
            return
        when = self.clock()
        steps = [("declined", 5.0, 12.0)] if self.rng.random() < DECLINE_P else list(STEPS_S)
        for status, low, high in steps:
            when += self.rng.uniform(low, high)
            self._n += 1
            heapq.heappush(self._due, (when, self._n, rid, offer_id, status))

    def pump(self, timeout_s: float = 0.0) -> None:
        """Read offers, send the answers that are due, keep the connections alive."""
        for key, _ in self._sel.select(timeout_s):
            key.data.loop_read()
        now = self.clock()
        while self._due and self._due[0][0] <= now:
            _when, _n, rid, offer_id, status = heapq.heappop(self._due)
            body = {"offer_id": offer_id, "status": status, "ts": round(now, 3)}
            self.clients[rid].publish(f"responders/{rid}/status", orjson.dumps(body), qos=1)
            self.answered.append((rid, offer_id, status))
        for client in self.clients.values():
            if client.want_write():
                client.loop_write()
        if now - self._last_misc > MISC_EVERY_S:
            self._last_misc = now
            for client in self.clients.values():
                client.loop_misc()

    def close(self) -> None:
        """Disconnect every app."""
        for client in self.clients.values():
            with contextlib.suppress(Exception):
                client.disconnect()
        self._sel.close()
