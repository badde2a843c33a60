"""The `hub` command as a user meets it: help texts, one-line errors, the demo end to end."""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
import websockets

from hub import cli
from hub.broker import free_port

HUB = [sys.executable, "-m", "hub.cli"]


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HUB, *args], capture_output=True, text=True, timeout=timeout)


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.extend(_parsers(child))
    return found


def test_every_option_of_every_command_is_described() -> None:
    parsers = _parsers(cli._parser())
    assert len(parsers) >= 10
    for parser in parsers:
        for action in parser._actions:
            assert action.help, f"{parser.prog}: {action.dest} has no help text"


@pytest.mark.parametrize("command", ["demo", "run", "simulate", "evaluate", "registry"])
def test_help_runs(command: str) -> None:
    out = _run(command, "--help")
    assert out.returncode == 0 and "--help" in out.stdout


def test_top_level_help_lists_commands() -> None:
    out = _run("--help")
    assert out.returncode == 0
    for command in ("demo", "run", "simulate", "registry", "evaluate"):
        assert command in out.stdout


def _one_line_error(out: subprocess.CompletedProcess[str], *words: str) -> None:
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("hub: error:")]
    assert len(errors) == 1, out.stderr
    for word in words:
        assert word in errors[0]


def test_unreachable_broker_is_one_line(tmp_path: Path) -> None:
    out = _run("run", "--mqtt-url", f"mqtt://127.0.0.1:{free_port()}", "--data-dir", str(tmp_path),
               "--http-port", str(free_port()))
    _one_line_error(out, "cannot reach the MQTT broker", "HUB_MQTT__URL")


def test_bad_broker_url_is_one_line(tmp_path: Path) -> None:
    _one_line_error(_run("run", "--mqtt-url", "http://nowhere", "--data-dir", str(tmp_path)), "mqtt://")


def test_busy_ports_are_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        _one_line_error(_run("demo", "--http-port", port, "--data-dir", str(tmp_path / "a"), "--residents", "2"),
                        "--http-port")
        _one_line_error(_run("demo", "--mqtt-port", port, "--data-dir", str(tmp_path / "b"), "--residents", "2"),
                        "--mqtt-port")


async def _first_reading(url: str, timeout_s: float) -> dict[str, object]:
    base = url.replace("ws://", "http://").removesuffix("/ws")
    login = httpx.post(f"{base}/api/login", json={"username": "operator", "password": "operator-demo"}, timeout=10)
    login.raise_for_status()  # the demo's own accounts (issue 5): /ws needs a session
    cookie = "; ".join(f"{k}={v}" for k, v in login.cookies.items())
    async with websockets.connect(url, additional_headers={"Cookie": cookie}) as ws:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), timeout=deadline - time.monotonic()))
            if frame["type"] == "reading":
                return frame
    raise AssertionError("no reading frame")


@pytest.mark.integration
def test_demo_streams_readings_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    started = time.monotonic()
    proc = subprocess.Popen([*HUB, "--log-level", "WARNING", "demo", "--http-port", str(port), "--data-dir",
                             str(tmp_path), "--residents", "30", "--terminals", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner, banner
        frame = asyncio.run(_first_reading(f"ws://127.0.0.1:{port}/ws", 30.0))
        assert time.monotonic() - started < 30.0  # generous: other tests run beside this one (pytest-xdist)
        assert set(frame["data"]) >= {"device_id", "family", "ts", "seq", "values"}
        proc.send_signal(signal.SIGTERM)
        try:
            rest, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            subprocess.run(["py-spy", "dump", "--pid", str(proc.pid)])
            raise
        assert proc.returncode == 0, rest
        assert "stopped cleanly" in rest and "Traceback" not in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
