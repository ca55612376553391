"""The scripted scenario of ``docs/governance.md``, run as written.

The script (the ``bash`` block between the ``scenario:start`` and ``scenario:end`` markers) starts
its own ``podium server --auth``, creates two users and an admin, promotes v1, has alice request v2
and bob approve it through the model's gates, shows the history and the comparison, rolls back and
asks what was serving at both moments. This test runs it in an empty directory with the CLI of this
checkout, on the live-server database of the run (SQLite, or PostgreSQL/MariaDB with
``PODIUM_TEST_SERVER_DB``), then checks what it printed and what the registry recorded.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from podium.client.client import PodiumClient
from tests.databases import server_database_for
from tests.harness import free_port, server_env

DOC = Path(__file__).resolve().parents[2] / "docs" / "governance.md"


def scenario_script() -> str:
    text = DOC.read_text()
    block = re.search(r"<!-- scenario:start -->\s*```bash\n(.*?)```\s*<!-- scenario:end -->", text, re.S)
    assert block, "docs/governance.md has no scenario block between <!-- scenario:start/end --> markers"
    return block.group(1)


@pytest.fixture
def scenario_db(tmp_path):
    url, database = server_database_for(tmp_path, "governance.db")
    yield url
    if database is not None:
        database.drop()


def test_governance_scenario_runs_as_documented(tmp_path, scenario_db):
    env = server_env()
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "PODIUM_BACKEND_STORE_URI": scenario_db,
        "PORT": str(free_port()),
        "COLUMNS": "160",
    })
    done = subprocess.run(["bash", "-c", scenario_script()], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    out = done.stdout + done.stderr
    log = tmp_path / "server.log"
    assert done.returncode == 0, out[-6000:] + (log.read_text()[-3000:] if log.exists() else "")

    # the refusals the scenario shows
    assert "PERMISSION_DENIED" in out and "podium models request fraud-detector 2 --stage Production" in out
    assert "a requester cannot approve their own request" in out
    assert re.search(r"Request \d+ applied", out)
    assert "Rolled back Production of fraud-detector: v2 → v1" in out
    moments = dict(re.findall(r"^(T[12])=(\S+)$", out, re.M))
    assert set(moments) == {"T1", "T2"}

    # what the registry recorded, read from the same database (embedded)
    client = PodiumClient(scenario_db)
    assert [v.version for v in client.search_model_versions("name = 'fraud-detector'")
            if v.current_stage == "Production"] == [1]
    events = list(client.get_model_history("fraud-detector", max_results=1000))
    actor_of = {e.action: e.actor for e in events}
    assert actor_of["request_created"] == "alice"
    assert actor_of["request_approved"] == "bob"
    assert actor_of["rollback"] == "admin"
    promotion = [e for e in events if e.action == "stage_transitioned" and e.version == 2 and e.target == "Production"]
    assert promotion and promotion[0].actor == "bob" and promotion[0].cause == "request"
    rollback = next(e for e in events if e.action == "rollback")
    assert rollback.comment == "false positives on v2"
    assert (rollback.before, rollback.after["version"]) == ({"version": 2}, 1)

    at_t1 = client.get_model_state_at("fraud-detector", moments["T1"])
    at_t2 = client.get_model_state_at("fraud-detector", moments["T2"])
    assert at_t1["stages"]["Production"]["version"] == 1
    assert at_t2["stages"]["Production"]["version"] == 2
