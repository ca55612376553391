"""``podium whoami`` on the embedded store and ``podium`` shell completion."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path



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
