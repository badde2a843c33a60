"""`hub demo`, `hub run`, `hub simulate` and `hub evaluate`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from dashboard.pages import MissingAssets, require_vendored
from devices.credentials import HUB_USER
from devices.divisions import DivisionsMissing
from devices.records import RegistryError
from dispatch.insights.places import township_key
from hub import demo_auth
from hub.app import Hub, HubError, build_hub, install_signal_handlers, serve
from hub.broker import BrokerError, Mosquitto, auth_config, tls_listener
from hub.cli_users import ensure_demo_users, ensure_scoped_demo_user
from hub.demo_history import seed_history
from hub.demo_seed import (
    demo_responders,
    register_responders,
    seed_contacts,
    seed_field_ops,
    seed_station_thresholds,
    with_reporters,
)
from hub.kannel import Kannel
from hub.kannel import available as kannel_available
from hub.settings import BrokerSettings, HttpSettings, MqttSettings, Settings, SmsSettings, StoreSettings
from hub.tls import TlsFiles, demo_server_files
from ingest.mqtt import BrokerUnreachable, anonymous_accepted
from ingest.store.base import StoreError
from simulators.community import Community, build_community
from simulators.fleet import FleetError
from simulators.loadgen import LoadError, LoadGenerator, LoadOptions
from simulators.runner import SimOptions, Simulation, sim_devices

logger = logging.getLogger(__name__)
FIRST_FALL_S = 15.0  # the demo's first fall: in the queue after its 30 s cancel window, not two minutes in
Sub = Any  # argparse's private _SubParsersAction
EXPECTED = (HubError, BrokerError, BrokerUnreachable, StoreError, FleetError, RegistryError, ValidationError,
            MissingAssets, DivisionsMissing, LoadError)  # fmt: skip


class UserError(RuntimeError):
    """A problem the user can fix; printed as one line."""


def _unwrap(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _guard(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except (*EXPECTED, BaseExceptionGroup) as exc:
        inner = _unwrap(exc)
        if isinstance(inner, ValidationError):
            first = inner.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or inner.title
            raise UserError(f"invalid setting {where}: {first['msg']}") from inner
        if isinstance(inner, EXPECTED):
            raise UserError(str(inner)) from inner
        raise


def demo_community(args: argparse.Namespace) -> Community:
    """The seeded community of --residents/--terminals/--seed in the county of HUB_DEMO__COUNTY_CODE."""
    county = _guard(Settings).demo.county_code
    return with_reporters(  # issue 14: village reports come from reporting terminals only
        _guard(lambda: build_community(args.residents, args.terminals, seed=args.seed, county_code=county)))


def add_demo(sub: Sub) -> None:
    """Register `hub demo`."""
    p = sub.add_parser("demo", help="start Mosquitto, ingest, store, simulator and dashboard in one go",
                       description="Run the whole hub on this machine with a simulated community. Ctrl-C stops.")
    p.add_argument("--http-port", type=int, default=8000, help="dashboard port (default 8000)")
    p.add_argument("--http-host", default="127.0.0.1", help="dashboard address (default 127.0.0.1)")
    p.add_argument("--mqtt-port", type=int, default=0,
                   help="port of the demo's own Mosquitto (default 0: a free port, printed at start)")
    p.add_argument("--data-dir", type=Path, default=Path("data/demo"), help="where the demo keeps its files")
    p.add_argument("--residents", type=int, default=200, help="simulated residents (default 200)")
    p.add_argument("--terminals", type=int, default=20, help="simulated disaster terminals (default 20)")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (default 1)")
    p.add_argument("--seed", type=int, default=7, help="community seed (default 7)")
    p.add_argument("--fall-every", type=float, default=90.0,
                   help="simulated seconds between staged falls of a random resident (default 90; 0 = none)")
    p.add_argument("--scenario", choices=("none", "storm"), default="none",
                   help="storm: a rainstorm over the valley, first warnings and CAP drafts within 60 s (issue 6); "
                   "a commander approves them at /command (issue 14)")
    p.add_argument("--device-tls", metavar="HOST:PORT", default=None,
                   help="also listen for devices with TLS on this address, e.g. 0.0.0.0:8883 (issue 16; env "
                   "HUB_BROKER__DEVICE_TLS; certificates from --tls-cert/--tls-key/--tls-ca, else a demo CA made in "
                   "<data-dir>/tls); the simulator connects over it unless --no-simulator-tls")
    p.add_argument("--simulator-tls", action=argparse.BooleanOptionalAction, default=True,
                   help="with --device-tls: the simulated devices connect over the TLS listener, checking the "
                   "broker's certificate (default on)")
    p.add_argument("--tls-cert", type=Path, help="the TLS listener's certificate (with --tls-key and --tls-ca)")
    p.add_argument("--tls-key", type=Path, help="the TLS listener's private key")
    p.add_argument("--tls-ca", type=Path, help="the CA file devices trust (and that signs client certificates)")
    p.set_defaults(handler=cmd_demo)


@dataclass(frozen=True)
class DeviceTls:
    """The demo's TLS listener for devices (issue 16): its config lines, the banner line, and where the simulator
    connects over it (None: the simulator uses the plain 127.0.0.1 listener)."""

    lines: list[str]
    note: str = ""
    simulator: tuple[str, int, Path] | None = None  # host, port, CA file


def _device_tls(args: argparse.Namespace) -> DeviceTls:
    """The TLS listener from --device-tls (or HUB_BROKER__DEVICE_TLS); nothing without either."""
    address = args.device_tls if args.device_tls is not None else _guard(Settings).broker.device_tls
    if not address:
        return DeviceTls([])
    host, _, port = address.rpartition(":")
    if not port.isdigit() or not host or not 0 < int(port) < 65536:
        raise UserError(f"--device-tls wants HOST:PORT, e.g. 0.0.0.0:8883, got {address!r}")
    given = (args.tls_cert, args.tls_key, args.tls_ca)
    if any(given) and not all(given):
        raise UserError("--tls-cert, --tls-key and --tls-ca go together (or none: a demo CA is made)")
    bare = host.strip("[]")
    files = TlsFiles(args.tls_ca, args.tls_cert, args.tls_key) if all(given) else \
        _guard(demo_server_files, args.data_dir / "tls", bare)
    lines = tls_listener(int(port), files.ca, files.cert, files.key, host=bare)
    note = f"hub demo: devices' TLS listener mqtts://{address} (CA {files.ca})"
    if not args.simulator_tls:
        return DeviceTls(lines, note)
    target = "127.0.0.1" if bare in ("0.0.0.0", "::") else bare  # a wildcard listener is reached on loopback
    return DeviceTls(lines, note + "; the simulated devices connect over it", (target, int(port), files.ca))


def cmd_demo(args: argparse.Namespace) -> int:
    """Broker + hub + simulator until SIGINT/SIGTERM."""
    community = demo_community(args)
    auth_dir = args.data_dir / "broker-auth"
    args.data_dir.mkdir(parents=True, exist_ok=True)
    responders = tuple(r.responder_id for r in demo_responders(community))  # their simulated apps answer offers
    ids = demo_auth.prepare(args.data_dir, community, auth_dir, responders)  # issue 16: a password each, no anonymous
    tls = _device_tls(args)
    broker = Mosquitto(args.data_dir / "mosquitto", port=args.mqtt_port,
                       extra_config=auth_config(ids.passwords_file, ids.acl_file) + tls.lines)
    _guard(broker.start)
    url = f"mqtt://{HUB_USER}:{ids.hub_password}@127.0.0.1:{broker.port}"
    sms_gateway, sms_note = _demo_sms()  # issue 15: Kannel with its fake SMSC, when installed
    settings = Settings(mqtt=MqttSettings(url=url), store=StoreSettings(data_dir=args.data_dir),
                        http=HttpSettings(host=args.http_host, port=args.http_port,
                                          cti_token=secrets.token_urlsafe(16)),  # the demo's PBX/CTI token
                        broker=BrokerSettings(auth_dir=auth_dir, pid_file=broker.pid_file),
                        sms=SmsSettings(url=sms_gateway.sendsms_url, username=sms_gateway.username,
                                        password=sms_gateway.password) if sms_gateway else SmsSettings())
    try:
        scenario = "" if args.scenario == "none" else args.scenario
        options = SimOptions(speed=args.speed, seed=args.seed, fall_every_s=args.fall_every, scenario=scenario,
                             first_fall_s=min(FIRST_FALL_S, args.fall_every), staged=True, responders=responders)
        _guard(asyncio.run, _demo(settings, community, options, ids, tls, sms_note))
    finally:
        if sms_gateway is not None:
            sms_gateway.stop()
        broker.stop()
    print("hub demo stopped cleanly", flush=True)
    return 0


def _demo_sms() -> tuple[Kannel | None, str]:
    """The demo's SMS gateway: a private Kannel (bearerbox, smsbox, fake SMSC) on free ports (or None), and a note."""
    if not kannel_available():
        return None, "hub demo: Kannel not installed (scripts/setup installs it): texts are queued, not sent"
    try:
        gateway = Kannel().start()
    except BrokerError as exc:
        return None, f"hub demo: SMS gateway not started ({exc}): texts are queued, not sent"
    return gateway, (f"hub demo: SMS gateway Kannel {gateway.sendsms_url} with a fake SMSC (texts land in "
                     f"{gateway.root / 'fakesmsc.out'})")


async def _demo(settings: Settings, community: Community, options: SimOptions, ids: demo_auth.DemoIdentities,
                tls: DeviceTls | None = None, sms_note: str = "") -> None:
    hub = build_hub(settings)  # the community is registered and its credentials issued already (demo_auth)
    if hub.ctx.desk is not None:
        register_responders(hub.ctx.desk.responders, community)
    seed_contacts(hub.ctx.registry.db, community)  # a son, a daughter and a neighbour to call for each resident
    if hub.ctx.field_ops is not None:  # issue 14: each station judged by its own thresholds
        seed_station_thresholds(hub.ctx.field_ops.centre, community)
    if options.scenario == "storm" and hub.ctx.field_ops is not None:
        seed_field_ops(hub.ctx.field_ops, community.villages)
        teams = demo_auth.issue_team_devices(hub.ctx.identities, hub.ctx.field_ops.teams, ids)
        options = replace(options, teams=teams)  # issue 14: the teams' devices follow their missions over MQTT
    providers = [r for r in demo_responders(community) if r.kind == "provider"]  # issue 19: their past orders
    seeded = seed_history(hub.ctx.registry.db, community, time.time(), providers=providers)  # the first 90 days
    demo_users = ensure_demo_users(hub.ctx.auth) if hub.ctx.auth is not None else []
    if demo_users and hub.ctx.auth is not None and community.villages:  # scope by place: one township's officer
        town = community.villages[0]
        demo_users.append(ensure_scoped_demo_user(hub.ctx.auth, township_key(town), town.township))
    if hub.ctx.field_ops is not None and any(role == "reporter" for _u, _p, role in demo_users):
        mine = [v.village_id for v in community.villages[:2]]  # issue 14: the demo officer's villages
        hub.ctx.field_ops.centre.reporters.grant("reporter", mine, "hub demo", time.time())
    stop = asyncio.Event()
    install_signal_handlers(stop)
    sim_stop = threading.Event()
    tls = tls or DeviceTls([])
    host, port, ca = tls.simulator or (settings.mqtt.host, settings.mqtt.port, None)
    sim = Simulation(community, host, port, options, password=ids.password, ca_file=ca)
    thread = threading.Thread(target=_simulate, args=(sim, sim_stop), name="simulator", daemon=True)

    def ready(url: str) -> None:
        print(f"hub demo: dashboard at {url}  (MQTT broker {settings.mqtt.safe_url}, "
              f"{len(community.devices)} simulated devices; Ctrl-C to stop)", flush=True)
        print(f"hub demo: the broker refuses anonymous clients; each device has its own password "
              f"(hub devices --data-dir {settings.store.data_dir} list|issue|revoke; admin page {url}/devices)",
              flush=True)
        for note in (tls.note, sms_note):
            if note:
                print(note, flush=True)
        for username, password, role in demo_users:  # demo only: well-known passwords, never in production
            page = {"bureau": "insights", "reporter": "report"}.get(role, "console")
            print(f"hub demo: {page} {url}/{page}  sign in as {username} / {password} ({role})", flush=True)
        if seeded:
            print(f"hub demo: {seeded} past incidents of the last 90 days seeded; statistics at {url}/insights",
                  flush=True)
        print(f"hub demo: command map {url}/map  CAP feed {url}/cap/alerts.xml", flush=True)
        caller = community.residents[0].phone if community.residents else "13800000000"
        print(f"hub demo: a call from the PBX pops the caller's card on the console of the operator on line 8001: "
              f"curl -X POST {url}/api/calls -H 'Authorization: Bearer {settings.http.cti_token.get_secret_value()}'"
              f" -H 'Content-Type: application/json' -d '{{\"caller\": \"{caller}\", \"line\": \"8001\", "
              f"\"call_id\": \"demo-1\"}}'", flush=True)
        print(f"hub demo: warning drafts wait for a commander at {url}/command (automatic issue is off)", flush=True)
        print(f"hub demo: escalation policies and texts sent {url}/escalation", flush=True)
        print(f"hub demo: village officers file disaster reports at {url}/report (on a phone too)", flush=True)
        print(f"hub demo: the evacuation work list of each approved warning at {url}/evacuation (on a phone too)",
              flush=True)
        thread.start()

    try:
        await serve(hub, stop, ready)
    finally:
        sim_stop.set()
        if thread.is_alive():
            thread.join(timeout=10)
        hub.close()


def _simulate(sim: Simulation, stop: threading.Event) -> None:
    sim.fleet.connect()
    try:
        sim.run_realtime(stop)
    finally:
        sim.fleet.close()


def add_run(sub: Sub) -> None:
    """Register `hub run`."""
    p = sub.add_parser("run", help="run the hub against an existing broker (settings from HUB_* variables)",
                       description="Run ingest, store, detectors and dashboard. Settings come from HUB_* "
                       "environment variables (e.g. HUB_MQTT__URL); flags override them.")
    p.add_argument("--mqtt-url", action="append",
                   help="broker URL, mqtt://[user:pass@]host:port (env HUB_MQTT__URL); repeat it, or separate URLs "
                   "with commas, for the nodes of a broker cluster (the hub moves to another when its node dies)")
    p.add_argument("--http-port", type=int, help="dashboard port (env HUB_HTTP__PORT, default 8000)")
    p.add_argument("--data-dir", type=Path, help="folder for telemetry and state (env HUB_STORE__DATA_DIR)")
    p.add_argument("--client-id", help="MQTT client id; fixed, so the broker keeps the session")
    p.add_argument("--allow-anonymous-broker", action="store_true",
                   help="start even if the broker accepts clients without credentials (warned in the log and on "
                   "the console; env HUB_MQTT__ALLOW_ANONYMOUS_BROKER)")
    p.set_defaults(handler=cmd_run)


def join_urls(urls: list[str] | None) -> str:
    """--mqtt-url given several times: one comma-separated list ('' when not given)."""
    return ",".join(urls or [])


def settings_from(args: argparse.Namespace) -> Settings:
    """HUB_* environment with the command line's overrides."""
    base = Settings()
    mqtt = base.mqtt.model_copy(update={k: v for k, v in
                                        (("url", join_urls(args.mqtt_url)), ("client_id", args.client_id),
                                         ("allow_anonymous_broker", getattr(args, "allow_anonymous_broker", False)))
                                        if v})
    http = base.http.model_copy(update={"port": args.http_port} if args.http_port is not None else {})
    store = base.store.model_copy(update={"data_dir": args.data_dir} if args.data_dir else {})
    # every other section (ingest, alerts, ...) comes from the environment unchanged
    return base.model_copy(update={"mqtt": MqttSettings(**mqtt.model_dump()), "http": http, "store": store})


def cmd_run(args: argparse.Namespace) -> int:
    """The hub alone until SIGINT/SIGTERM."""
    settings = _guard(settings_from, args)
    _guard(require_vendored)  # the pages' libraries first: a local check, before any connection
    warnings = check_broker(settings.mqtt)
    _guard(asyncio.run, _run(settings, warnings))
    return 0


def check_broker(mqtt: MqttSettings) -> list[str]:
    """Issue 16: refuse a broker that accepts anonymous clients, unless allowed (then a warning for the console)."""
    if not _guard(anonymous_accepted, mqtt):
        return []
    why = (f"the MQTT broker at {mqtt.safe_url} accepts clients without credentials: anyone who reaches it can "
           "publish a fake SOS or read every resident's data")
    if not mqtt.allow_anonymous_broker:
        raise UserError(f"{why}; set allow_anonymous false with a password file (hub devices ...), or start with "
                        "--allow-anonymous-broker")
    logger.warning("%s (started with --allow-anonymous-broker)", why)
    return ["anonymous_broker"]  # the console says it in its reader's language (warning.anonymous_broker)


async def _run(settings: Settings, warnings: list[str] | None = None) -> None:
    hub: Hub = build_hub(settings)
    hub.ctx.warnings.extend(warnings or [])
    stop = asyncio.Event()
    install_signal_handlers(stop)
    try:
        await serve(hub, stop, lambda url: print(f"hub: dashboard at {url}", flush=True))
    finally:
        hub.close()


def add_simulate(sub: Sub) -> None:
    """Register `hub simulate`."""
    p = sub.add_parser("simulate", help="publish a simulated community's telemetry to a broker",
                       description="Publish as every simulated device (its own client id and username). "
                       "Register the same community first: hub registry seed --data-dir ...")
    p.add_argument("--mqtt-url", action="append",
                   help="broker URL (default mqtt://127.0.0.1:1883); repeat it, or separate URLs with commas, for "
                   "the nodes of a cluster: devices spread over them and move to another when theirs dies")
    p.add_argument("--residents", type=int, default=200, help="simulated residents (default 200)")
    p.add_argument("--terminals", type=int, default=20, help="disaster terminals (default 20)")
    p.add_argument("--seed", type=int, default=7, help="community seed (default 7)")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    p.add_argument("--count", type=int, default=0, help="publish exactly this many readings, then exit")
    p.add_argument("--no-acc", action="store_true", help="omit accelerometer windows (smaller messages)")
    p.add_argument("--connections", action="store_true",
                   help="issue 20: the load generator, every device its own connection from --processes worker "
                   "processes, in real time (a 1 s accelerometer window a second per wearable, vitals every 10 s "
                   "with --no-acc; home sensors and terminals every 60 s); holds 10,000 connections and more")
    p.add_argument("--processes", type=int, default=4, help="with --connections: worker processes (default 4)")
    p.add_argument("--passwords", type=Path,
                   help="with --connections: a JSON file {device_id: password} where the broker requires them")
    p.set_defaults(handler=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Burst (--count) or real time until Ctrl-C."""
    mqtt = _guard(lambda: MqttSettings(url=join_urls(args.mqtt_url) or "mqtt://127.0.0.1:1883"))
    community = demo_community(args)
    if args.connections:
        return _load(args, community, mqtt.nodes)
    sim = Simulation(community, mqtt.host, mqtt.port, SimOptions(args.speed, args.seed, not args.no_acc),
                     nodes=mqtt.nodes)
    _guard(sim.fleet.connect)
    try:
        if args.count:
            t0 = time.perf_counter()
            sim.burst(args.count, time.time() - 3600)
            rate = args.count / (time.perf_counter() - t0)
            print(f"published {args.count} readings from {len(sim.devices)} devices ({rate:.0f}/s)", flush=True)
        else:
            stop = threading.Event()
            try:
                sim.run_realtime(stop)
            except KeyboardInterrupt:
                stop.set()
    finally:
        sim.fleet.close()
    return 0


def _load(args: argparse.Namespace, community: Community, nodes: list[tuple[str, int]]) -> int:
    """`hub simulate --connections`: the load generator until Ctrl-C, its counters every 10 s."""
    if args.count:
        raise UserError("--count is a burst over shared connections; --connections publishes in real time")
    passwords = orjson.loads(args.passwords.read_bytes()) if args.passwords else {}
    options = LoadOptions(nodes=tuple(nodes), processes=args.processes, acc=not args.no_acc, seed=args.seed)
    with LoadGenerator(sim_devices(community, args.seed), options, passwords) as gen:
        started = _guard(gen.start)
        print(f"hub simulate: {started.connected} devices connected ({started.refused} refused) from "
              f"{options.processes} processes, {gen.intended_per_s:.0f} msg/s intended; Ctrl-C stops", flush=True)
        try:
            last = started
            while True:
                time.sleep(10.0)
                now = gen.stats()
                print(f"hub simulate: {now.connected} connected, {(now.acked - last.acked) / 10:.0f} msg/s acked, "
                      f"{now.skipped} skipped, {now.reconnects} reconnects, RSS {now.rss_kb // 1024} MB", flush=True)
                last = now
        except KeyboardInterrupt:
            pass
    return 0


def add_evaluate(sub: Sub) -> None:
    """Register `hub evaluate anomalies|falls ...` (delegates to the detectors' evaluation modules)."""
    p = sub.add_parser("evaluate", help="score the detectors on labelled data (anomalies, falls, routine)",
                       description="hub evaluate anomalies --homes N --days D [--json]; "
                       "hub evaluate falls DATASET_DIR [--json]; hub evaluate routine HOME_DIR [--json]")
    p.add_argument("target", choices=["anomalies", "falls", "routine"], help="which evaluation")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="the evaluation's own options (see its --help)")
    p.set_defaults(handler=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Run alerts.eval.anomaly, alerts.eval.falls or hub.cli_evaluate_routine with the remaining arguments."""
    module = {"anomalies": "alerts.eval.anomaly", "falls": "alerts.eval.falls",
              "routine": "hub.cli_evaluate_routine"}[args.target]
    result: int = importlib.import_module(module).main(args.rest)
    return result
