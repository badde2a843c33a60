"""Simulated rescue teams' devices for the storm demo (issue 14): each hears its missions on
`teams/<id>/assignment` (retained) and reports on `teams/<id>/status` (docs/mqtt-contract.md): en route at once,
on scene a little later, done, then back at base and ready for the next mission, so a team the commander sends on
`/resources` moves on the page by itself, as a real team's phone would move it.

Like the responder apps, the clients have no network threads: the simulator's thread pumps them (one selector).
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
STEPS_S: tuple[tuple[str, float, float], ...] = (  # status, seconds after the previous step (low, high)
    ("en_route", 2.0, 6.0), ("on_scene", 20.0, 40.0), ("done", 30.0, 60.0), ("available", 15.0, 30.0))  # fmt: skip
MISC_EVERY_S = 2.0


class TeamApps:
    """One MQTT client per team (username = team id), following each mission it is sent on."""

    def __init__(self, host: str, port: int, team_ids: list[str], password: Callable[[str], str | None],
                 seed: int = 7, clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.host, self.port = host, port
        self.ids = team_ids
        self.password = password
        self.rng = random.Random(seed + 31)
        self.clock = clock
        self.clients: dict[str, mqtt.Client] = {}
        self._sel = selectors.DefaultSelector()
        self._due: list[tuple[float, int, str, str, str]] = []  # (when, tiebreak, team, assignment id, status)
        self._n = 0
        self._seq: dict[str, int] = {}
        self._followed: set[tuple[str, str]] = set()  # (team, assignment id): a retained repeat is not a new mission
        self._last_misc = 0.0
        self.sent: list[tuple[str, str, str]] = []  # (team, assignment id, status) as sent

    def connect(self) -> None:
        """Connect every team's device and subscribe to its missions (reports come from `pump`)."""
        for tid in self.ids:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-team-{tid}", protocol=mqtt.MQTTv311)
            client.username_pw_set(tid, self.password(tid))
            client.on_connect = lambda c, _u, _f, reason, _p, tid=tid: self._on_connect(c, tid, reason)
            client.on_message = lambda _c, _u, msg, tid=tid: self.on_assignment(tid, msg.payload)
            try:
                client.connect(self.host, self.port, 60)
            except OSError as exc:
                logger.warning("team device %s cannot reach the broker: %s", tid, exc)
                continue
            self.clients[tid] = client
            sock = client.socket()
            if sock is not None:
                self._sel.register(sock, selectors.EVENT_READ, client)

    def _on_connect(self, client: mqtt.Client, tid: str, reason: object) -> None:
        if getattr(reason, "is_failure", False):
            logger.warning("the broker refused team device %s: %s", tid, reason)
            return
        client.subscribe(f"teams/{tid}/assignment", qos=1)

    def on_assignment(self, tid: str, payload: bytes) -> None:
        """A mission (or its update, or an empty message: none): a new one is followed to the end."""
        if not payload:
            return
        try:
            body = orjson.loads(payload)
            mission = str(body["assignment_id"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            logger.warning("team device %s: a mission it cannot read: %r", tid, payload[:200])
            return
        if (tid, mission) in self._followed or body.get("status") not in ("en_route", None):
            return  # the hub's update of a mission already followed, or one a person moved on meanwhile
        self._followed.add((tid, mission))
        when = self.clock()
        for status, low, high in STEPS_S:
            when += self.rng.uniform(low, high)
            self._n += 1
            heapq.heappush(self._due, (when, self._n, tid, mission, status))

    def due(self, now: float) -> list[tuple[str, str, dict[str, object]]]:
        """The reports whose time has come: (team, topic, payload)."""
        out: list[tuple[str, str, dict[str, object]]] = []
        while self._due and self._due[0][0] <= now:
            _when, _n, tid, mission, status = heapq.heappop(self._due)
            self._seq[tid] = self._seq.get(tid, 0) + 1
            body: dict[str, object] = {"assignment_id": mission, "status": status, "ts": round(now, 3),
                                       "seq": self._seq[tid]}  # fmt: skip
            out.append((tid, f"teams/{tid}/status", body))
            self.sent.append((tid, mission, status))
        return out

    def pump(self, timeout_s: float = 0.0) -> None:
        """Read missions, send the reports that are due, keep the connections alive."""
        for key, _ in self._sel.select(timeout_s):
            key.data.loop_read()
        now = self.clock()
        for tid, topic, body in self.due(now):
            if tid in self.clients:
                self.clients[tid].publish(topic, orjson.dumps(body), qos=1)
        for client in self.clients.values():
            if client.want_write():
                client.loop_write()
        if now - self._last_misc > MISC_EVERY_S:
            self._last_misc = now
            for client in self.clients.values():
                client.loop_misc()

    def close(self) -> None:
        """Disconnect every device."""
        for client in self.clients.values():
            with contextlib.suppress(Exception):
                client.disconnect()
        self._sel.close()
