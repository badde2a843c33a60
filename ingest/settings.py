"""Settings sections of the ingest stage (the MQTT link and the pipeline); `hub.settings` composes them.

`Section` is the base of every settings section: unknown keys are an error, so a typo never passes silently.
"""

from __future__ import annotations

from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class Section(BaseModel):
    """A settings section: unknown keys are an error, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSettings(Section):
    """How the hub reaches its MQTT broker."""

    url: str = Field("mqtt://127.0.0.1:1883", description="Broker URL: mqtt://[user:password@]host:port")
    client_id: str = Field("eldercare-hub", description="Fixed client id: the broker keeps its session across restarts")
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keepalive, seconds")
    session_expiry_s: int = Field(7 * 24 * 3600, ge=0, description="How long the broker keeps the hub's session")
    receive_maximum: int = Field(10_000, ge=20, le=65_535, description="Unacknowledged QoS 1 messages in flight")
    shared_group: str = Field("", description="MQTT 5 shared-subscription group; empty = a single worker")
    shard: str = Field("", pattern=r"^(\d+/\d+)?$", description="Topic shard 'i/N' of N workers (issue 7): "
                       "subscribe only to the devices with crc32(device_id) % N == i; empty = every device")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
            raise ValueError(f"expected mqtt://host:port, got {value!r}")
        return value

    @field_validator("shard")
    @classmethod
    def _check_shard(cls, value: str, info: ValidationInfo) -> str:
        index, _, count = value.partition("/")
        if value and not 0 <= int(index) < int(count):
            raise ValueError(f"a shard is 'i/N' with 0 <= i < N, got {value!r}")
        if value and info.data.get("shared_group"):
            raise ValueError("choose topic shards or a shared-subscription group, not both")
        return value

    @property
    def shard_of(self) -> tuple[int, int] | None:
        """(index, count) of this worker's topic shard, or None when it takes every device."""
        index, _, count = self.shard.partition("/")
        return (int(index), int(count)) if self.shard else None

    @property
    def host(self) -> str:
        """Broker host name."""
        return urlparse(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        """Broker TCP port."""
        return urlparse(self.url).port or 1883

    @property
    def username(self) -> str | None:
        """User name from the URL, if any."""
        return urlparse(self.url).username

    @property
    def password(self) -> str | None:
        """Password from the URL, if any."""
        return urlparse(self.url).password


class IngestSettings(Section):
    """Batching and limits of the ingest stage."""

    batch_max: int = Field(5000, ge=1, description="Readings per store batch")
    flush_interval_s: float = Field(0.05, gt=0, description="Longest wait before a partial batch is written")
    max_payload_bytes: int = Field(64 * 1024, ge=256, description="Larger payloads are rejected as oversized")
    queue_max: int = Field(50_000, ge=100, description="Messages buffered before paho's thread is held back")
    dedup_window: int = Field(4096, ge=16, description="Sequence numbers remembered per device for dedup")
    device_rate_per_s: float = Field(50.0, gt=0, description="Sustained messages/s a device may send (flood guard)")
    device_burst: float = Field(3000.0, ge=1, description="Messages a device may send at once, e.g. its backlog")
    max_clock_skew_s: float = Field(24 * 3600, gt=0, description="Device timestamps further in the future are rejected")
    dead_letters_per_source_hour: int = Field(100, ge=1, description="Dead letters kept per source (device, or all "
                                              "unregistered ids together) per hour; the rest are only counted")
    dead_letter_days: float = Field(30.0, gt=0, description="Dead letters older than this are deleted (hourly)")
    spool_max_bytes: int = Field(
        1 << 30, ge=1 << 16, description="Bound of the on-disk spool (spool.sqlite in the data folder) that holds "
        "readings while the store is down or slow; alarm at 80 %, and when full the hub stops acking (no loss)")
