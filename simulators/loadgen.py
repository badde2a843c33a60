"""The load generator (issue 20): tens of thousands of devices, each its own MQTT connection, from a few processes.

The devices are split over `processes` worker processes (plain interpreters: `python -m simulators.loadgen`); each
runs one asyncio loop holding its devices' connections (simulators/mqtt_lite.py: one small Protocol per device,
no thread) and publishes each device on its own period, phases spread evenly so the rate is steady:
- a wearable, by default, sends a 1 s accelerometer window (50 Hz) every second, with its vitals in every tenth;
  with `acc=False` it sends its vitals only, every 10 s;
- a home sensor sends its state every 60 s, a terminal its observation every 60 s.
Payloads speak the MQTT contract (docs/mqtt-contract.md): `ts`, one `seq` counter per device (+1 a message),
zigbee2mqtt names. An accelerometer window is drawn from a pool made once per worker (the same waist/wrist motion
as simulators/telemetry.py), so building 10,000 messages a second costs the generator little: the cost lands
where it is measured, in the broker and the hub. `ts` is the device's scheduled time, windows exactly 1 s apart.

Every device connects with its own client id (`sim-<device_id>`), username (its device id) and password (where the
broker requires them), and a retained last will on its availability topic, then publishes `online`, as
simulators/fleet.py does. With the nodes of a cluster, device i connects to node i mod N and moves to the next
node when its connection drops; unacknowledged QoS 1 publishes are sent again there (DUP).

Each worker raises its open-file soft limit to the hard limit (one descriptor per connection) and reports its
counters to the parent (connected, published, acknowledged, schedule lag, RSS, CPU) twice a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import heapq
import os
import random
import resource
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from multiprocessing.connection import Connection
from pathlib import Path

import orjson

from devices.models import Family
from devices.records import DeviceRecord
from simulators.mqtt_lite import MqttClient, MqttRefused, Will
from simulators.telemetry import ACC_HZ, SimDevice, _acc_window, home_sensor_payload, terminal_payload, wearable_payload

ACC_PERIOD_S = 1.0
VITALS_EVERY = 10  # with accelerometer windows: vitals in every 10th message (every 10 s)
PERIOD_S = {Family.HOME_SENSOR.value: 60.0, Family.TERMINAL.value: 60.0}
VITALS_PERIOD_S = 10.0
POOL = 64  # accelerometer windows per worker
TICK_S = 0.005
REPORT_S = 0.5
RECONNECT_S = 1.0
PR_SET_PDEATHSIG = 1


class LoadError(RuntimeError):
    """The generator's devices did not connect in time (broker down, limits reached, credentials refused)."""


@dataclass(frozen=True)
class LoadOptions:
    """What the generator publishes and where."""

    nodes: tuple[tuple[str, int], ...] = (("127.0.0.1", 1883),)
    processes: int = 2
    acc: bool = True  # wearables stream 1 Hz accelerometer windows (else vitals every 10 s)
    qos: int = 1
    keepalive: int = 60
    connect_concurrency: int = 64  # connections being opened at once, over all workers (Mosquitto's backlog: 100)
    seed: int = 7
    ca_file: Path | None = None
    availability: bool = True  # a retained last will and `online`, as real devices
    max_inflight: int = 20  # unacknowledged QoS 1 publishes a device holds (paho's default); past it, one is skipped
    nice: int = 0  # added to the workers' niceness: on a shared bench machine the load yields to what it measures


@dataclass
class LoadStats:
    """Counters of one worker, or their sum over the workers."""

    devices: int = 0
    connected: int = 0
    refused: int = 0
    published: int = 0
    acked: int = 0
    reconnects: int = 0
    lag_s: float = 0.0  # how far the schedule ran behind at worst in the last report interval
    rss_kb: int = 0
    cpu_s: float = 0.0
    buffered: int = 0  # bytes written but not yet taken by the kernel (the broker does not keep up)
    skipped: int = 0  # messages not sent: the device's in-flight window was full (the broker did not ack in time)
    ready: bool = False

    def __add__(self, other: LoadStats) -> LoadStats:
        out = LoadStats()
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            setattr(out, f.name, max(a, b) if f.name == "lag_s" else (a and b) if f.name == "ready" else a + b)
        return out


def intended_rate(devices: Sequence[SimDevice], acc: bool = True) -> float:
    """Messages per second the schedule publishes for these devices."""
    return sum(1.0 / period_of(d, acc) for d in devices)


def period_of(dev: SimDevice, acc: bool) -> float:
    """Seconds between two messages of one device."""
    if dev.record.family == Family.WEARABLE.value:
        return ACC_PERIOD_S if acc else VITALS_PERIOD_S
    return PERIOD_S[dev.record.family]


def wearables(count: int, first: int = 0, id_format: str = "W{:05d}", seed: int = 7) -> list[SimDevice]:
    """`count` bare wearables (ids W00000...), for benches whose registry holds exactly those."""
    rng = random.Random(seed)
    out = []
    for i in range(first, first + count):
        rec = DeviceRecord(id_format.format(i), Family.WEARABLE.value, "wearable", resident_id=f"R{i}", worn_at="wrist")
        dev = SimDevice(rec, 28.2 + (i % 100) * 1e-3, 112.9 + (i // 100) * 1e-3, random.Random(rng.getrandbits(32)))
        dev.baseline_hr = rng.gauss(72, 6)
        out.append(dev)
    return out


class Payloads:
    """The next message of a device: its topic and the encoded payload."""

    def __init__(self, seed: int, acc: bool) -> None:
        rng = random.Random(seed)
        self.acc = acc
        self.pool = [orjson.dumps(_acc_window(rng, rng.random() < 0.3)) for _ in range(POOL)]
        self._topics: dict[str, bytes] = {}

    def topic(self, dev: SimDevice) -> bytes:
        """The device's telemetry (or observation) topic, encoded once."""
        found = self._topics.get(dev.record.device_id)
        if found is None:
            channel = "observation" if dev.record.family == Family.TERMINAL.value else "telemetry"
            found = self._topics[dev.record.device_id] = dev.topic(channel).encode()
        return found

    def message(self, dev: SimDevice, t: float) -> bytes:
        """The payload of the device's next message at device time `t` (its `seq` advanced)."""
        family = dev.record.family
        if family == Family.TERMINAL.value:
            return orjson.dumps(terminal_payload(dev, t))
        if family == Family.HOME_SENSOR.value:
            return orjson.dumps(home_sensor_payload(dev, t))
        if not self.acc:
            return orjson.dumps(wearable_payload(dev, t, with_acc=False))
        window = self.pool[dev.rng.randrange(POOL)]
        if dev.seq % VITALS_EVERY == 0:
            vitals = orjson.dumps(wearable_payload(dev, t, with_acc=False))
            return b'%b,"acc_hz":%d,"acc":%b}' % (vitals[:-1], ACC_HZ, window)
        return b'{"ts":%.3f,"seq":%d,"acc_hz":%d,"acc":%b}' % (t, dev.next_seq(), ACC_HZ, window)


@dataclass
class _Slot:
    dev: SimDevice
    index: int  # over all workers: picks the node
    client: MqttClient
    topic: bytes = b""
    live: bool = False
    refused: bool = False


@dataclass
class Pool:
    """One worker's devices and connections, on one asyncio loop."""

    devices: list[tuple[int, SimDevice]]
    options: LoadOptions
    passwords: Mapping[str, str] = field(default_factory=dict)
    stats: LoadStats = field(default_factory=LoadStats)
    slots: list[_Slot] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.payloads = Payloads(self.options.seed + (self.devices[0][0] if self.devices else 0), self.options.acc)
        self._ssl = ssl.create_default_context(cafile=str(self.options.ca_file)) if self.options.ca_file else None
        for index, dev in self.devices:
            device_id = dev.record.device_id
            will = Will(dev.topic("availability"), b'{"state":"offline"}') if self.options.availability else None
            client = MqttClient(f"sim-{device_id}", device_id, self.passwords.get(device_id), will,
                                self.options.keepalive)
            client.node = index % len(self.options.nodes)
            self.slots.append(_Slot(dev, index, client, self.payloads.topic(dev)))
        self.stats.devices = len(self.slots)
        self._stop = False

    async def connect_all(self, concurrency: int) -> None:
        """Connect every device, `concurrency` at a time; a refused device is counted and left alone."""
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(slot: _Slot) -> None:
            async with gate:
                await self._connect(slot, first=True)

        await asyncio.gather(*(one(s) for s in self.slots))

    async def _connect(self, slot: _Slot, first: bool = False) -> None:
        nodes = self.options.nodes
        while not self._stop:
            host, port = nodes[slot.client.node]
            try:
                await slot.client.connect(host, port, ssl_ctx=self._ssl)
            except MqttRefused:
                slot.refused = True
                self.stats.refused += 1
                return
            except (TimeoutError, OSError):
                slot.client.close(clean=False)
                slot.client.node = (slot.client.node + 1) % len(nodes)  # its node may be dead: try the next one
                await asyncio.sleep(RECONNECT_S * (0.5 + random.random()))
                continue
            slot.live = True
            if first and self.options.availability:
                slot.client.publish(slot.dev.topic("availability").encode(), b'{"state":"online"}', 1, retain=True)
            asyncio.get_running_loop().create_task(self._watch(slot))
            return

    async def _watch(self, slot: _Slot) -> None:
        closed = slot.client.closed
        assert closed is not None
        await closed
        slot.live = False
        if self._stop:
            return
        self.stats.reconnects += 1
        if len(self.options.nodes) > 1:
            slot.client.node = (slot.client.node + 1) % len(self.options.nodes)
        await asyncio.sleep(RECONNECT_S * random.random())
        await self._connect(slot)

    async def publish_until(self, stop: Callable[[], bool], report: Connection | None = None) -> None:
        """Publish every live device on its period until `stop()`; report the counters now and then."""
        acc = self.options.acc
        mono0, wall0 = time.monotonic(), time.time()
        due = []
        for n, slot in enumerate(self.slots):
            period = period_of(slot.dev, acc)
            due.append((mono0 + period * ((n + random.random()) / max(1, len(self.slots))) % period, n))
        heapq.heapify(due)
        next_report, next_ping, lag = mono0, mono0, 0.0
        while not stop():
            now = time.monotonic()
            while due and due[0][0] <= now:
                when, n = heapq.heappop(due)
                slot = self.slots[n]
                period = period_of(slot.dev, acc)
                heapq.heappush(due, (when + period, n))
                lag = max(lag, now - when)
                if slot.live and len(slot.client.unacked) >= self.options.max_inflight:
                    self.stats.skipped += 1  # a device's buffer is full: memory stays bounded, the shortfall shows
                elif slot.live:
                    payload = self.payloads.message(slot.dev, wall0 + (when - mono0) - (ACC_PERIOD_S if acc else 0))
                    slot.client.publish(slot.topic, payload, self.options.qos)
            if now >= next_ping:
                next_ping = now + 5.0
                for slot in self.slots:
                    slot.client.ping_if_idle(now)
            if now >= next_report:
                next_report = now + REPORT_S
                self.stats.lag_s, lag = lag, 0.0
                self._send(report)
            await asyncio.sleep(TICK_S)

    def snapshot(self) -> LoadStats:
        """The counters now."""
        s = self.stats
        s.connected = sum(slot.live for slot in self.slots)
        s.published = sum(slot.client.published for slot in self.slots)
        s.acked = sum(slot.client.acked for slot in self.slots)
        s.buffered = sum(slot.client.buffered() for slot in self.slots)
        s.rss_kb = rss_kb(os.getpid())
        usage = resource.getrusage(resource.RUSAGE_SELF)
        s.cpu_s = usage.ru_utime + usage.ru_stime
        return s

    def _send(self, report: Connection | None) -> None:
        if report is not None:
            with contextlib.suppress(OSError, ValueError):
                report.send(self.snapshot())

    async def close(self) -> None:
        """Disconnect every device cleanly (no last will)."""
        self._stop = True
        for slot in self.slots:
            slot.client.close()
        await asyncio.sleep(0.2)


def rss_kb(pid: int) -> int:
    """Resident memory of a process (VmRSS), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def raise_nofile() -> int:
    """Raise the soft limit of open files to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def die_with_parent() -> None:
    """SIGTERM when the parent dies, even by SIGKILL, so no worker is left holding its connections (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(frozen=True)
class _Job:
    """What one worker is given (pickled over its control pipe)."""

    devices: list[tuple[int, SimDevice]]
    options: LoadOptions
    passwords: Mapping[str, str]
    concurrency: int


class _Control:
    """The worker's end of its control pipe: the job, then "go" and "stop"."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.seen: set[str] = set()

    def has(self, word: str) -> bool:
        """True once the parent has sent `word` (or has gone: then "stop" is taken as said)."""
        try:
            while self.conn.poll():
                self.seen.add(self.conn.recv())
        except (EOFError, OSError):
            self.seen.add("stop")
        return word in self.seen or "stop" in self.seen


def _worker(control: _Control, report: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops the workers
    die_with_parent()
    job: _Job = control.conn.recv()
    limit = raise_nofile()
    if job.options.nice:
        os.nice(job.options.nice)
    if limit < len(job.devices) + 64:
        report.send(LoadError(f"open-file limit {limit} is below {len(job.devices)} connections: use more "
                              "--processes or raise the hard limit (ulimit -Hn)"))
        return

    async def main() -> None:
        pool = Pool(job.devices, job.options, job.passwords)
        connecting = asyncio.get_running_loop().create_task(pool.connect_all(job.concurrency))
        while not connecting.done():
            pool._send(report)
            await asyncio.wait({connecting}, timeout=REPORT_S)
        pool.stats.ready = True
        pool._send(report)
        while not control.has("go"):
            await asyncio.sleep(0.01)
        try:
            await pool.publish_until(lambda: control.has("stop"), report)
        finally:
            await pool.close()
            pool._send(report)

    asyncio.run(main())


def worker_main(argv: Sequence[str]) -> None:
    """`python -m simulators.loadgen CONTROL_FD REPORT_FD`: a worker, started by LoadGenerator.

    A plain interpreter on this module rather than multiprocessing's spawn, which would import the parent's main
    module first (`hub simulate`: the whole hub, 300 MB a worker)."""
    _worker(_Control(Connection(int(argv[0]), writable=False)), Connection(int(argv[1]), readable=False))


class LoadGenerator:
    """The parent: starts the workers, waits until every device is connected, gathers the counters."""

    def __init__(self, devices: Sequence[SimDevice], options: LoadOptions,
                 passwords: Mapping[str, str] | None = None) -> None:
        self.devices = list(devices)
        self.options = options
        self.passwords = dict(passwords or {})
        self._procs: list[subprocess.Popen[bytes]] = []
        self._controls: list[Connection] = []
        self._pipes: list[Connection] = []
        self._last: list[LoadStats] = []

    @property
    def intended_per_s(self) -> float:
        """Messages per second the schedule means to publish."""
        return intended_rate(self.devices, self.options.acc)

    @property
    def pids(self) -> list[int]:
        """The workers' process ids."""
        return [p.pid for p in self._procs]

    def start(self, timeout_s: float = 120.0) -> LoadStats:
        """Start the workers, wait for every device to be connected (or refused), then let them all publish."""
        procs = max(1, min(self.options.processes, len(self.devices)))
        per = self.options.connect_concurrency // procs
        indexed = list(enumerate(self.devices))
        for w in range(procs):
            mine = indexed[w::procs]
            secrets = {d.record.device_id: self.passwords[d.record.device_id] for _, d in mine
                       if d.record.device_id in self.passwords}
            self._spawn(_Job(mine, self.options, secrets, per))
            self._last.append(LoadStats(devices=len(mine)))
        deadline = time.monotonic() + timeout_s
        while not (total := self.stats()).ready:
            if time.monotonic() > deadline or any(p.poll() is not None for p in self._procs):
                self.stop()
                raise LoadError(f"{total.connected} of {len(self.devices)} devices connected after {timeout_s:.0f} s")
            time.sleep(0.1)
        self._say("go")
        return total

    def _spawn(self, job: _Job) -> None:
        ctl_r, ctl_w = os.pipe()
        rep_r, rep_w = os.pipe()
        env = os.environ | {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # where the parent imports from
        proc = subprocess.Popen([sys.executable, "-m", "simulators.loadgen", str(ctl_r), str(rep_w)],
                                pass_fds=(ctl_r, rep_w), env=env)
        os.close(ctl_r)
        os.close(rep_w)
        control = Connection(ctl_w, readable=False)
        control.send(job)
        self._procs.append(proc)
        self._controls.append(control)
        self._pipes.append(Connection(rep_r, writable=False))

    def _say(self, word: str) -> None:
        for control in self._controls:
            with contextlib.suppress(OSError):
                control.send(word)

    def stats(self) -> LoadStats:
        """The latest counters of every worker, summed (LoadError when a worker could not start)."""
        for i, pipe in enumerate(self._pipes):
            with contextlib.suppress(EOFError, OSError):
                while pipe.poll():
                    got = pipe.recv()
                    if isinstance(got, LoadError):
                        self.stop()
                        raise got
                    self._last[i] = got
        total = LoadStats(ready=True)
        for s in self._last:
            total = total + s
        return total

    def stop(self, timeout_s: float = 10.0) -> LoadStats:
        """Stop publishing, disconnect cleanly and end the workers; the final counters."""
        self._say("stop")
        for proc in self._procs:
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(1)
        final = self.stats()
        for conn in [*self._pipes, *self._controls]:
            conn.close()
        self._pipes, self._controls, self._procs = [], [], []
        return final

    def __enter__(self) -> LoadGenerator:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._procs:
            self.stop()


if __name__ == "__main__":
    from simulators import loadgen  # the counters pickle as simulators.loadgen's classes, not __main__'s

    loadgen.worker_main(sys.argv[1:])
