"""Device identities against a real Mosquitto (issue 16): the demo's broker refuses anonymous clients, an issued
device connects and publishes, a revoked one is refused and its live session is cut, without dropping others."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hubproc import HubProcess
from mqtt_peer import Peer, wait_for

from devices.aliases import Alias, AliasBook
from devices.credentials import HUB_USER, Credentials
from devices.decode import Decoder
from devices.identities import BrokerFiles, DeviceIdentities, IdentityError
from devices.models import Reading, Rejection
from devices.records import RegistryError
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.responders import ResponderRegistry
from hub import demo_auth
from hub.broker import Mosquitto, auth_config
from hub.demo_seed import demo_responders
from ingest.mqtt import anonymous_accepted
from ingest.settings import MqttSettings
from simulators.community import build_community

pytestmark = pytest.mark.integration


@dataclass
class Secured:
    """The demo's broker setup: a community registered, the hub and every device with its own password."""

    broker: Mosquitto
    data_dir: Path
    ids: demo_auth.DemoIdentities
    identities: DeviceIdentities
    audit: list[tuple[str, str, dict[str, object]]]


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Secured]:
    data_dir = tmp_path / "hub"
    data_dir.mkdir()
    community = build_community(3, 1, seed=7)
    ids = demo_auth.prepare(data_dir, community, data_dir / "broker-auth")
    broker = Mosquitto(data_dir / "mosquitto", extra_config=auth_config(ids.passwords_file, ids.acl_file)).start()
    db = StateDB(data_dir / "state.sqlite")
    registry = Registry(db)
    audit: list[tuple[str, str, dict[str, object]]] = []
    identities = DeviceIdentities(Credentials(db), registry,
                                  BrokerFiles.with_pid_file(data_dir / "broker-auth", broker.pid_file),
                                  lambda *entry: audit.append(entry))
    yield Secured(broker, data_dir, ids, identities, audit)
    broker.stop()
    db.close()


def _wearable(s: Secured) -> str:
    return next(d for d in s.ids.devices if d.startswith("W"))


def test_the_demo_broker_refuses_an_anonymous_client(secured: Secured) -> None:
    anonymous = Peer(secured.broker.port, None, None)
    assert anonymous.accepted is False, "CONNACK must not accept a client without credentials"
    assert "Not authorized" in anonymous.reason
    anonymous.close()
    assert anonymous_accepted(MqttSettings(url=secured.broker.url)) is False
    no_password = Peer(secured.broker.port, _wearable(secured), None)
    assert no_password.accepted is False
    no_password.close()


def test_an_issued_device_connects_and_publishes_to_the_hub_user(secured: Secured) -> None:
    device = _wearable(secured)
    password = secured.identities.issue(device, "tester").password
    assert secured.audit[-1][:2] == ("tester", "device_credential_issued")
    hub = Peer(secured.broker.port, HUB_USER, secured.ids.hub_password)
    assert hub.accepted
    hub.subscribe("eldercare/+/telemetry")
    dev = Peer(secured.broker.port, device, password)
    assert dev.accepted
    assert dev.publish(f"eldercare/{device}/telemetry", b"reading")
    assert wait_for(lambda: (f"eldercare/{device}/telemetry", b"reading") in hub.got)
    # the hub's own user is limited to its topics now (not readwrite #): it cannot speak as a device
    dev.subscribe(f"eldercare/{device}/set")
    assert hub.publish(f"eldercare/{device}/set", b"help is coming")  # its downlinks it may send
    assert wait_for(lambda: (f"eldercare/{device}/set", b"help is coming") in dev.got)
    forger = Peer(secured.broker.port, HUB_USER, secured.ids.hub_password)  # a denied publish costs the connection
    forger.publish(f"eldercare/{device}/telemetry", b"forged by hub", wait_s=2)
    time.sleep(0.3)
    assert all(payload != b"forged by hub" for _t, payload in hub.got)
    forger.close()
    for peer in (hub, dev):
        peer.close()


def test_a_revoked_device_is_refused_and_its_live_session_cut_others_stay(secured: Secured) -> None:
    device, other = [d for d in secured.ids.devices if d.startswith("W")][:2]
    live = Peer(secured.broker.port, device, secured.ids.devices[device])
    bystander = Peer(secured.broker.port, other, secured.ids.devices[other])
    hub = Peer(secured.broker.port, HUB_USER, secured.ids.hub_password)
    assert live.accepted and bystander.accepted and hub.accepted
    pid = secured.broker.process.pid if secured.broker.process else None

    started = time.monotonic()
    assert secured.identities.revoke(device, "tester") is True  # True: the broker was signalled (SIGHUP)
    cut = wait_for(lambda: live.disconnected_at is not None, 5.0)
    cut_after = (live.disconnected_at or time.monotonic()) - started
    again = Peer(secured.broker.port, device, secured.ids.devices[device])
    refused_after = time.monotonic() - started
    print(f"\nmeasured: live session cut {cut_after:.3f} s after revoke; new CONNECT refused "
          f"({again.reason}) {refused_after:.3f} s after revoke")
    assert cut, "Mosquitto 2.0 ends a connected client whose password is gone on SIGHUP"
    assert cut_after < 2.0
    assert again.accepted is False and "Not authorized" in again.reason
    assert bystander.connected and hub.connected, "the reload drops no other client"
    assert secured.broker.process is not None and secured.broker.process.pid == pid  # no restart
    assert secured.audit[-1][:2] == ("tester", "device_credential_revoked")
    assert not Registry(StateDB(secured.data_dir / "state.sqlite")).devices().get(device), "the hub ignores it"
    # issuing again re-admits the device with a new password
    fresh = secured.identities.issue(device, "tester").password
    back = Peer(secured.broker.port, device, fresh)
    assert back.accepted
    for peer in (live, bystander, hub, again, back):
        peer.close()


def test_reserved_ids_are_never_devices(secured: Secured) -> None:
    with pytest.raises(IdentityError, match="reserved"):
        secured.identities.issue("hub", "tester")
    with pytest.raises(IdentityError, match="reserved"):
        secured.identities.issue("HUB", "tester")
    registry = secured.identities.registry
    responders = ResponderRegistry(registry.db)
    community = build_community(3, 1, seed=7)
    responder = demo_responders(community)[0]
    responders.add(responder, replace=True)
    registry.reserved_ids.append(lambda: [r.responder_id for r in responders.all(active_only=False)])
    device = next(d for d in community.devices if d.family == "wearable")
    clash = dataclasses.replace(device, device_id=responder.responder_id)
    with pytest.raises(RegistryError, match="reserved"):
        registry.add_device(clash)
    with pytest.raises(IdentityError, match="reserved"):
        secured.identities.issue(responder.responder_id, "tester")


def test_admin_api_issues_and_revokes_and_the_cli_lists(secured: Secured, tmp_path: Path) -> None:
    """The running hub (`hub run` as a process) with the broker's files and pid file: admins over the API."""
    url = f"mqtt://{HUB_USER}:{secured.ids.hub_password}@127.0.0.1:{secured.broker.port}"
    hub = HubProcess(secured.data_dir, url, allow_anonymous=False,
                     env={"HUB_BROKER__PID_FILE": str(secured.broker.pid_file)}).start()
    try:
        device = _wearable(secured)
        issued = hub.post(f"/api/devices/{device}/credentials")
        assert issued["broker_reloaded"] and issued["username"] == device and len(issued["password"]) >= 20
        dev = Peer(secured.broker.port, device, issued["password"])
        assert dev.accepted
        listed = {c["device_id"]: c for c in hub.get("/api/devices/credentials")}
        assert listed[device]["revoked"] is False
        assert all("password" not in c and "pw_hash" not in c for c in listed.values())
        assert "hub" not in listed
        revoked = hub.post(f"/api/devices/{device}/revoke")
        assert revoked == {"device_id": device, "revoked": True, "broker_reloaded": True}
        assert wait_for(lambda: dev.disconnected_at is not None, 3.0)
        assert Peer(secured.broker.port, device, issued["password"]).accepted is False
        refused = httpx.post(f"{hub.url}/api/devices/hub/credentials", cookies=hub.cookies, headers=hub.headers)
        assert refused.status_code == 409
        audit = [(a["actor"], a["action"], a["detail"].get("device_id")) for a in hub.get("/api/audit")]
        assert ("staff:tester", "device_credential_issued", device) in audit
        assert ("staff:tester", "device_credential_revoked", device) in audit
        assert hub.get("/api/stats")["warnings"] == []  # the broker refuses anonymous clients: no warning
        # a zigbee2mqtt bridge over the API (issue 16): its credential, its base topic, an alias bound to it
        bridge = hub.post("/api/devices/z2m-api/credentials?kind=bridge")
        assert bridge["kind"] == "bridge" and bridge["base_topic"] == "zigbee2mqtt/z2m-api"
        assert Peer(secured.broker.port, "z2m-api", bridge["password"]).accepted
        sensor = next(d for d in secured.ids.devices if d.startswith("S"))
        alias = {"source": "zigbee2mqtt", "external_id": "hall", "device_id": sensor, "bridge": "z2m-api"}
        assert hub.post("/api/aliases", alias) == alias
        assert hub.get("/api/aliases") == [alias]
        audit = hub.get("/api/audit")
        assert ("staff:tester", "bridge_credential_issued", "z2m-api") in \
            [(a["actor"], a["action"], a["detail"].get("device_id")) for a in audit]
        page = httpx.get(f"{hub.url}/devices")
        assert page.status_code == 200 and "devices.js" in page.text
        dev.close()
    finally:
        hub.kill()
    out = json.dumps(secured.identities.list())
    assert secured.ids.hub_password not in out and "$7$" not in out


def test_bridges_and_responders_get_their_own_topics_only(secured: Secured) -> None:
    """Issue 16: a zigbee2mqtt bridge reads and writes only below its base topic zigbee2mqtt/<id>; a responder's app
    reads only its offers and writes only its status; a name aliased on bridge A and sent by bridge B is refused."""
    ids, port = secured.identities, secured.broker.port
    db = ids.registry.db
    responders = ResponderRegistry(db)
    community = build_community(3, 1, seed=7)
    responder, other = demo_responders(community)[:2]
    responders.add(responder, replace=True)
    ids.responder_ids = lambda: [r.responder_id for r in responders.all(active_only=False)]
    with pytest.raises(IdentityError, match="not registered"):
        ids.issue("R-NOBODY", "tester", kind="responder")
    with pytest.raises(IdentityError, match="already issued as a device"):
        ids.issue(_wearable(secured), "tester", kind="bridge")
    with pytest.raises(IdentityError, match="reserved name"):
        ids.issue("bridge", "tester", kind="bridge")
    pw = {name: ids.issue(name, "tester", kind="bridge").password for name in ("z2m-a", "z2m-b")}
    pw[responder.responder_id] = ids.issue(responder.responder_id, "tester", kind="responder").password
    with pytest.raises(IdentityError, match="already issued as a bridge"):
        ids.issue("z2m-a", "tester")
    assert secured.audit[-1][:2] == ("tester", "responder_credential_issued")
    sensor = next(d for d in community.devices if d.family == "home_sensor")
    aliases = AliasBook(db)
    aliases.add(Alias("zigbee2mqtt", "kitchen smoke", sensor.device_id, "z2m-a"))

    hub = Peer(port, HUB_USER, secured.ids.hub_password)
    hub.subscribe("zigbee2mqtt/#")
    hub.subscribe("responders/+/status")
    hub.subscribe("eldercare/+/telemetry")
    a, b = Peer(port, "z2m-a", pw["z2m-a"]), Peer(port, "z2m-b", pw["z2m-b"])
    app = Peer(port, responder.responder_id, pw[responder.responder_id])
    assert hub.accepted and a.accepted and b.accepted and app.accepted
    a.subscribe("zigbee2mqtt/#")  # granted, but the broker delivers only what its ACL lets it read
    app.subscribe("responders/#")
    smoke = b'{"smoke":true}'
    assert a.publish("zigbee2mqtt/z2m-a/kitchen smoke", smoke)
    assert b.publish("zigbee2mqtt/z2m-b/kitchen smoke", smoke)  # the name aliased on A, sent by B in its own base
    b.publish("zigbee2mqtt/z2m-a/kitchen smoke", b'{"smoke":"forged"}', wait_s=2)  # into A's base: denied
    b.publish("zigbee2mqtt/kitchen smoke", b'{"smoke":"forged"}', wait_s=2)  # outside any base: denied
    assert hub.publish(f"responders/{responder.responder_id}/offer", b"mine")
    assert hub.publish(f"responders/{other.responder_id}/offer", b"not mine")
    assert app.publish(f"responders/{responder.responder_id}/status", b"accepted")
    app.publish(f"responders/{other.responder_id}/status", b"forged", wait_s=2)
    assert wait_for(lambda: len([t for t, _ in hub.got if t.startswith("zigbee2mqtt/")]) >= 2)
    time.sleep(0.3)
    z2m = [(t, p) for t, p in hub.got if t.startswith("zigbee2mqtt/")]
    assert z2m == [("zigbee2mqtt/z2m-a/kitchen smoke", smoke), ("zigbee2mqtt/z2m-b/kitchen smoke", smoke)]
    assert [t for t, _ in a.got] == ["zigbee2mqtt/z2m-a/kitchen smoke"]  # A does not read B's base topic
    assert app.got == [(f"responders/{responder.responder_id}/offer", b"mine")]
    assert [p for t, p in hub.got if t.startswith("responders/")] == [b"accepted"]
    # what the broker let through, through the hub's decoder: only A's name on A reaches the sensor
    decoder = Decoder(max_payload_bytes=64 * 1024, max_future_s=300, aliases=aliases)
    outcomes = [decoder.decode(t, p, ids.registry.devices(), time.time()) for t, p in z2m]
    assert isinstance(outcomes[0], Reading) and outcomes[0].device_id == sensor.device_id
    assert isinstance(outcomes[1], Rejection) and outcomes[1].reason == "unknown_device"
    # an OwnTracks user's phones publish only below owntracks/<user>/
    granny = ids.issue("granny", "tester", kind="owntracks")
    assert granny.provisioning()["base_topic"] == "owntracks/granny"
    hub.subscribe("owntracks/#")
    phone = Peer(port, "granny", granny.password)
    assert phone.accepted and phone.publish("owntracks/granny/pixel", b"fix")
    phone.publish("owntracks/grandpa/pixel", b"forged fix", wait_s=2)
    assert wait_for(lambda: ("owntracks/granny/pixel", b"fix") in hub.got)
    time.sleep(0.3)
    assert [t for t, _ in hub.got if t.startswith("owntracks/")] == ["owntracks/granny/pixel"]
    phone.close()
    # revoking a bridge cuts it and refuses it; the other bridge stays
    assert ids.revoke("z2m-a", "tester")
    assert secured.audit[-1][:2] == ("tester", "bridge_credential_revoked")
    assert wait_for(lambda: a.disconnected_at is not None, 3.0)
    again, still = Peer(port, "z2m-a", pw["z2m-a"]), Peer(port, "z2m-b", pw["z2m-b"])
    assert again.accepted is False and still.accepted
    still.publish("eldercare/z2m-b/telemetry", b"a bridge posing as a device", wait_s=2)  # no device topics
    time.sleep(0.3)
    assert not [t for t, _ in hub.got if t.startswith("eldercare/")]
    assert {c["device_id"]: c["kind"] for c in ids.list()}["z2m-a"] == "bridge"
    assert ids.revoke(responder.responder_id, "tester")  # a responder's app too
    assert secured.audit[-1][:2] == ("tester", "responder_credential_revoked")
    assert Peer(port, responder.responder_id, pw[responder.responder_id]).accepted is False
    for peer in (hub, a, b, app, again, still):
        peer.close()
