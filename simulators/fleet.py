"""Many simulated devices, each with its own MQTT client identity (username = device id), driven by one thread.

A thousand paho clients each with its own network thread would cost a thousand threads; instead every client runs
without a loop thread (paho then writes a publish straight to its socket) and one epoll selector reads the
PUBACKs of all of them. Each client sets a retained last will on its availability topic, as real devices do.

Issue 20: given the nodes of a broker cluster, the devices spread over them (device i on node i mod N) and a device
whose node dies reconnects to the next one; paho re-sends its unacknowledged QoS 1 publishes there (DUP set), so a
reading may arrive twice but is never lost (the hub dedups by (device, seq)).
"""

from __future__ import annotations

import contextlib
import selectors
import ssl
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from simulators.telemetry import SimDevice

KEEPALIVE_S = 60
CONNECT_CHUNK = 50
MISC_EVERY_S = 2.0


class FleetError(RuntimeError):
    """The fleet could not connect to the broker."""


class Fleet:
    """One paho client per simulated device, pumped by the caller's thread."""

    def __init__(self, host: str, port: int, devices: list[SimDevice],
                 password: Callable[[str], str | None] | None = None, ca_file: Path | None = None,
                 nodes: Sequence[tuple[str, int]] = ()) -> None:
        self.host, self.port = host, port
        self.ca_file = ca_file  # issue 16: connect over TLS, the broker's certificate checked against this CA
        self.nodes = list(nodes) or [(host, port)]  # issue 20: the nodes of a broker cluster
        self._node_of: dict[mqtt.Client, int] = {}
        self.devices = {d.record.device_id: d for d in devices}
        self.clients: dict[str, mqtt.Client] = {}
        self._sel = selectors.DefaultSelector()
        self._dirty: set[mqtt.Client] = set()
        self._socks: dict[mqtt.Client, mqtt.SocketLike] = {}  # SocketLike: paho's protocol, for type checking only
        self._password = password
        self._device_of: dict[mqtt.Client, str] = {}
        self.refused: set[str] = set()  # issue 16: devices the broker refused (revoked): never retried, never sent
        self.published = 0
        self.acked = 0
        self._last_misc = 0.0

    def _client(self, dev: SimDevice) -> mqtt.Client:
        device_id = dev.record.device_id
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{device_id}", protocol=mqtt.MQTTv311)
        client.username_pw_set(device_id, self._password(device_id) if self._password else None)
        if self.ca_file is not None:
            client.tls_set(ca_certs=str(self.ca_file))
        client.will_set(dev.topic("availability"), b'{"state":"offline"}', qos=1, retain=True)
        client.max_inflight_messages_set(200)
        client.on_publish = self._on_publish
        client.on_connect = lambda _c, _u, _f, reason, _p: self._on_connect(device_id, reason)
        self._device_of[client] = device_id
        return client

    def _on_connect(self, device_id: str, reason: object) -> None:
        if getattr(reason, "is_failure", False):
            self.refused.add(device_id)  # wrong or revoked credentials: retrying would only hammer the broker

    def _on_publish(self, *_args: object) -> None:
        self.acked += 1

    def connect(self, timeout_s: float = 30.0) -> None:
        """Connect every device, a chunk at a time, then publish its retained `online` availability.

        Chunks keep the broker's listen backlog (100 in Mosquitto) from overflowing: a dropped SYN costs a TCP
        retransmission of 1, 3, 7 s..., which once delayed a demo's first reading by ten seconds.
        """
        deadline = time.monotonic() + timeout_s
        items = list(self.devices.items())
        for start in range(0, len(items), CONNECT_CHUNK):
            chunk = []
            for index, (device_id, dev) in enumerate(items[start : start + CONNECT_CHUNK], start):
                client = self.clients[device_id] = self._client(dev)
                node = self._node_of[client] = index % len(self.nodes)
                host, port = self.nodes[node]
                try:
                    client.connect(host, port, KEEPALIVE_S)
                except OSError as exc:  # ssl.SSLError too: a certificate the CA did not sign
                    raise FleetError(f"simulator cannot reach the broker at {host}:{port}: {exc}") from exc
                self._watch(client)
                chunk.append(client)
            self._await_connected(chunk, deadline, timeout_s)
        for device_id, dev in self.devices.items():
            self.publish(device_id, dev.topic("availability"), b'{"state":"online"}', retain=True)

    def _is_refused(self, client: mqtt.Client) -> bool:
        return self._device_of.get(client) in self.refused

    def _await_connected(self, clients: list[mqtt.Client], deadline: float, timeout_s: float) -> None:
        while not all(c.is_connected() or self._is_refused(c) for c in clients):
            if time.monotonic() > deadline:
                down = sum(not c.is_connected() for c in self.clients.values())
                raise FleetError(f"{down} simulated devices not connected after {timeout_s} s (refused?)")
            self.pump(0.01)

    def publish(self, device_id: str, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Publish as `device_id` (written at once; queued by paho past its in-flight limit); nothing for a
        device the broker refused."""
        if device_id in self.refused:
            return
        client = self.clients[device_id]
        client.publish(topic, payload, qos=qos, retain=retain)
        self.published += 1
        self._dirty.add(client)

    def pump(self, timeout_s: float = 0.0) -> None:
        """Read acks, flush pending writes, keep connections alive; reconnect dropped clients."""
        for key, _ in self._sel.select(timeout_s):
            client: mqtt.Client = key.data
            if client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
                self._reconnect(client)
        if self.ca_file is not None:  # TLS: bytes already decrypted into the SSL buffer never wake the selector
            for client, sock in list(self._socks.items()):
                for _ in range(100):  # bounded: one packet a read
                    if not (isinstance(sock, ssl.SSLSocket) and sock.pending() and self._socks.get(client) is sock):
                        break
                    if client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
                        self._reconnect(client)
        dirty, self._dirty = self._dirty, set()
        for client in dirty:
            if client.want_write():
                client.loop_write()
                self._dirty.add(client)
        now = time.monotonic()
        if now - self._last_misc > MISC_EVERY_S:
            self._last_misc = now
            for client in self.clients.values():
                if client.loop_misc() != mqtt.MQTT_ERR_SUCCESS:
                    self._reconnect(client)

    def _watch(self, client: mqtt.Client) -> None:
        sock = client.socket()
        if sock is None:
            return
        stale = self._sel.get_map().get(sock.fileno())
        if stale is not None:  # the fd of another client's dropped (closed) socket, now reused
            self._sel.unregister(stale.fileobj)
            self._socks.pop(stale.data, None)
        self._sel.register(sock, selectors.EVENT_READ, client)
        self._socks[client] = sock

    def _reconnect(self, client: mqtt.Client) -> None:
        sock = self._socks.pop(client, None)
        if sock is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(sock)
        if self._is_refused(client):
            return
        if len(self.nodes) > 1:  # its node may be dead: try the next one
            node = self._node_of[client] = (self._node_of.get(client, 0) + 1) % len(self.nodes)
            # paho's host/port setters refuse while its state is "connection lost"; reconnect() reads these two.
            client._host, client._port = self.nodes[node]
        try:
            client.reconnect()
        except OSError:
            return  # broker still down: loop_misc tries again later
        self._watch(client)
        self._dirty.add(client)

    def drain(self, timeout_s: float = 60.0) -> bool:
        """Pump until every QoS 1 publish is acknowledged by the broker (True) or the timeout passes."""
        deadline = time.monotonic() + timeout_s
        while self.acked < self.published and time.monotonic() < deadline:
            self.pump(0.02)
        return self.acked >= self.published

    def close(self) -> None:
        """Disconnect every device cleanly (no last will)."""
        for client in self.clients.values():
            client.disconnect()
        self.pump(0.1)
        self._sel.close()
