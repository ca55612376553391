"""The CLI against a server that is not there or never answers: real sockets, real processes.

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
def silent_port():
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
    return {**env, **extra}


def test_ctrl_c_exits_130_with_one_line(tmp_path, silent_port):
    process = subprocess.Popen([PODIUM, "--tracking-uri", f"http://127.0.0.1:{silent_port}", "models", "list"],
                               cwd=tmp_path, env=_env(PODIUM_HTTP_TIMEOUT="60"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(2)  # inside the request, waiting for an answer
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert err.strip() == "Interrupted." and "Traceback" not in err
