"""Settings sections of the ingest stage (the MQTT link and the pipeline); `hub.settings` composes them.

`Section` is the base of every settings section: unknown keys are an error, so a typo never passes silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from devices.redact import redact_url

TLS_SCHEMES = ("mqtts", "ssl")


class Section(BaseModel):
    """A settings section: unknown keys are an error, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)  # no secret in an error


class MqttSettings(Section):
    """How the hub reaches its MQTT broker."""

    url: str = Field("mqtt://127.0.0.1:1883", description="Broker URL: mqtt://[user:password@]host:port, or "
                     "mqtts://... for TLS (default port 8883; the broker's certificate checked against tls_ca_file). "
                     "Several nodes of a broker cluster (issue 20): comma-separated URLs; the hub connects to the "
                     "first that answers and moves to the next when its node dies")
    protocol: Literal["auto", "5", "3.1.1"] = Field(
        "auto", description="MQTT version: auto = MQTT 5, falling back to 3.1.1 (persistent session, clean_session "
        "false) when the broker refuses 5, as NATS and RabbitMQ do")
    tls_ca_file: Path | None = Field(None, description="CA certificate(s) that signed the broker's certificate "
                                     "(mqtts:// only; empty = the system's trust store)")
    tls_cert_file: Path | None = Field(None, description="Client certificate of the hub, for a broker that "
                                       "requires one (mqtts:// only, with tls_key_file)")
    tls_key_file: Path | None = Field(None, description="Private key of tls_cert_file")
    allow_anonymous_broker: bool = Field(False, description="Start even when the broker accepts a client without "
                                         "credentials (issue 16: refused by default; then warned in the log and "
                                         "on the console)")
    client_id: str = Field("eldercare-hub", description="Fixed client id: the broker keeps its session across restarts")
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keepalive, seconds")
    session_expiry_s: int = Field(7 * 24 * 3600, ge=0, description="How long the broker keeps the hub's session")
    receive_maximum: int = Field(10_000, ge=20, le=65_535, description="Unacknowledged QoS 1 messages in flight")
    shared_group: str = Field("", description="MQTT 5 shared-subscription group; empty = a single worker")
    shard: str = Field("", pattern=r"^(\d+/\d+)?$", description="Topic shard 'i/N' of N workers (issue 7): "
                       "subscribe only to the devices with crc32(device_id) % N == i; empty = every device")
    shards: Literal["", "auto"] = Field("", description="'auto' (issue 20): shard ownership held as leases in "
                                        "the PostgreSQL state database; the workers share virtual_shards topic "
                                        "shards fairly and take over a dead worker's within seconds (needs "
                                        "HUB_STORE__STATE_URL); empty = one worker, or the fixed 'shard'")
    shard_prefix: str = Field("hub", pattern=r"^[A-Za-z0-9_.-]{1,40}$", description="'shards = auto': the "
                              "shards' sessions are <shard_prefix>-shard-NN, the same on every worker of one hub")
    virtual_shards: int = Field(32, ge=1, le=4096, description="Virtual shards of 'shards = auto': a device "
                                "belongs to crc32(device_id) % virtual_shards, each shard is one persistent MQTT "
                                "session (client id <client_id>-shard-NN); the same on every worker")
    shard_routing: Literal["topics", "broker"] = Field(
        "topics", description="'shards = auto': how a shard's session gets its devices' messages. topics = it "
        "subscribes to each device's topics (any broker; on NATS each is a replicated JetStream consumer, slow to "
        "create by the thousand); broker = the broker maps every device topic to <shard_prefix>/<NN>/<topic> "
        "(NATS subject mapping with partition(virtual_shards, 1), hub/natscluster.py `shard_mappings`) and the "
        "session subscribes to that one filter")
    lease_ttl_s: float = Field(8.0, ge=1.0, le=120.0, description="'shards = auto': a shard lease not renewed for "
                               "this long (a hung worker) is taken over; a dead worker's PostgreSQL connection "
                               "frees its leases at once")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        urls = split_urls(value)
        if not urls:
            raise ValueError("expected mqtt://host:port or mqtts://host:port, got nothing")
        for url in urls:
            parsed = urlparse(url)
            try:
                _ = parsed.port  # a bad port (or a raw '/' in the password) raises here, not later
            except ValueError:
                raise ValueError(f"expected mqtt://host:port or mqtts://host:port, got {redact_url(url)!r}") from None
            if parsed.scheme not in ("mqtt", "tcp", *TLS_SCHEMES) or not parsed.hostname:
                raise ValueError(f"expected mqtt://host:port or mqtts://host:port, got {redact_url(url)!r}")
        if len({urlparse(u).scheme in TLS_SCHEMES for u in urls}) > 1:
            raise ValueError("the nodes of one broker cluster are all mqtt:// or all mqtts://")
        return ",".join(urls)

    @model_validator(mode="after")
    def _check_tls(self) -> MqttSettings:
        files = (self.tls_ca_file, self.tls_cert_file, self.tls_key_file)
        if any(files) and not self.tls:
            raise ValueError("tls_ca_file, tls_cert_file and tls_key_file need an mqtts:// URL")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("a client certificate needs both tls_cert_file and tls_key_file")
        for path in files:
            if path is not None and not path.is_file():
                raise ValueError(f"TLS file {path} not found")
        return self

    @field_validator("shard")
    @classmethod
    def _check_shard(cls, value: str, info: ValidationInfo) -> str:
        index, _, count = value.partition("/")
        if value and not 0 <= int(index) < int(count):
            raise ValueError(f"a shard is 'i/N' with 0 <= i < N, got {value!r}")
        if value and info.data.get("shared_group"):
            raise ValueError("choose topic shards or a shared-subscription group, not both")
        return value

    @model_validator(mode="after")
    def _check_auto_shards(self) -> MqttSettings:
        if self.shards == "auto" and (self.shard or self.shared_group):
            raise ValueError("shards = 'auto' takes the place of a fixed shard or a shared-subscription group")
        return self

    @property
    def shard_of(self) -> tuple[int, int] | None:
        """(index, count) of this worker's topic shard, or None when it takes every device."""
        index, _, count = self.shard.partition("/")
        return (int(index), int(count)) if self.shard else None

    @property
    def tls(self) -> bool:
        """True for mqtts:// (TLS to the broker)."""
        return urlparse(self.urls[0]).scheme in TLS_SCHEMES

    @property
    def urls(self) -> list[str]:
        """Every broker node's URL, in the order given."""
        return split_urls(self.url)

    @property
    def safe_url(self) -> str:
        """The URL(s) without user name and password: the only form that may be logged or raised (issue 16)."""
        return ",".join(redact_url(u) for u in self.urls)

    @property
    def nodes(self) -> list[tuple[str, int]]:
        """(host, port) of every broker node, in the order given."""
        default = 8883 if self.tls else 1883
        return [(p.hostname or "127.0.0.1", p.port or default) for p in map(urlparse, self.urls)]

    @property
    def host(self) -> str:
        """Host name of the first broker node."""
        return self.nodes[0][0]

    @property
    def port(self) -> int:
        """TCP port of the first broker node."""
        return self.nodes[0][1]

    @property
    def username(self) -> str | None:
        """User name from the (first) URL, if any: every node of a cluster shares the users."""
        return urlparse(self.urls[0]).username

    @property
    def password(self) -> str | None:
        """Password from the (first) URL, if any."""
        return urlparse(self.urls[0]).password


def split_urls(value: str) -> list[str]:
    """Broker URLs from a comma-separated list (spaces and empty items ignored)."""
    return [u.strip() for u in value.split(",") if u.strip()]


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
