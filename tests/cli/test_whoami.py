"""``podium whoami`` on the embedded store and against real servers, and ``podium`` shell completion."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.auth_server import password_of, start_auth_server
from tests.server.helpers import start_server, stop_server



def test_whoami_on_the_embedded_store_is_the_local_user(podium_cli, db_uri):
    result = podium_cli("whoami")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (f"embedded store {db_uri}, no authentication "
                                     f"(acting as local user {getpass.getuser()})")
    payload = json.loads(podium_cli("whoami", "--json").stdout)
    assert payload["tracking_uri"] == db_uri and payload["user"]["via"] == "local"


def test_bash_completion_script_is_generated_and_completes_commands(tmp_path):
    podium = str(Path(sys.executable).parent / "podium")
    env = {**os.environ, "_PODIUM_COMPLETE": "bash_source"}
    script = subprocess.run([podium], env=env, capture_output=True, text=True, timeout=60)
    assert script.returncode == 0 and "complete -o nosort -F _podium_completion podium" in script.stdout
    # what the script asks podium for when the user types `podium who<TAB>`
    env = {**os.environ, "_PODIUM_COMPLETE": "bash_complete", "COMP_WORDS": "podium who", "COMP_CWORD": "1"}
    answer = subprocess.run([podium], env=env, capture_output=True, text=True, timeout=60)
    assert "plain,whoami" in answer.stdout.splitlines()


def _whoami(url: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
    return subprocess.run([str(Path(sys.executable).parent / "podium"), "--tracking-uri", url, "whoami"],
                          env={**clean, **env}, capture_output=True, text=True, timeout=60)


def test_whoami_against_an_auth_server_is_the_user_the_credentials_prove(tmp_path):
    server = start_auth_server(tmp_path / "auth", {"admin": True, "alice": False}, groups={"ml-leads": ["alice"]},
                               tokens={"laptop": "alice"})
    try:
        by_token = _whoami(server.url, PODIUM_TRACKING_TOKEN=server.tokens["laptop"])
        assert by_token.stdout.strip() == f"alice on {server.url} (authenticated by token, groups: ml-leads)"
        by_password = _whoami(server.url, MLFLOW_TRACKING_USERNAME="admin", MLFLOW_TRACKING_PASSWORD=password_of("admin"))
        assert by_password.stdout.strip() == f"admin on {server.url} (authenticated by password, admin)"
        nobody = _whoami(server.url)
        assert nobody.returncode == 1 and nobody.stderr.startswith("Error: UNAUTHENTICATED: ")
    finally:
        server.stop()


def test_whoami_against_a_server_without_auth_is_anonymous(tmp_path):
    server = start_server(tmp_path / "open")
    try:
        done = _whoami(server.url)
        assert done.stdout.strip() == f"anonymous: the server at {server.url} runs without authentication (--auth off)"
    finally:
        stop_server(server)
