"""``podium server`` as a process: settings precedence, access logs, workers, graceful shutdown."""

from __future__ import annotations

import json
import signal
import subprocess

import httpx
from click.testing import CliRunner

from podium.server.settings import SETTINGS, ServerSettings, default_workers

from .helpers import A2, ART, ok, start_server, stop_server


def test_settings_precedence_flag_then_env_then_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"PODIUM_PORT": "6001", "PODIUM_ACCESS_LOG": "false", "PODIUM_LOG_FORMAT": "json"}
    settings = ServerSettings.from_env(env, port=7000, workers=None)
    assert settings.port == 7000 and settings.access_log is False and settings.log_format == "json"
    assert settings.workers == default_workers() and settings.host == "127.0.0.1"
    assert settings.backend_store_uri == f"sqlite:///{(tmp_path / 'podium-data' / 'podium.db').as_posix()}"
    assert settings.artifacts_destination == str(tmp_path / "podium-data" / "artifacts")
    assert ServerSettings.from_env(settings.to_env()) == settings
    assert {s.field for s in SETTINGS} == set(ServerSettings.__dataclass_fields__)


def test_cli_flags_reach_the_runner(monkeypatch):
    import podium.server.runner as runner
    from podium.cli.server import server

    seen = {}
    monkeypatch.setattr(runner, "serve", lambda settings: seen.update(settings=settings))
    result = CliRunner().invoke(server, ["--port", "6123", "--no-access-log", "--workers", "3", "--log-format", "json"],
                                env={"PODIUM_HOST": "0.0.0.0"})
    assert result.exit_code == 0, result.output
    s = seen["settings"]
    assert (s.port, s.access_log, s.workers, s.log_format, s.host) == (6123, False, 3, "json", "0.0.0.0")


def test_json_access_log_and_graceful_sigterm(tmp_path):
    server = start_server(tmp_path, "--log-format", "json")
    ok(httpx.post(f"{server.url}{A2}/registered-models/create", json={"name": "logged"}))
    httpx.get(f"{server.url}{A2}/registered-models/get", params={"name": "nope"})
    assert stop_server(server) == 0
    records = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    access = [r for r in records if r["logger"] == "podium.access"]
    assert {(r["method"], r["path"], r["status"]) for r in access} >= {
        ("POST", f"{A2}/registered-models/create", 200), ("GET", f"{A2}/registered-models/get", 404)}
    assert all(isinstance(r["duration_ms"], float) for r in access)


def test_no_access_log(tmp_path):
    server = start_server(tmp_path, "--no-access-log")
    ok(httpx.get(f"{server.url}/api/3.0/mlflow/server-info"))
    stop_server(server)
    assert "server-info" not in server.log()


def test_sigterm_lets_an_in_flight_upload_finish(tmp_path):
    server = start_server(tmp_path)
    _, port = server.url.rsplit(":", 1)
    import socket

    payload = b"y" * (1 << 20)
    with socket.create_connection(("127.0.0.1", int(port))) as sock:
        sock.sendall(f"PUT {ART}/late/file.bin HTTP/1.1\r\nHost: x\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
                     + payload[:1000])
        import time

        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        sock.sendall(payload[1000:])
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    assert server.process.wait(timeout=15) == 0
    assert (server.artifacts / "late" / "file.bin").stat().st_size == len(payload)


def test_accepted_connections_get_tcp_nodelay():
    import socket

    from podium.server.runner import _set_nodelay, uvicorn_options

    class Transport:
        def __init__(self, sock):
            self.sock = sock

        def get_extra_info(self, name):
            return self.sock if name == "socket" else None

    with socket.create_server(("127.0.0.1", 0)) as listener:
        with socket.create_connection(listener.getsockname()) as client:
            accepted, _ = listener.accept()
            with accepted:
                accepted.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
                _set_nodelay(Transport(accepted))
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    protocol = uvicorn_options(ServerSettings())["http"]
    assert protocol.connection_made.__qualname__.startswith("NoDelay")


def test_two_workers_share_one_migrated_database(tmp_path):
    server = start_server(tmp_path, "--workers", "2")
    try:
        import statistics
        import time

        with httpx.Client(base_url=server.url) as keep_alive:  # one connection: no delayed-ACK stalls
            ok(keep_alive.post(f"{A2}/registered-models/create", json={"name": "latency"}))
            timings = []
            for i in range(15):
                start = time.perf_counter()
                ok(keep_alive.post(f"{A2}/registered-models/set-tag", json={"name": "latency", "key": "k", "value": str(i)}))
                timings.append(time.perf_counter() - start)
        assert statistics.median(timings) < 0.030, timings
        names = [f"w-{i}" for i in range(20)]
        with httpx.Client(base_url=server.url) as client:  # new connections spread over the workers
            for name in names:
                ok(httpx.post(f"{server.url}{A2}/registered-models/create", json={"name": name}))
            found = ok(client.get(f"{A2}/registered-models/search", params={"filter": "name LIKE 'w-%'"}))
        assert sorted(m["name"] for m in found["registered_models"]) == sorted(names)
        children = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) >= 2
    finally:
        assert stop_server(server) == 0
