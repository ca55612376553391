"""The pipeline of ``docs/deploy.md`` ("register → stage → test → promote → deploy"), run as written.

Every ``bash`` block marked ``<!-- pipeline:JOB -->`` in docs/deploy.md is one CI job; this test
runs them in document order, each in a fresh ``bash`` in one working directory (the jobs' shared
files are the CI artifacts), with the environment a CI system would give that job: the registry's
URL, the token of the account the job runs as (:data:`TOKEN_OF`), and the scorers' URLs. Around the
jobs it plays the rest of the world (:data:`BEFORE`, :data:`AFTER`): it starts the Production
scorer once version 1 is live and keeps it under continuous load to the end, starts the Staging
scorer once a version is staged, and checks after each job what the registry and the scorers say.
At the end: no request to the Production scorer failed, during the promotion or the rollback.

A job added to the doc (e.g. a webhook step) runs here too, with the CI's token unless
:data:`TOKEN_OF` names another account; give it checks in :data:`AFTER`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("sklearn")

from podium.client import PodiumClient  # noqa: E402
from tests.auth_server import start_auth_server  # noqa: E402
from tests.harness import server_env  # noqa: E402
from tests.serving.helpers import start_podium_scorer  # noqa: E402

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
NAME = "fraud-detector"
USERS = {"admin": True, "ci": False, "reviewer": False, "scorer": False}
#: the account each job runs as (any other job: the CI's)
TOKEN_OF = {"setup": "admin", "webhook": "admin", "approve": "reviewer", "rollback": "admin"}
#: the jobs in the order the doc gives them
EXPECTED_JOBS = ["train", "setup", "webhook", "stage", "test", "promote", "approve", "deploy", "rollback"]
#: the secret the Production scorer verifies the registry's webhook deliveries with
SCORER_WEBHOOK_SECRET = "pipeline-scorer-secret"


def pipeline_jobs() -> list[tuple[str, str]]:
    text = DOC.read_text()
    jobs = re.findall(r"<!-- pipeline:([\w-]+) -->\s*```bash\n(.*?)```", text, re.S)
    assert jobs, "docs/deploy.md has no <!-- pipeline:JOB --> blocks"
    return jobs


class Load:
    """Requests to a scorer back to back from a thread; keeps (status, version header)."""

    def __init__(self, url: str, body: dict) -> None:
        self.url, self.body = url, body
        self.results: list[tuple[int, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            while not self._stop.is_set():
                try:
                    r = http.post("/invocations", json=self.body)
                    self.results.append((r.status_code, r.headers.get("x-podium-model-version")))
                except httpx.HTTPError as exc:
                    self.results.append((0, repr(exc)))

    def wait_for(self, version: int, timeout: float = 30) -> None:
        start, deadline = len(self.results), time.monotonic() + timeout
        while not any(v == str(version) for _, v in self.results[start:]):
            assert time.monotonic() < deadline, f"the Production scorer never answered with v{version}"
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def holdout_rows() -> dict:
    from sklearn.datasets import load_breast_cancer

    return {"inputs": load_breast_cancer().data[:5].tolist()}


def test_the_documented_pipeline_promotes_and_rolls_back_without_a_failed_request(tmp_path):
    jobs = pipeline_jobs()
    assert [name for name, _ in jobs if name in EXPECTED_JOBS] == EXPECTED_JOBS
    tokens = {user: user for user in USERS}
    # the registry may deliver webhooks to the scorers on this host (over http, to 127.0.0.1)
    registry = start_auth_server(tmp_path / "registry", USERS, None, tokens, "edit", "--webhook-allowed-scheme",
                                 "http", "--webhook-allowed-network", "127.0.0.1/32")
    scorers, world = [], {}
    client = PodiumClient(registry.url)  # (reads with the admin's token, set below per call)
    work = tmp_path / "ci"
    work.mkdir()

    def scorer(stage: str, poll: str = "0.2", **env: str):
        running = start_podium_scorer(tmp_path / stage.lower(), f"models:/{NAME}/{stage}", registry.url,
                                      "--poll-interval", poll,
                                      env={"PODIUM_TRACKING_TOKEN": registry.tokens["scorer"], **env})
        scorers.append(running)
        return running

    def version() -> int:
        return int((work / "version.txt").read_text())

    def stage_of(v: int) -> str:
        os.environ["PODIUM_TRACKING_TOKEN"] = registry.tokens["admin"]
        try:
            return client.get_model_version(NAME, v).current_stage
        finally:
            del os.environ["PODIUM_TRACKING_TOKEN"]

    def after_setup() -> None:
        assert stage_of(1) == "Production"
        # polls once an hour: within this test, only the registry's webhook can make it swap
        world["production"] = scorer("Production", "3600", PODIUM_SERVE_WEBHOOK_SECRET=SCORER_WEBHOOK_SECRET)
        world["load"] = Load(world["production"].url, holdout_rows())
        world["load"].wait_for(1)

    def before_stage() -> None:  # the next training run: version 2
        run("train", dict(jobs)["train"])
        assert version() == 2

    def after_stage() -> None:
        assert stage_of(2) == "Staging"
        world["staging"] = scorer("Staging")  # a long-running Deployment, started once the stage has a version

    def after_approve() -> None:
        assert (stage_of(2), stage_of(1)) == ("Production", "Archived")

    def after_deploy() -> None:
        world["load"].wait_for(2)

    def after_rollback() -> None:
        assert (stage_of(1), stage_of(2)) == ("Production", "Archived")
        world["load"].wait_for(1)

    before = {"stage": before_stage}
    after = {"setup": after_setup, "stage": after_stage, "approve": after_approve, "deploy": after_deploy,
             "rollback": after_rollback}
    outputs: dict[str, str] = {}

    def run(name: str, script: str) -> None:
        env = server_env({
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PODIUM_TRACKING_URI": registry.url,
            "PODIUM_TRACKING_TOKEN": registry.tokens[TOKEN_OF.get(name, "ci")],
            "STAGING_URL": world["staging"].url if "staging" in world else "http://127.0.0.1:9",
            "PRODUCTION_URL": world["production"].url if "production" in world else "http://127.0.0.1:9",
            "SCORER_WEBHOOK_SECRET": SCORER_WEBHOOK_SECRET,
            "COLUMNS": "160",
        })
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env, capture_output=True,
                              text=True, timeout=300)
        outputs[name] = done.stdout + done.stderr
        assert done.returncode == 0, f"job {name} failed:\n{outputs[name][-4000:]}"

    try:
        for name, script in jobs:
            if name in before:
                before[name]()
            run(name, script)
            if name in after:
                after[name]()
        load = world["load"]
        load.stop()
        failed = [r for r in load.results if r[0] != 200]
        assert not failed, f"{len(failed)} of {len(load.results)} requests failed at the Production scorer: {failed[:3]}"
        served = [v for _, v in load.results]
        assert {"1", "2"} <= set(served) and served[-1] == "1"
        assert re.search(r"Staging scorer, version 2: accuracy 0\.9\d\d", outputs["test"])
        assert "request 1 waits for a reviewer" in outputs["promote"]
        assert "registered fraud-detector version 2" in outputs["train"]  # (the second training run)

        def history():
            os.environ["PODIUM_TRACKING_TOKEN"] = registry.tokens["admin"]
            try:
                return list(client.get_model_history(NAME, max_results=1000))
            finally:
                del os.environ["PODIUM_TRACKING_TOKEN"]

        def swaps_of(events):
            return [(e.version, e.target) for e in events if e.action == "serving.swapped"]

        # the scorer records a swap after it starts serving the new version (serving first, the
        # history best effort): the swap back to version 1 may reach the registry a moment after the
        # load saw version 1 answer
        deadline = time.monotonic() + 30
        events = history()
        while swaps_of(events).count((1, "Production")) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
            events = history()
        actors = {(e.action, e.actor) for e in events}
        assert {("version_created", "ci"), ("request_created", "ci"), ("request_approved", "reviewer"),
                ("rollback", "admin")} <= actors
        swaps = swaps_of(events)
        assert (2, "Production") in swaps and (1, "Production") in swaps  # the Staging scorer started on v2
        assert all(e.actor == "scorer" for e in events if e.action.startswith("serving."))
        rollback = next(e for e in events if e.action == "rollback")
        assert rollback.comment == "alerts on the new version" and rollback.after.get("break_glass") is True
        # the scorer swapped (it polls once an hour) because the registry's signed deliveries reached it
        admin = {"Authorization": f"Bearer {registry.tokens['admin']}"}
        hooks = httpx.get(f"{registry.url}/api/2.0/mlflow/webhooks", headers=admin).json()["webhooks"]
        assert [h["name"] for h in hooks] == ["production-scorer"]
        log = httpx.get(f"{registry.url}/api/podium/v1/webhooks/{hooks[0]['webhook_id']}/deliveries",
                        headers=admin).json()["deliveries"]
        assert log and all(d["status"] == "succeeded" and d["response_status"] == 200 for d in log), log
        assert {d["event"] for d in log} == {"model_version_stage.transitioned", "registered_model.rolled_back"}, log
    finally:
        if "load" in world:
            world["load"].stop()
        for running in scorers:
            running.stop()
        registry.stop()
