"""InfluxDB line protocol for readings: one point per message in measurement `readings`.

Tags: device_id and family; fields: the message's metrics (floats) and seq (integer); time in nanoseconds.
The time is the device time to the microsecond with `seq % 1000` in the nanosecond digits, so two messages of one
device within the same microsecond stay two points, while a retried write of the same message overwrites itself
(a point is keyed by measurement, tags and time). Own escaping rather than influxdb_client's Point: measured here
for a wearable point with 5 metrics, Point.to_line_protocol ~26 µs, this ~6.6 µs; the format is small and fixed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from devices.models import Reading

MEASUREMENT = "readings"
# InfluxDB 1.x keeps a backslash in a tag value as it is (it unescapes only backslash-comma, -space, -equals)
_TAG_ESCAPES = str.maketrans({",": r"\,", " ": r"\ ", "=": r"\=", "\n": "", "\r": ""})


def escape_tag(value: str) -> str:
    """Escape a tag key or value (commas, spaces, equals signs; line breaks dropped)."""
    return value.translate(_TAG_ESCAPES)


def time_ns(ts: float, seq: int) -> int:
    """The point's time: device time in whole microseconds, seq % 1000 as the nanoseconds."""
    return round(ts * 1_000_000) * 1000 + seq % 1000


def ts_from_ns(ns: int) -> float:
    """Device time (seconds) back from a point's time."""
    return (ns // 1000) / 1_000_000


def line(reading: Reading) -> str:
    """One reading as a line of line protocol."""
    # InfluxDB refuses NaN and infinities (the whole batch would fail): such a value is left out, like a missing one
    fields = "".join([f"{k}={float(v)!r}," for k, v in reading.values.items() if math.isfinite(v)])
    tags = f"device_id={escape_tag(reading.device_id)},family={escape_tag(reading.family.value)}"
    return f"{MEASUREMENT},{tags} {fields}seq={reading.seq}i {time_ns(reading.ts, reading.seq)}"


def encode(readings: Sequence[Reading]) -> bytes:
    """A batch as one /write body."""
    return "\n".join(map(line, readings)).encode()
