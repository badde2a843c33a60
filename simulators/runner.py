"""Drive a simulated community through a broker: in (accelerated) real time for the demo, or a counted burst.

Periods are in simulated seconds; `speed` multiplies the simulated clock (speed 60 = one simulated minute per real
second). Device timestamps are simulated time, so the store and the detectors see a consistent stream.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from devices.models import Family
from devices.records import DeviceRecord, Home, Resident
from simulators.community import Community
from simulators.demo_script import DemoScript
from simulators.falls import generate, windows
from simulators.fleet import Fleet
from simulators.responders import ResponderApps
from simulators.storm import storm_for
from simulators.teams import TeamApps
from simulators.telemetry import ACC_HZ, SimDevice, payload_for

logger = logging.getLogger(__name__)
PERIOD_S = {Family.WEARABLE.value: 1.0, Family.HOME_SENSOR.value: 60.0, Family.TERMINAL.value: 10.0}


@dataclass(frozen=True)
class SimOptions:
    """How fast and how much the simulation publishes."""

    speed: float = 1.0
    seed: int = 7
    with_acc: bool = True
    fall_every_s: float = 0.0  # simulated seconds between staged falls (0 = none)
    scenario: str = ""  # "storm": the rainstorm of simulators/storm.py (issue 6)
    first_fall_s: float = 0.0  # simulated seconds to the first staged fall (0 = after fall_every_s)
    staged: bool = False  # the demo's SOS, green key, low SpO2, smoke and inactivity (simulators/demo_script.py)
    responders: tuple[str, ...] = ()  # responder apps to simulate: they answer their offers (simulators/responders.py)
    teams: tuple[str, ...] = ()  # rescue teams' devices: they follow their missions over MQTT (simulators/teams.py)


def sim_devices(community: Community, seed: int) -> list[SimDevice]:
    """One SimDevice per registered device, positioned at its home or its own site."""
    homes = {h.home_id: h for h in community.homes}
    residents = {r.resident_id: r for r in community.residents}
    rng = random.Random(seed)
    out = []
    for rec in community.devices:
        lat, lon = _position(rec, homes, residents)
        dev = SimDevice(rec, lat, lon, random.Random(rng.getrandbits(32)))
        dev.baseline_hr = rng.gauss(72, 6)
        out.append(dev)
    return out


def _position(rec: DeviceRecord, homes: Mapping[str, Home], residents: Mapping[str, Resident]) -> tuple[float, float]:
    if rec.resident_id:
        home = homes[residents[rec.resident_id].home_id]
        return home.lat, home.lon
    return rec.lat or 0.0, rec.lon or 0.0


class Simulation:
    """A community publishing through its fleet of clients."""

    def __init__(self, community: Community, host: str, port: int, options: SimOptions,
                 password: Callable[[str], str | None] | None = None, ca_file: Path | None = None,
                 nodes: Sequence[tuple[str, int]] = ()) -> None:
        self.options = options
        self.devices = sim_devices(community, options.seed)
        # ca_file: over TLS (issue 16); nodes: a broker cluster's (issue 20)
        self.fleet = Fleet(host, port, self.devices, password, ca_file, nodes)
        villages = [(v.village_id, v.lat) for v in community.villages]
        self.storm = storm_for(self.devices, villages) if options.scenario == "storm" else None
        self.script = DemoScript(self.devices, options.seed) if options.staged else None
        self.apps = ResponderApps(host, port, list(options.responders), password or (lambda _id: None),
                                  options.seed) if options.responders else None
        self.teams = TeamApps(host, port, list(options.teams), password or (lambda _id: None),
                              options.seed) if options.teams else None

    def publish_next(self, dev: SimDevice, t: float) -> None:
        """Publish the next periodic message of one device at simulated time t."""
        topic, payload = payload_for(dev, t, self.options.with_acc)
        if self.storm is not None:
            payload = self.storm.shape(dev, t, payload)
        self.fleet.publish(dev.record.device_id, topic, orjson.dumps(payload))

    def stage_fall(self, rng: random.Random) -> str | None:
        """Make a random waist- or pendant-worn wearable play a synthetic fall in its next windows."""
        candidates = [d for d in self.devices if d.record.family == Family.WEARABLE.value
                      and d.record.worn_at in ("waist", "pendant") and not d.script and not d.quiet
                      and not d.overrides]
        if not candidates:
            return None
        dev = rng.choice(candidates)
        acc, _impact = generate("fall", ACC_HZ, rng.randrange(1 << 30))
        dev.script = [w.round(3).tolist() for w in windows(acc, ACC_HZ)]
        logger.info("simulator: %s falls now", dev.record.device_id)
        return dev.record.device_id

    def burst(self, count: int, start_ts: float, timeout_s: float = 120.0) -> int:
        """Publish exactly `count` readings round-robin over all devices, as fast as the broker acks them."""
        step = 1.0
        for i in range(count):
            dev = self.devices[i % len(self.devices)]
            self.publish_next(dev, start_ts + (i // len(self.devices)) * step)
            if i % 200 == 199:
                self.fleet.pump(0.0)
                while self.fleet.published - self.fleet.acked > 5000:
                    self.fleet.pump(0.01)
        if not self.fleet.drain(timeout_s):
            raise TimeoutError(f"broker acked {self.fleet.acked} of {self.fleet.published} publishes")
        return count

    def run_realtime(self, stop: threading.Event, start_ts: float | None = None) -> None:
        """Publish each device on its period (simulated time) until `stop` is set."""
        real0 = time.time()
        sim0 = real0 if start_ts is None else start_ts
        due = [(sim0 + random.Random(i).uniform(0, PERIOD_S[d.record.family]), i) for i, d in
               enumerate(self.devices)]
        heapq.heapify(due)
        rng = random.Random(self.options.seed)
        next_fall = sim0 + (self.options.first_fall_s or self.options.fall_every_s)
        for apps in (self.apps, self.teams):
            if apps is not None:
                apps.connect()
        try:
            self._loop(stop, real0, sim0, due, rng, next_fall)
        finally:
            for apps in (self.apps, self.teams):
                if apps is not None:
                    apps.close()

    def _loop(self, stop: threading.Event, real0: float, sim0: float, due: list[tuple[float, int]],
              rng: random.Random, next_fall: float) -> None:
        while not stop.is_set():
            now_sim = sim0 + (time.time() - real0) * self.options.speed
            if self.options.fall_every_s and now_sim >= next_fall:
                self.stage_fall(rng)
                next_fall = now_sim + self.options.fall_every_s
            if self.script is not None:
                self.script.step(time.time() - real0, now_sim, self.fleet.publish)
            if self.apps is not None:
                self.apps.pump(0.0)
            if self.teams is not None:
                self.teams.pump(0.0)
            for dev, report in self.storm.reports_due(now_sim) if self.storm is not None else []:
                self.fleet.publish(dev.record.device_id, dev.topic("report"), orjson.dumps(report))
            while due and due[0][0] <= now_sim:
                t, i = heapq.heappop(due)
                dev = self.devices[i]
                self.publish_next(dev, t)
                heapq.heappush(due, (t + PERIOD_S[dev.record.family], i))
            self.fleet.pump(0.02)
