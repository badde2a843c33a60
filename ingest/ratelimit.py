"""Per-device flood control: a token bucket on arrival, checked before any decoding.

The bucket is large (`burst`, default 3,000 messages) so that the backlog a device legitimately builds up while
the hub or the broker was away drains without loss, and refills at `rate_per_s` (default 50/s, fifty times a
wearable's normal rate). A device past that is flooding: its excess is acknowledged and dropped, counted, and
sampled into the dead letters (one per device per `SAMPLE_EVERY_S`), so a flood neither fills the disk nor
starves the other devices.

Issue 16: buckets are keyed by registered device (an ecosystem topic by the device its alias names); messages
from ids not in the registry all share one bucket, `UNREGISTERED`, so rotating random ids neither grows memory
(at most one bucket per registered device, plus one) nor earns each new id a full burst.
"""

from __future__ import annotations

SAMPLE_EVERY_S = 10.0
UNREGISTERED = "\x00unregistered"  # MQTT topics cannot contain U+0000: no device id is this


class _Bucket:
    __slots__ = ("dropped", "last", "sampled_at", "tokens")

    def __init__(self, tokens: float, now: float) -> None:
        self.tokens = tokens
        self.last = now
        self.dropped = 0
        self.sampled_at = -SAMPLE_EVERY_S


class FloodGuard:
    """Token buckets keyed by the device id in the topic."""

    def __init__(self, rate_per_s: float, burst: float) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._buckets: dict[str, _Bucket] = {}
        self.dropped = 0

    def allow(self, device_id: str, now: float) -> bool:
        """True when the device is within its budget; False (counted) for a message to drop."""
        bucket = self._buckets.get(device_id)
        if bucket is None:
            bucket = self._buckets[device_id] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.last) * self.rate_per_s)
            bucket.last = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        bucket.dropped += 1
        self.dropped += 1
        return False

    def sample_due(self, device_id: str, now: float) -> int:
        """Messages dropped since the last sample, when a dead-letter sample is due (else 0)."""
        bucket = self._buckets[device_id]
        if now - bucket.sampled_at < SAMPLE_EVERY_S:
            return 0
        bucket.sampled_at = now
        dropped, bucket.dropped = bucket.dropped, 0
        return dropped
