"""mqtts:// between the hub and a real Mosquitto, with a CA generated here by `openssl` (issue 16)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mqtt_peer import Peer, wait_for

from devices.credentials import HUB_USER, Credentials
from devices.statedb.sqlite import StateDB
from hub import demo_auth
from hub.broker import Mosquitto, auth_config, free_port, tls_listener
from hub.cli_commands import _device_tls
from hub.tls import TlsFiles, issue_cert, make_ca
from ingest.inbox import Inbox
from ingest.mqtt import BrokerUnreachable, MqttLink, anonymous_accepted
from ingest.settings import MqttSettings
from simulators.community import build_community
from simulators.fleet import FleetError
from simulators.runner import SimOptions, Simulation

# paho leaves the socket of a TLS handshake that failed (a wrong CA, no client certificate) to the garbage
# collector, which reports it as an unclosed-socket ResourceWarning: collected after each test here
pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning")]


@pytest.fixture(autouse=True)
def _collect_paho_sockets() -> Iterator[None]:
    yield
    gc.collect()


@dataclass
class TlsBroker:
    broker: Mosquitto
    tls_port: int
    mtls_port: int  # a second TLS listener that requires a client certificate
    server: TlsFiles
    client: TlsFiles
    hub_password: str


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[TlsBroker]:
    ca = make_ca(tmp_path / "ca")
    server = issue_cert(tmp_path / "ca", "broker", ca, ["localhost", "127.0.0.1"])
    client = issue_cert(tmp_path / "ca", "hub-client", ca, client=True)
    creds = Credentials(StateDB(tmp_path / "state.sqlite"))
    hub_password = creds.issue(HUB_USER)
    files = creds.write_broker_files(tmp_path / "broker-auth")
    tls_port, mtls_port = free_port(), free_port()
    extra = [*auth_config(*files), *tls_listener(tls_port, server.ca, server.cert, server.key),
             *tls_listener(mtls_port, server.ca, server.cert, server.key, require_certificate=True)]
    broker = Mosquitto(tmp_path / "mosquitto", extra_config=extra).start()
    yield TlsBroker(broker, tls_port, mtls_port, server, client, hub_password)
    broker.stop()


async def _connect(settings: MqttSettings) -> bool:
    link = MqttLink(settings, Inbox(asyncio.get_running_loop(), 100))
    await asyncio.to_thread(link.start)
    connected = link.connected.is_set()
    link.stop()
    return connected


def test_the_hub_connects_over_tls_with_the_generated_ca(tls_broker: TlsBroker) -> None:
    url = f"mqtts://{HUB_USER}:{tls_broker.hub_password}@127.0.0.1:{tls_broker.tls_port}"
    settings = MqttSettings(url=url, tls_ca_file=tls_broker.server.ca, client_id="hub-tls-test")
    assert settings.tls and settings.port == tls_broker.tls_port
    assert asyncio.run(_connect(settings))
    assert anonymous_accepted(settings) is False  # the TLS listener shares the password file


def test_a_broker_certificate_from_another_ca_is_refused(tls_broker: TlsBroker, tmp_path: Path) -> None:
    other = make_ca(tmp_path / "other-ca", "someone-else")
    url = f"mqtts://{HUB_USER}:{tls_broker.hub_password}@127.0.0.1:{tls_broker.tls_port}"
    settings = MqttSettings(url=url, tls_ca_file=other[0], client_id="hub-tls-wrong-ca")
    with pytest.raises(BrokerUnreachable, match="CERTIFICATE_VERIFY_FAILED") as caught:
        asyncio.run(_connect(settings))
    assert tls_broker.hub_password not in str(caught.value)


def test_a_listener_that_requires_a_client_certificate(tls_broker: TlsBroker) -> None:
    url = f"mqtts://{HUB_USER}:{tls_broker.hub_password}@127.0.0.1:{tls_broker.mtls_port}"
    without = Peer(tls_broker.mtls_port, HUB_USER, tls_broker.hub_password, ca=tls_broker.server.ca)
    assert without.accepted is not True, "no client certificate: no session"
    without.close()
    with_cert = MqttSettings(url=url, tls_ca_file=tls_broker.server.ca, tls_cert_file=tls_broker.client.cert,
                             tls_key_file=tls_broker.client.key, client_id="hub-mtls-test")
    assert asyncio.run(_connect(with_cert))
    device = Peer(tls_broker.mtls_port, HUB_USER, tls_broker.hub_password, ca=tls_broker.server.ca,
                  cert=(tls_broker.client.cert, tls_broker.client.key))
    assert device.accepted
    device.close()


def test_tls_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="mqtts://"):
        MqttSettings(url="mqtt://127.0.0.1:1883", tls_ca_file=Path(__file__))
    with pytest.raises(ValueError, match="both"):
        MqttSettings(url="mqtts://127.0.0.1", tls_cert_file=Path(__file__))
    assert MqttSettings(url="mqtts://broker.example").port == 8883


def test_the_demo_simulator_connects_over_the_tls_listener(tmp_path: Path) -> None:
    """`hub demo --device-tls HOST:PORT`: the demo's CA and broker certificate, a TLS listener sharing the password
    file, and the simulated devices connecting over it with their own passwords, checking the broker's certificate."""
    data_dir = tmp_path / "demo"
    data_dir.mkdir()
    community = build_community(2, 1, seed=7)
    ids = demo_auth.prepare(data_dir, community, data_dir / "broker-auth")
    port = free_port()
    args = argparse.Namespace(device_tls=f"127.0.0.1:{port}", tls_cert=None, tls_key=None, tls_ca=None,
                              data_dir=data_dir, simulator_tls=True)
    tls = _device_tls(args)
    assert tls.simulator == ("127.0.0.1", port, data_dir / "tls" / "ca.crt") and "connect over it" in tls.note
    broker = Mosquitto(data_dir / "mosquitto", extra_config=auth_config(ids.passwords_file, ids.acl_file)
                       + tls.lines).start()
    try:
        hub = Peer(broker.port, HUB_USER, ids.hub_password)  # the hub on the plain loopback listener
        hub.subscribe("eldercare/+/telemetry")
        sim = Simulation(community, *tls.simulator[:2], SimOptions(with_acc=False), password=ids.password,
                         ca_file=tls.simulator[2])
        sim.fleet.connect(timeout_s=15)
        assert not sim.fleet.refused and all(c.is_connected() for c in sim.fleet.clients.values())
        sim.burst(len(sim.devices), time.time(), timeout_s=10)  # one reading each, every one acked over TLS
        eldercare = {d.device_id for d in community.devices if d.family != "terminal"}
        assert wait_for(lambda: {t.split("/")[1] for t, _ in hub.got} == eldercare)
        sim.fleet.close()
        other_ca = make_ca(tmp_path / "other")[0]  # a simulator trusting another CA refuses the broker
        with pytest.raises(FleetError):
            Simulation(community, *tls.simulator[:2], SimOptions(), password=ids.password,
                       ca_file=other_ca).fleet.connect(timeout_s=5)
        hub.close()
    finally:
        broker.stop()
    no_sim = _device_tls(argparse.Namespace(**{**vars(args), "simulator_tls": False}))
    assert no_sim.simulator is None and no_sim.lines == tls.lines
