"""Per-device duplicate filter over sequence numbers (QoS 1 means at-least-once: redeliveries are normal).

Each device keeps its highest `seq` and a bitmask of which of the `window` numbers below it have been seen: a
Python int used as a bit set, `window / 8` bytes per device (512 B at the default 4,096), so 10,000 devices cost
a few MB however long the hub runs. A number seen before is a duplicate; one below the window is a duplicate too,
unless the device's clock moved forward, which means the device restarted its counter (a reboot) and the window
starts again.

What the store held at start (`preload`) is also kept aside: a duplicate of it is a message the previous run
stored but may never have acked, and so may never have shown to the detectors (the ack waits for them).
`replayed` says so, once per (device, seq), so the pipeline can send it to the detectors but not to the store.
"""

from __future__ import annotations


class SeqWindow:
    """Remembers recent sequence numbers of one device: bit i of `seen` is `high - i`."""

    __slots__ = ("high", "last_ts", "mask", "seen", "window")

    def __init__(self, window: int, mask: int | None = None) -> None:
        self.window = window
        self.mask = (1 << window) - 1 if mask is None else mask  # shared by all devices: built once, not per message
        self.high = -1
        self.last_ts = 0.0
        self.seen = 0

    def accept(self, seq: int, ts: float) -> bool:
        """True the first time (seq) arrives, False for a duplicate."""
        if seq > self.high:
            shift = seq - self.high
            self.seen = ((self.seen << shift) | 1) & self.mask if shift < self.window else 1
            self.high = seq
        else:
            age = self.high - seq
            if age >= self.window:
                if ts <= self.last_ts:
                    return False  # older than anything we still remember: a late duplicate
                self.high, self.seen = seq, 1  # counter restarted (device reboot): a new window
            elif self.seen >> age & 1:
                return False
            else:
                self.seen |= 1 << age
        if ts > self.last_ts:
            self.last_ts = ts
        return True


class Deduplicator:
    """Sequence windows for all devices."""

    def __init__(self, window: int = 4096) -> None:
        self.window = window
        self._mask = (1 << window) - 1
        self._devices: dict[str, SeqWindow] = {}
        self._seeded: dict[str, SeqWindow] = {}  # what an earlier run stored, as preloaded at start
        self.duplicates = 0

    def accept(self, device_id: str, seq: int, ts: float) -> bool:
        """True when this (device, seq) is new; counts duplicates."""
        state = self._devices.get(device_id)
        if state is None:
            state = self._devices[device_id] = SeqWindow(self.window, self._mask)
        if state.accept(seq, ts):
            return True
        self.duplicates += 1
        return False

    def preload(self, device_id: str, seqs: list[int], last_ts: float) -> None:
        """Seed a device's window from what the store already holds (after a restart)."""
        state = self._devices.setdefault(device_id, SeqWindow(self.window, self._mask))
        for seq in sorted(seqs):
            state.accept(seq, 0.0)
        state.last_ts = max(state.last_ts, last_ts)
        seeded = self._seeded[device_id] = SeqWindow(self.window, self._mask)
        seeded.high, seeded.seen, seeded.last_ts = state.high, state.seen, state.last_ts

    def forget(self, device_ids: set[str]) -> None:
        """Drop what is known of these devices (their shard went to another worker, issue 20): if the shard comes
        back, its windows are seeded again from the store, not from this worker's stale view."""
        for device_id in device_ids:
            self._devices.pop(device_id, None)
            self._seeded.pop(device_id, None)

    def replayed(self, device_id: str, seq: int) -> bool:
        """True, once, for a duplicate whose (device, seq) an earlier run stored (preloaded at start)."""
        seeded = self._seeded.get(device_id)
        if seeded is None:
            return False
        age = seeded.high - seq
        if age < 0 or age >= self.window or not seeded.seen >> age & 1:
            return False
        seeded.seen &= ~(1 << age)
        return True
