"""The production telemetry store: InfluxDB through its v1 HTTP API (line protocol on /write, InfluxQL on /query).

InfluxDB 1.x, 2.x (v1 compatibility API) and 3.x all serve these endpoints; influxdb-client's v2 write API does
not reach 1.6/1.7 (/api/v2/write is a 404 there). InfluxDB 1.6.7 sometimes answers 500 ("engine: error syncing
wal") after storing the points (DESIGN.md): a 5xx is retried, which is harmless since a point overwrites itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from typing import Any

import httpx
import pyarrow as pa

from devices.models import Reading
from devices.redact import redact_url, redact_urls
from ingest.store.base import METRICS, StoredReading, StoreError
from ingest.store.line_protocol import MEASUREMENT, encode, ts_from_ns

logger = logging.getLogger(__name__)
WRITE_ATTEMPTS = 3
RECENT_SEQS_PER_DEVICE = 4096  # the dedup window's default: older seqs would not be remembered anyway


def _quote(value: str) -> str:
    """An InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ns(ts: float) -> int:
    return round(ts * 1_000_000) * 1000


def _stored(rec: dict[str, Any]) -> StoredReading:
    values = {m: float(rec[m]) for m in METRICS if rec.get(m) is not None}
    return StoredReading(str(rec["device_id"]), str(rec["family"]), ts_from_ns(rec["time"]), int(rec["seq"]), values)


class InfluxStore:
    """TimeSeriesStore on an InfluxDB database, one point per reading in measurement `readings`."""

    def __init__(self, url: str, database: str, timeout_s: float = 5.0) -> None:
        self.database = database
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s, limits=httpx.Limits(max_connections=4))
        try:
            self._ensure_db()
        except StoreError as exc:  # the hub starts anyway; ingest spools until the server answers
            logger.warning("InfluxDB not reachable at start (%s); writes will retry", exc)

    def _post(self, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.post(path, **kwargs)
        except httpx.HTTPError as exc:
            where = redact_url(str(self._http.base_url))  # issue 16: never the user and password of the URL
            raise StoreError(f"InfluxDB {path} at {where}: {type(exc).__name__} {redact_urls(str(exc))}") from exc

    def _ensure_db(self) -> None:
        self._query(f'CREATE DATABASE "{self.database}"')

    def write(self, readings: Sequence[Reading]) -> None:
        """Write the batch in one /write request (5xx retried; 404 database not found creates it)."""
        if not readings:
            return
        body = encode(readings)
        params = {"db": self.database, "precision": "ns"}
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            response = self._post("/write", params=params, content=body)
            if response.status_code == 204:
                return
            if response.status_code == 404 and "database not found" in response.text:
                self._ensure_db()
                continue
            if response.status_code < 500 or attempt == WRITE_ATTEMPTS:
                raise StoreError(f"InfluxDB /write answered {response.status_code}: {response.text[:300]}")
            time.sleep(0.05 * attempt)

    def _query(self, q: str) -> list[dict[str, Any]]:
        """Run InfluxQL; the series of its one statement (an empty list when nothing matched)."""
        response = self._post("/query", data={"q": q, "db": self.database, "epoch": "ns"})
        if response.status_code != 200:
            raise StoreError(f"InfluxDB /query answered {response.status_code}: {response.text[:300]}")
        result = response.json()["results"][0]
        if "error" in result:
            if result["error"].startswith("database not found"):
                return []
            raise StoreError(f"InfluxQL {q[:200]!r} failed: {result['error']}")
        return result.get("series", [])

    def _readings(self, q: str) -> list[StoredReading]:
        out = []
        for series in self._query(q):
            tags = series.get("tags", {})
            out += [_stored({**dict(zip(series["columns"], row, strict=True)), **tags}) for row in series["values"]]
        return out

    def latest(self, device_ids: Sequence[str] | None = None) -> list[StoredReading]:
        """The newest reading of each device."""
        if device_ids is not None and not device_ids:
            return []
        where = f"WHERE ({' OR '.join(f'device_id = {_quote(d)}' for d in device_ids)})" if device_ids else ""
        q = f"SELECT * FROM {MEASUREMENT} {where} GROUP BY device_id ORDER BY time DESC LIMIT 1"
        return sorted(self._readings(q), key=lambda r: r.device_id)

    def device_status(self, since: float, until: float) -> pa.Table:
        """Each device's newest ts and newest battery in [since, until]: two LAST() selectors grouped by device."""
        when = f"time >= {_ns(since)} AND time <= {_ns(until)}"
        seen = {s["tags"]["device_id"]: ts_from_ns(s["values"][0][0]) for s in
                self._query(f"SELECT LAST(seq) FROM {MEASUREMENT} WHERE {when} GROUP BY device_id")}
        battery = {s["tags"]["device_id"]: float(s["values"][0][1]) for s in
                   self._query(f"SELECT LAST(battery) FROM {MEASUREMENT} WHERE {when} GROUP BY device_id")
                   if s["values"][0][1] is not None}  # fmt: skip
        ids = sorted(seen)
        return pa.table({"device_id": pa.array(ids, pa.string()),
                         "last_seen": pa.array([seen[d] for d in ids], pa.float64()),
                         "battery": pa.array([battery.get(d) for d in ids], pa.float64())})  # fmt: skip

    def range(self, device_id: str, start: float, end: float, limit: int = 10_000) -> list[StoredReading]:
        """A device's readings in [start, end), oldest first."""
        q = (
            f"SELECT * FROM {MEASUREMENT} WHERE device_id = {_quote(device_id)} AND time >= {_ns(start)} "
            f"AND time < {_ns(end)} ORDER BY time ASC LIMIT {int(limit)}"
        )
        return self._readings(q)

    def aggregate(
        self, device_id: str, metric: str, start: float, end: float, every_s: int
    ) -> list[tuple[float, float]]:
        """Mean of `metric` per `every_s` interval (intervals aligned to the epoch, empty ones left out)."""
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; one of {METRICS}")
        q = (
            f"SELECT MEAN({metric}) FROM {MEASUREMENT} WHERE device_id = {_quote(device_id)} AND time >= "
            f"{_ns(start)} AND time < {_ns(end)} GROUP BY time({int(every_s)}s) fill(none)"
        )
        return [(t / 1e9, float(v)) for s in self._query(q) for t, v in s["values"] if v is not None]

    def recent_seqs(self, since_ts: float,
                    devices: Collection[str] | None = None) -> dict[str, tuple[list[int], float]]:
        """Per device (of `devices` if given), its newest stored seqs since `since_ts` (at most the dedup window) and
        its newest ts."""
        if devices is not None and not devices:
            return {}
        only = f" AND ({' OR '.join(f'device_id = {_quote(d)}' for d in sorted(devices))})" if devices else ""
        q = (
            f"SELECT seq FROM {MEASUREMENT} WHERE time >= {_ns(since_ts)}{only} GROUP BY device_id "
            f"ORDER BY time DESC LIMIT {RECENT_SEQS_PER_DEVICE}"
        )
        return {
            s["tags"]["device_id"]: ([int(v[1]) for v in s["values"]], ts_from_ns(s["values"][0][0]))
            for s in self._query(q)
        }

    def count(self) -> int:
        """Number of stored readings."""
        series = self._query(f"SELECT COUNT(seq) FROM {MEASUREMENT}")
        return int(series[0]["values"][0][1]) if series else 0

    def delete_before(self, ts: float) -> int:
        """Delete points older than `ts` (InfluxQL DELETE by time); InfluxDB does not say how many (-1)."""
        self._query(f"DELETE FROM {MEASUREMENT} WHERE time < {_ns(ts)}")
        return -1

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()
