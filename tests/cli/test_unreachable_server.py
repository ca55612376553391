"""The CLI against a server that is not there or never answers, and ``podium server`` on a port
that is taken: real sockets, real processes.

A closed port refuses at once; a socket that listens but is never accepted from takes the
connection (the kernel completes the handshake) and never answers, as a hung server does.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

PODIUM = str(Path(sys.executable).parent / "podium")


@pytest.fixture
def silent_listener():
    """A listening socket that never answers (the kernel completes the handshakes)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener


@pytest.fixture
def silent_port(silent_listener):
    """A port that accepts connections and never answers."""
    return silent_listener.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
    return {**env, **extra}


def test_ctrl_c_exits_130_with_one_line(tmp_path, silent_listener):
    port = silent_listener.getsockname()[1]
    # Ctrl-C as a terminal delivers it: the tests may run with SIGINT ignored (a background job of a
    # non-interactive shell ignores it, and pytest-xdist's workers pass that on), which the CLI would inherit
    process = subprocess.Popen([PODIUM, "--tracking-uri", f"http://127.0.0.1:{port}", "models", "list"],
                               cwd=tmp_path, env=_env(PODIUM_HTTP_TIMEOUT="60"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # inside the request, waiting for an answer: its connection arrived (a fixed sleep was too short
    # on a loaded CI machine, where starting the CLI alone can take seconds)
    silent_listener.settimeout(60)
    connection, _ = silent_listener.accept()
    time.sleep(0.5)  # the request is written; the client waits for the answer
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    connection.close()
    assert process.returncode == 130, err
    assert err.strip() == "Interrupted." and "Traceback" not in err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _podium(tmp_path, uri: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([PODIUM, "--tracking-uri", uri, "models", "list"], cwd=tmp_path, env=_env(**env),
                          capture_output=True, text=True, timeout=120)


def test_closed_port_retries_twice_on_stderr_then_one_error_with_url_and_time(tmp_path):
    uri = f"http://127.0.0.1:{_closed_port()}"
    done = _podium(tmp_path, uri)
    lines = done.stderr.splitlines()
    assert done.returncode == 1 and done.stdout == ""
    assert [line.rsplit("; ", 1)[-1] for line in lines[:-1]] == ["retrying (1/2)…", "retrying (2/2)…"]
    assert lines[-1].startswith(f"Error: TEMPORARILY_UNAVAILABLE: Cannot reach {uri} (GET /api/2.0/mlflow/")
    assert "connection refused; gave up after 3 attempts in " in lines[-1] and lines[-1].endswith(" s.")


def test_a_server_that_never_answers_times_out_after_podium_http_timeout(tmp_path, silent_port):
    done = _podium(tmp_path, f"http://127.0.0.1:{silent_port}", PODIUM_HTTP_TIMEOUT="0.5",
                   PODIUM_HTTP_MAX_RETRIES="1")
    lines = done.stderr.splitlines()
    assert done.returncode == 1 and len(lines) == 2, done.stderr
    assert lines[0].endswith("no answer within 0.5 s; retrying (1/1)…")
    assert "no answer within 0.5 s; gave up after 2 attempts in " in lines[1]
    assert lines[1].endswith("(PODIUM_HTTP_TIMEOUT sets how long to wait).")


def test_the_library_logs_retries_instead_of_printing_them(tmp_path):
    code = ("from podium.client.http import HttpSession\n"
            f"s = HttpSession('http://127.0.0.1:{_closed_port()}', max_retries=1)\n"
            "try:\n    s.call('GET', 'registered-models/search')\n"
            "except Exception as e:\n    print(type(e).__name__)\n")
    done = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "TemporarilyUnavailable" and done.stderr == ""


def test_server_on_a_port_in_use_says_so_in_one_line_before_its_banner(tmp_path, silent_port):
    done = subprocess.run([PODIUM, "server", "--port", str(silent_port)], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (f"Error: Cannot listen on 127.0.0.1:{silent_port}: address already in use (another "
                           "server is listening there: stop it, or choose another --port).\n")
    assert not (tmp_path / "podium-data").exists()  # nothing was created
