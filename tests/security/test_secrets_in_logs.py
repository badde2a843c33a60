"""No secret in any log line or error (issue 16): the hub as a process with recognisable secrets in its broker and
InfluxDB URLs, both made to fail, every line of its output and every answer of its API searched for them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
from hubproc import HubProcess
from mqtt_peer import Peer
from sos import register

from devices.credentials import HUB_USER, Credentials
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from hub.broker import Mosquitto, auth_config, free_port

pytestmark = pytest.mark.integration
MQTT_SECRET = "mqttPW-S3CRET-7f3a"
WRONG_SECRET = "wrongPW-S3CRET-0b1c"
INFLUX_USER = "influxUSER-S3CRET-5d"
INFLUX_SECRET = "influxPW-S3CRET-9e2f"
SECRETS = (MQTT_SECRET, WRONG_SECRET, INFLUX_USER, INFLUX_SECRET)
DEVICE = "SECRET-TEST-W1"


def _influx_env() -> dict[str, str]:
    refused = f"http://{INFLUX_USER}:{INFLUX_SECRET}@127.0.0.1:{free_port()}"  # nothing listens: refused
    return {"HUB_STORE__BACKEND": "influxdb", "HUB_STORE__INFLUX_URL": refused}


def _hub_once(data_dir: Path, mqtt_url: str) -> str:
    """`hub run` expected to fail at start: everything it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | _influx_env()
    done = subprocess.run([sys.executable, "-m", "hub.cli", "--log-level", "DEBUG", "run", "--mqtt-url", mqtt_url,
                           "--data-dir", str(data_dir), "--http-port", str(free_port())],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    return done.stdout + done.stderr


def _leaks(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(s in line for s in SECRETS)]


def test_no_secret_in_any_log_line_or_error_response(tmp_path: Path) -> None:
    data_dir = tmp_path / "hub"
    data_dir.mkdir()
    db = StateDB(data_dir / "state.sqlite")
    creds = Credentials(db)
    creds.issue(HUB_USER, MQTT_SECRET)
    register(Registry(db), [DEVICE])
    device_password = creds.issue(DEVICE)
    files = creds.write_broker_files(data_dir / "broker-auth")
    db.close()
    broker = Mosquitto(tmp_path / "mosquitto", extra_config=auth_config(*files)).start()
    outputs: list[str] = []
    try:
        # 1. the broker's port is wrong (refused), InfluxDB refused: the hub stops with one line
        outputs.append(_hub_once(data_dir, f"mqtt://{HUB_USER}:{MQTT_SECRET}@127.0.0.1:{free_port()}"))
        assert "cannot reach the MQTT broker at mqtt://***@127.0.0.1" in outputs[-1]
        # 2. the broker refuses the password
        outputs.append(_hub_once(data_dir, f"mqtt://{HUB_USER}:{WRONG_SECRET}@127.0.0.1:{broker.port}"))
        assert "did not accept the hub" in outputs[-1]
        # 3. a malformed URL with a secret in it
        outputs.append(_hub_once(data_dir, f"ftp://{HUB_USER}:{MQTT_SECRET}@127.0.0.1:1"))
        # 4. the hub runs (right password) while InfluxDB refuses every write and query; then the broker goes away
        hub = HubProcess(data_dir, f"mqtt://{HUB_USER}:{MQTT_SECRET}@127.0.0.1:{broker.port}", allow_anonymous=False,
                         env=_influx_env(), log_level="DEBUG").start()
        try:
            device = Peer(broker.port, DEVICE, device_password)
            assert device.accepted
            reading = {"ts": time.time(), "seq": 1, "heart_rate": 74, "spo2": 97.5, "battery": 88}
            device.publish(f"eldercare/{DEVICE}/telemetry", orjson.dumps(reading))
            device.close()
            answers = []
            deadline = time.monotonic() + 20
            while "InfluxDB" not in hub.log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            for path in ("/health", "/api/stats", "/api/readings/latest", f"/api/devices/{DEVICE}/readings",
                         "/metrics", "/api/devices/credentials", "/api/dead-letters"):
                response = httpx.get(f"{hub.url}{path}", cookies=hub.cookies, timeout=10)
                answers.append(f"{path} {response.status_code} {response.text}")
            broker.stop()  # the broker fails under the running hub: it logs the disconnect and its retries
            time.sleep(3)
            answers.append(httpx.get(f"{hub.url}/health", timeout=10).text)
        finally:
            hub.kill()
        outputs.append(hub.log.read_text())
        outputs.extend(answers)
    finally:
        broker.stop()
    everything = "\n".join(outputs)
    assert not _leaks(everything), f"secrets leaked: {_leaks(everything)[:5]}"
    # not vacuous: the failures were logged and answered, with the URLs redacted
    assert "InfluxDB" in outputs[3] and "http://***@127.0.0.1" in outputs[3], outputs[3][-3000:]
    assert "connected to mqtt://***@127.0.0.1" in outputs[3]
    assert "disconnected from broker" in outputs[3]
    assert any(" 500 " in a or " 503 " in a or "InfluxDB" in a for a in answers), answers
