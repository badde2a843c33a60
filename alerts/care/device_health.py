"""Device health: heartbeat deadlines per device class, low battery, last-will availability, outage awareness.

A device is overdue when nothing came from it within its class timeout (or shortly after its last will said
offline). Overdue devices are held for `hold_s` before they alert on their own: when many fall silent together
(broker, gateway or network outage) the operators get one infrastructure alert instead of hundreds. While the hub
is disconnected nothing is judged, and after it (re)connects every device gets a grace period to report again.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from alerts.detection import Detection, Severity
from alerts.detector import Detector
from devices.i18n import kind_title, t, word
from devices.models import Availability, DeviceEvent, Reading
from devices.topology import DeviceInfo, SensorKind, Topology

DEFAULT_TIMEOUTS_S: dict[str, float] = {
    SensorKind.WEARABLE: 600.0,
    SensorKind.MOTION: 3 * 3600.0,
    SensorKind.DOOR: 3 * 3600.0,
    SensorKind.BED: 3 * 3600.0,
    SensorKind.CLIMATE: 3 * 3600.0,
    SensorKind.SMOKE: 6 * 3600.0,
    SensorKind.GAS: 6 * 3600.0,
    SensorKind.WATER_LEAK: 6 * 3600.0,
}
INFRA_SUBJECT = "infrastructure"
NEG = float("-inf")


@dataclass
class DeviceHealthSettings:
    """Heartbeat expectations and outage handling."""

    timeouts_s: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS_S))
    default_timeout_s: float = 3 * 3600.0
    will_confirm_s: float = 60.0  # a last will must not be contradicted within this time
    hold_s: float = 300.0  # overdue devices wait this long for company before alerting alone
    mass_min_devices: int = 8
    mass_fraction: float = 0.02
    grace_s: float = 300.0  # after a (re)connect, on top of each class timeout
    restored_fraction: float = 0.8
    low_battery_pct: float = 15.0
    battery_rearm_pct: float = 25.0
    max_skew_s: float = 600.0  # a device clock ahead of the newest `advance` counts as at most this far ahead


@dataclass(slots=True)
class _Device:
    """Liveness and battery state of one device."""

    timeout_s: float
    deadline: float
    token: int = 0
    overdue_since: float | None = None
    alerted: bool = False
    in_outage: bool = False
    battery_low: bool = False


@dataclass(slots=True)
class _Outage:
    """A latched infrastructure outage and the devices it swallowed."""

    start: float
    members: set[str] = field(default_factory=set)


class DeviceHealthDetector(Detector):
    """Offline devices (one alert each, or one infrastructure alert for a crowd), low batteries."""

    name = "device_health"

    def __init__(self, topology: Topology, settings: DeviceHealthSettings | None = None,
                 owns: Callable[[str], bool] | None = None) -> None:
        """`owns`: the devices this hub worker answers for (its shards, issues 7 and 20); None = every device.
        Another worker's device is never judged here: it is not watched from the start, and dropped when its
        deadline comes (its shard went to another worker)."""
        self._topology = topology
        self._owns = owns
        self._s = settings or DeviceHealthSettings()
        self._devices: dict[str, _Device] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._tokens = 0
        self._now = float("-inf")
        self._connected = True
        self._pending: dict[str, float] = {}  # overdue, waiting `hold_s` for company
        self._outage: _Outage | None = None

    def observe(self, reading: Reading) -> list[Detection]:
        """A reading proves the device alive; its battery field is checked."""
        return self.observe_batch((reading,))

    def observe_batch(self, readings: Iterable[Reading]) -> list[Detection]:
        """A batch of readings in order: the same detections, in the same order, as one `observe` each.

        The common case stays inline: a known device that is neither overdue, alerted nor in an outage only has
        its deadline moved (such a device is never pending, so `_seen` would have nothing else to undo), and a
        battery neither low nor latched low changes nothing.
        """
        out: list[Detection] = []
        devices, now, low_pct = self._devices, self._now, self._s.low_battery_pct
        latest = now + self._s.max_skew_s
        for r in readings:
            dev = devices.get(r.device_id)
            if dev is None or dev.overdue_since is not None or dev.alerted or dev.in_outage:
                out += self._seen(r.device_id, r.ts)
                dev = self._devices[r.device_id]
            else:  # _seen's deadline = max(at + timeout, deadline), `at` clamped as `_clamp` does
                at = r.ts
                if now != NEG:
                    at = now if now > at else at
                    at = latest if latest < at else at
                at += dev.timeout_s
                if not dev.deadline > at:
                    dev.deadline = at
            battery = r.values.get("battery")
            if battery is not None and (battery < low_pct or dev.battery_low):
                self._battery(r, dev, battery, out)
        return out

    def _battery(self, r: Reading, dev: _Device, battery: float, out: list[Detection]) -> None:
        """Low battery alerts once; it re-arms when charged."""
        if battery < self._s.low_battery_pct and not dev.battery_low:
            dev.battery_low = True
            out.append(self._detection("low_battery", r.device_id, r.ts, Severity.WARNING))
        elif battery >= self._s.battery_rearm_pct:
            dev.battery_low = False

    def observe_event(self, event: DeviceEvent) -> list[Detection]:
        """An event proves the device alive."""
        return self._seen(event.device_id, event.ts)

    def observe_availability(self, availability: Availability) -> list[Detection]:
        """Online proves the device alive; a last will (offline) makes it due after `will_confirm_s`."""
        if availability.online:
            return self._seen(availability.device_id, availability.ts)
        dev = self._device(availability.device_id, self._clamp(availability.ts))
        due = self._clamp(availability.ts) + self._s.will_confirm_s
        if due < dev.deadline:
            dev.deadline = due
            self._push(availability.device_id, dev)
        return []

    def on_disconnect(self, ts: float) -> None:
        """The hub lost its broker: silence is no evidence until it reconnects."""
        self._connected = False
        self._now = max(self._now, ts)

    def on_reconnect(self, ts: float) -> None:
        """Hub or broker (re)started: every device gets its timeout plus a grace period from now."""
        self._connected = True
        self._now = max(self._now, ts)
        self._pending.clear()
        for device_id, dev in self._devices.items():
            if not dev.alerted and not dev.in_outage:
                dev.deadline = max(dev.deadline, ts + self._s.grace_s + dev.timeout_s)
                dev.overdue_since = None
                self._push(device_id, dev)

    def advance(self, now: float) -> list[Detection]:
        """Find devices past their deadline; alert them alone or as one infrastructure outage."""
        if self._now == float("-inf"):
            self.on_reconnect(now)  # hub start: registered devices get the same grace
            for info in self._topology:
                if self._owns is None or self._owns(info.device_id):
                    self._device(info.device_id, now + self._s.grace_s)
        self._now = max(self._now, now)
        if not self._connected:
            return []
        self._collect_overdue(now)
        if self._outage is not None:
            return self._outage_step(now)
        if len(self._pending) >= max(self._s.mass_min_devices, self._s.mass_fraction * len(self._devices)):
            return [self._open_outage(now)]
        out = []
        for device_id, since in list(self._pending.items()):
            if now >= since + self._s.hold_s:
                del self._pending[device_id]
                self._devices[device_id].alerted = True
                out.append(self._detection("device_offline", device_id, now, Severity.WARNING, since))
        return out

    def _clamp(self, ts: float) -> float:
        """When a device spoke, on the hub's time line: a late or skewed clock cannot hide silence."""
        if self._now == float("-inf"):
            return ts
        return min(max(ts, self._now), self._now + self._s.max_skew_s)

    def _device(self, device_id: str, at: float) -> _Device:
        dev = self._devices.get(device_id)
        if dev is None:
            info = self._topology.get(device_id)
            timeout = self._s.default_timeout_s
            if info is not None:
                timeout = self._s.timeouts_s.get(info.kind, timeout)
            dev = self._devices[device_id] = _Device(timeout_s=timeout, deadline=at + timeout)
            self._push(device_id, dev)
        return dev

    def _push(self, device_id: str, dev: _Device) -> None:
        """Queue the device's deadline; older queue entries of the device become stale."""
        self._tokens += 1
        dev.token = self._tokens
        heapq.heappush(self._heap, (dev.deadline, dev.token, device_id))

    def _seen(self, device_id: str, ts: float) -> list[Detection]:
        at = self._clamp(ts)
        dev = self._device(device_id, at)
        was_silent = dev.overdue_since is not None or dev.in_outage
        dev.deadline = at + dev.timeout_s if was_silent else max(at + dev.timeout_s, dev.deadline)
        out = []
        if dev.alerted:
            out.append(self._detection("device_online", device_id, at, Severity.INFO))
        if was_silent:
            self._push(device_id, dev)
        dev.overdue_since, dev.alerted, dev.in_outage = None, False, False
        self._pending.pop(device_id, None)
        return out

    def _collect_overdue(self, now: float) -> None:
        """Pop expired deadlines; a deadline extended since it was queued is queued again."""
        while self._heap and self._heap[0][0] <= now:
            _, token, device_id = heapq.heappop(self._heap)
            dev = self._devices.get(device_id)
            if dev is None or token != dev.token or dev.overdue_since is not None:
                continue
            if self._owns is not None and not self._owns(device_id):  # its shard is another worker's now
                del self._devices[device_id]
                continue
            if dev.deadline > now:
                self._push(device_id, dev)
                continue
            dev.overdue_since = dev.deadline
            if not dev.alerted and not dev.in_outage:
                self._pending[device_id] = dev.deadline

    def _open_outage(self, now: float) -> Detection:
        outage = self._outage = _Outage(start=min(self._pending.values()), members=set(self._pending))
        for device_id in outage.members:
            self._devices[device_id].in_outage = True
        self._pending.clear()
        return self._detection(
            "infrastructure", INFRA_SUBJECT, now, Severity.CRITICAL, outage.start, devices=float(len(outage.members))
        )

    def _outage_step(self, now: float) -> list[Detection]:
        """Swallow newly silent devices; when most members are back, report it and re-arm the rest."""
        outage = self._outage
        assert outage is not None
        for device_id in self._pending:
            self._devices[device_id].in_outage = True
            outage.members.add(device_id)
        self._pending.clear()
        silent = [m for m in outage.members if self._devices[m].in_outage]
        if len(silent) > (1.0 - self._s.restored_fraction) * len(outage.members):
            return []
        for device_id in silent:
            dev = self._devices[device_id]
            dev.in_outage, dev.overdue_since = False, None
            dev.deadline = now + self._s.grace_s
            self._push(device_id, dev)
        self._outage = None
        return [self._detection("infrastructure_restored", INFRA_SUBJECT, now, Severity.INFO, outage.start,
                                still_silent=float(len(silent)))]

    def _detection(
        self, kind: str, subject: str, ts: float, severity: Severity, since: float | None = None, **counts: float
    ) -> Detection:
        """The detection record, its features complete before it is built (it is frozen)."""
        info = self._topology.get(subject)
        return Detection(
            detector=self.name,
            kind=kind,
            subject_id=subject,
            device_id=subject if info is not None else "",
            ts=ts,
            severity=severity,
            features=({"silent_since_ts": since} if since is not None else {}) | counts,
            message=_message(kind, subject, info),
        )


def _message(kind: str, subject: str, info: DeviceInfo | None) -> str:
    """What happened to which device of which home, in the hub's language."""
    title = kind_title(kind)
    if subject == INFRA_SUBJECT:
        return t(f"det.device_health.{kind}", kind=title)  # infrastructure or infrastructure_restored
    if info is not None and info.home_id:
        sensor = word("det.sensor.", str(info.kind))
        return t("det.device_health.where", kind=title, subject=subject, sensor=sensor, home=info.home_id)
    return t("det.device_health", kind=title, subject=subject)
