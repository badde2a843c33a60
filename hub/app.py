"""The composition root: build settings, stores and stages, then run the stages as named tasks in one TaskGroup.

Start sequence (a table of contents of the hub): state DB and registry -> telemetry store -> MQTT link ->
ingest -> detectors -> live feed -> HTTP. SIGINT/SIGTERM stop the HTTP server, let ingest finish its batch,
disconnect from the broker (which keeps the session) and close the stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import logging
import signal
import socket
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import orjson
import uvicorn

from alerts.detection import Detection
from alerts.detector import Detector
from alerts.falls.flow import AlertFlow
from alerts.falls.store import PendingFallStore
from alerts.incidents.escalation import Escalator
from alerts.incidents.notify import Notifier, Webhook
from alerts.incidents.policy import PolicyStore
from alerts.incidents.record import Incident
from alerts.incidents.service import IncidentService
from alerts.log import DetectionLog
from alerts.sms.gateway import KannelConfig, KannelGateway
from alerts.sms.outbox import Outbox, mask_number
from alerts.sms.sender import SenderSettings, SmsSender
from alerts.stage import DetectorStage
from dashboard.app import create_app
from dashboard.auth import StaffAuth
from dashboard.bus import Bus
from dashboard.context import HubContext
from dashboard.live import LiveFeed
from devices import i18n
from devices.credentials import Credentials
from devices.identities import BrokerFiles, DeviceIdentities, reserve_identities
from devices.registry import Registry
from devices.statedb.postgres import PgStateDB, open_state
from devices.statedb.sqlite import StateDB
from dispatch.caring_calls import CaringCalls
from dispatch.desk import DispatchDesk
from dispatch.disaster.drafts import IssuePolicy
from dispatch.disaster.feed import build_command
from dispatch.disaster.field_ops import FieldOps
from dispatch.disaster.resource_store import ResourceStore
from dispatch.disaster.store import CommandStore
from dispatch.disaster.team_status import TeamStatusInbox, TeamStatusStage
from dispatch.insights.engine import Insights
from dispatch.offers import OfferBook
from dispatch.responders import ResponderRegistry
from dispatch.service_catalogue import ServiceCatalogue
from dispatch.service_orders import ServiceOrders
from dispatch.status_stage import StatusInbox, StatusStage
from hub import scale_out
from hub.gc_policy import GcPolicy
from hub.retention import Retention
from hub.settings import Settings, StoreSettings
from hub.wiring import default_detectors
from ingest.inbox import Inbox
from ingest.mqtt import MqttLink
from ingest.pipeline import Batch, Ingestor
from ingest.store.base import TimeSeriesStore
from ingest.store.duckdb_store import DuckDBStore

logger = logging.getLogger(__name__)
STAGE_QUEUE_BATCHES = 64
FALL_MEMORY_S = 24 * 3600.0  # fall alerts remembered across a restart, so a late second source merges
SLOW_SHUTDOWN_S = 20.0  # after SIGTERM, dump every thread's stack if the hub is still not down


class HubError(RuntimeError):
    """A start-up problem with a one-line explanation of what to do."""


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the hub owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def open_store(settings: StoreSettings) -> TimeSeriesStore:
    """The configured telemetry store."""
    if settings.backend == "influxdb":
        from ingest.store.influx import InfluxStore  # optional production backend

        return InfluxStore(settings.influx_url, settings.influx_db)
    return DuckDBStore(settings.data_dir / "telemetry.duckdb", settings.duckdb_memory_mb)


def bind_http(host: str, port: int) -> socket.socket:
    """Bind the HTTP socket ourselves so a busy port is a clear error, not a traceback."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        why = f"HTTP port {port} on {host} is in use ({exc.strerror})"
        raise HubError(f"{why}; choose another with --http-port") from exc
    return sock


@dataclass
class Hub:
    """The built hub: its objects and its stages."""

    settings: Settings
    db: StateDB
    registry: Registry
    store: TimeSeriesStore
    link: MqttLink
    ingestor: Ingestor
    stages: dict[str, scale_out.Stage]
    ctx: HubContext
    gc: GcPolicy | None = None  # issue 20: full collector passes kept short

    def close(self) -> None:
        """Release stores and threads."""
        self.ingestor.close()
        self.store.close()
        self.db.close()


def _downlink(link: MqttLink) -> Callable[[str, dict[str, object]], None]:
    def send(device_id: str, body: dict[str, object]) -> None:
        link.publish(f"eldercare/{device_id}/set", orjson.dumps(body))

    return send


def _team_channel(link: MqttLink) -> Callable[[str, dict[str, object] | None], None]:
    """Issue 14: a team's mission on `teams/<id>/assignment`, retained at QoS 1 so a device that was offline gets it
    when it subscribes; an empty retained message clears it once the team is back at base."""
    def send(team_id: str, body: dict[str, object] | None) -> None:
        link.publish(f"teams/{team_id}/assignment", orjson.dumps(body) if body is not None else b"", qos=1,
                     retain=True)

    return send


def _resident_of(registry: Registry) -> Callable[[str], str]:
    def lookup(device_id: str) -> str:
        device = registry.devices().get(device_id)
        return (device.resident_id or device.home_id or device_id) if device else device_id

    return lookup


def sms_sender(settings: Settings, db: StateDB, bus: Bus) -> SmsSender:
    """Issue 15: the SMS outbox, sent through Kannel when HUB_SMS__URL names its sendsms interface."""
    s = settings.sms
    gateway = None
    if s.url:
        dlr_base = s.dlr_base or f"http://127.0.0.1:{settings.http.port}"
        gateway = KannelGateway(KannelConfig(s.url, s.username, s.password, s.sender, dlr_base))
    limits = SenderSettings(per_recipient=s.per_recipient, window_s=s.window_s, backoff_s=s.backoff_s,
                            backoff_max_s=s.backoff_max_s)
    return SmsSender(Outbox(db), gateway, bus, limits, mask=mask_number)


def _offer_hook(desk: DispatchDesk) -> Callable[[Incident], None]:
    """An escalation's offer step: the best-ranked available responder gets the offer (the others after it)."""
    def offer(incident: Incident) -> None:
        ranked = [c for c in desk.candidates(incident.id) if c.available]
        if ranked:
            desk.dispatch(incident.id, "system", ranked[0].responder_id)

    return offer


def _call_centre(settings: Settings, db: StateDB, registry: Registry, bus: Bus, link: MqttLink,
                 stages: dict[str, scale_out.Stage], sms: SmsSender) -> tuple[IncidentService, DispatchDesk]:
    """Issue 5: incidents with escalation and notifications, responders and offers (their tasks join `stages`)."""
    alerts = settings.alerts
    webhook = (Webhook(alerts.webhook_url, alerts.webhook_attempts, timeout_s=alerts.webhook_timeout_s)
               if alerts.webhook_url else None)
    responders = ResponderRegistry(db)
    # issue 16: a responder's or a bridge's id is not a device's
    reserve_identities(registry, Credentials(db), lambda: [r.responder_id for r in responders.all(active_only=False)])
    offers = OfferBook(db, lambda topic, body: link.publish(topic, orjson.dumps(body)))
    orders = ServiceOrders(db, responders, offers)  # green-key orders get their slot, then are announced
    incidents = IncidentService(db, registry, orders.notifier(Notifier(bus, _downlink(link), webhook)))
    desk = DispatchDesk(incidents, responders, offers, orders=orders)
    # a service order done: its completion record (price, subsidy) and a satisfaction call-back on the console
    desk.on_done.append(ServiceCatalogue(db, registry, CaringCalls(db, registry, incidents)).on_done)
    escalator = Escalator(incidents, policies=PolicyStore(db), sms=sms, offer=_offer_hook(desk))  # issue 15
    stages.update(escalation=escalator.run, offers=desk.run)
    if sms.gateway is not None:
        stages["sms"] = sms.run
    if webhook is not None:
        stages["webhook"] = webhook.run
    return incidents, desk


def _chain(*sinks: Callable[[list[Detection]], None]) -> Callable[[list[Detection]], None]:
    def sink(detections: list[Detection]) -> None:
        for each in sinks:
            each(detections)

    return sink


def device_identities(settings: Settings, db: StateDB, registry: Registry,
                      incidents: IncidentService) -> DeviceIdentities:
    """Issue 16: device credentials, written to the broker's files (reloaded by its pid file), audited."""
    data_dir = settings.store.data_dir
    broker = BrokerFiles.with_pid_file(settings.broker.folder(data_dir), settings.broker.pid(data_dir))
    responders, teams = ResponderRegistry(db), ResourceStore(db)
    return DeviceIdentities(Credentials(db), registry, broker,
                            lambda actor, action, detail: incidents.audit(actor, action, None, detail),
                            responder_ids=lambda: [r.responder_id for r in responders.all(active_only=False)],
                            team_ids=teams.team_ids)  # issue 14: a registered team's device gets its credential


def build_hub(settings: Settings, detectors: list[Detector] | None = None) -> Hub:
    """Build every object of the hub (no I/O to the broker yet)."""
    i18n.configure(settings.ui.language)  # issue 18: the language of stored titles, CAP and downlink texts
    db = open_state(settings.store.data_dir, settings.store.state_url)  # SQLite here, or PostgreSQL (issue 7)
    registry = Registry(db)
    store = open_store(settings.store)
    inbox = Inbox(asyncio.get_running_loop(), settings.ingest.queue_max)
    link_events: deque[tuple[str, float]] = deque()  # the broker link's ups and downs, for device health
    shards = scale_out.shard_subscriber(settings, registry, db)  # issue 7: this worker's topics, if sharded
    leased = scale_out.leased(settings, db)  # issue 20: shards leased in PostgreSQL, taken over from dead workers
    link = MqttLink(settings.mqtt, inbox, on_link=lambda kind: link_events.append((kind, time.time())),
                    topic_source=shards.topics if shards is not None else (list if leased else None))
    links = scale_out.shard_links(settings, link, registry, db) if leased else None
    live_q: asyncio.Queue[Batch] = asyncio.Queue(STAGE_QUEUE_BATCHES)
    detect_q: asyncio.Queue[Batch] = asyncio.Queue(STAGE_QUEUE_BATCHES)
    status_q: asyncio.Queue[Batch] = asyncio.Queue(STAGE_QUEUE_BATCHES)  # issue 5: responder apps' statuses
    statuses = StatusInbox(db)  # kept by ingest before the ack, applied to the desk by a stage
    team_q: asyncio.Queue[Batch] = asyncio.Queue(STAGE_QUEUE_BATCHES)  # issue 14: rescue teams' statuses
    team_statuses = TeamStatusInbox(db)
    ingestor = Ingestor(settings.ingest, inbox, store, db, registry, links.ack_many if links else link.ack_many,
                        outputs=[live_q, status_q, team_q], gate=detect_q,  # issue 7: acked once its alerts are stored
                        keepers=[statuses.keep, team_statuses.keep])
    bus = scale_out.live_bus(settings, link)
    live = LiveFeed(live_q, bus, settings.http.live_per_s)
    log = DetectionLog(db, bus)
    flow = AlertFlow(settings.alerts.cancel_window_s, settings.alerts.merge_window_s, _downlink(link),
                     _resident_of(registry), PendingFallStore(db), log.last_falls(time.time() - FALL_MEMORY_S),
                     load=not leased)  # issue 20: a leased worker adopts the pending falls of each shard it takes
    stages: dict[str, scale_out.Stage] = {}
    sms = sms_sender(settings, db, bus)
    incidents, desk = _call_centre(settings, db, registry, bus, link, stages, sms)
    stages["responder_status"] = StatusStage(status_q, statuses, desk, ingestor.journal, ingestor.stats.rejected).run
    command = build_command(registry, bus.publish, CommandStore(db))  # issue 6, kept across restarts (issue 7)
    command.cap_english = settings.ui.cap_english  # issue 18: an en-US <info> block after the zh-CN one
    auto_issue = {str(k): v for k, v in settings.alerts.cap_auto_issue_minutes.items()}
    command.policy = IssuePolicy.of_minutes(auto_issue)  # issue 14: off by default (every CAP approved by a person)
    ops = FieldOps(command, tile_url=settings.http.tile_url, store=ResourceStore(db),  # issue 14: teams, stock
                   send_assignment=_team_channel(link))
    ops.refresh()
    stages["team_status"] = TeamStatusStage(team_q, team_statuses, ops, ingestor.journal,
                                            lambda actor, action, detail: incidents.audit(actor, action, None, detail),
                                            ingestor.stats.rejected).run
    if detectors is None:
        detectors = default_detectors(registry, settings.detectors, command, owns=scale_out.owns(shards, links))
    stage = DetectorStage(detect_q, detectors, flow, _chain(log, incidents.on_detections, command.on_detections),
                          log.store_clips, link_events=link_events)
    queues = {"inbox": inbox.depth, "live": live_q.qsize, "detectors": detect_q.qsize}  # issue 9: /metrics
    ctx = HubContext(registry, store, ingestor.journal, bus, ingestor.stats, link.connected.is_set, log, incidents,
                     desk, StaffAuth(db, idle_s=settings.http.session_idle_s,
                                               lifetime_s=settings.http.session_lifetime_s),
                     field_ops=ops, queues=queues, identities=device_identities(settings, db, registry, incidents),
                     policies=PolicyStore(db), sms=sms,
                     insights=Insights(db, settings.insights.targets, store=store))
    stages.update(ingest=ingestor.run, detectors=stage.run, live=live.run)
    scale_out.attach(settings, link, shards, db, bus, stages)  # issue 7: topic shard, events, timer leader
    if links is not None and isinstance(db, PgStateDB):
        stages["shards"] = scale_out.keeper(settings, db, links, registry, ingestor, flow)
    if settings.store.retention_days > 0:  # issue 8: raw telemetry past the retention period is deleted
        stages["retention"] = Retention(store, db, settings.store.retention_days).run
    gc_policy = GcPolicy(settings.runtime.gc_complete_every_h * 3600) if settings.runtime.gc_freeze else None
    if gc_policy is not None:
        stages["gc"] = gc_policy.run
    return Hub(settings, db, registry, store, link, ingestor, stages, ctx, gc_policy)


def _reports_to(hub: Hub, port: int) -> None:
    """Issue 15: Kannel's delivery reports come back to the port the hub really listens on (HUB_SMS__DLR_BASE
    overrides, e.g. when Kannel runs on another machine)."""
    gateway = hub.ctx.sms.gateway if hub.ctx.sms is not None else None
    if isinstance(gateway, KannelGateway) and not hub.settings.sms.dlr_base:
        gateway.config = replace(gateway.config, dlr_base=f"http://127.0.0.1:{port}")


async def serve(hub: Hub, stop: asyncio.Event, on_ready: Callable[[str], None] | None = None) -> None:
    """Connect, run every stage and the HTTP server until `stop` is set."""
    http = hub.settings.http
    app = create_app(hub.ctx, behind_tls=http.behind_tls,  # issue 8: HSTS and Secure cookies behind TLS
                     max_body_bytes=http.max_body_bytes, max_import_bytes=http.max_import_bytes,
                     origins=http.origins,  # issue 16: body limits before authentication, /ws origins
                     cti_token=http.cti_token.get_secret_value())  # screen pops from the PBX/CTI
    sock = bind_http(http.host, http.port)
    _reports_to(hub, int(sock.getsockname()[1]))
    hub.ingestor.seed_dedup()
    await asyncio.to_thread(hub.link.start)
    if hub.gc is not None:
        hub.gc.settle()
        hub.gc.install()
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    server = _Server(config)
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(run(), name=name) for name, run in hub.stages.items()]
            tg.create_task(server.serve(sockets=[sock]), name="http")
            while not server.started and not stop.is_set():
                await asyncio.sleep(0.02)
            if on_ready is not None:
                on_ready(f"http://{http.host}:{sock.getsockname()[1]}")
            await stop.wait()
            faulthandler.dump_traceback_later(SLOW_SHUTDOWN_S)  # a shutdown that hangs says where, on stderr
            server.should_exit = True
            for task in tasks:
                task.cancel()
    finally:
        hub.ingestor.inbox.close()  # first: paho's thread may be waiting on a full inbox, and stop() joins it
        hub.link.stop()
        if hub.gc is not None:
            hub.gc.uninstall()
        faulthandler.cancel_dump_traceback_later()


def install_signal_handlers(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set `stop` (a clean shutdown)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
