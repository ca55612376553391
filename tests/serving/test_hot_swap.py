"""Hot-swap: ``podium serve models:/NAME@champion`` follows the alias under load.

A real ``podium server`` holds the registry; a real ``podium serve`` process follows ``@champion``
(polling every 0.2 s) while a client thread sends requests without pause. Versions 1, 2 and 3 are
constant models (they predict 1.0, 2.0, 3.0), so every answer says by itself which version
computed it, and it must agree with the ``X-Podium-Model-Version`` header.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

pytest.importorskip("sklearn")

import podium  # noqa: E402
import podium.sklearn  # noqa: E402
from podium.client import PodiumClient  # noqa: E402
from podium.serving.follower import ModelFollower  # noqa: E402
from tests.server.helpers import start_server, stop_server  # noqa: E402

from .helpers import start_podium_scorer  # noqa: E402

NAME = "constant"
ROWS = {"dataframe_records": [{"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 4.0}]}


def _log_constant(tracking_uri: str, value: float) -> str:
    """Register a new version of NAME that predicts ``value`` for every row; its version number."""
    from sklearn.dummy import DummyRegressor

    podium.set_tracking_uri(tracking_uri)  # (each test starts with Podium's state reset)
    x = pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 0.0]})
    with podium.start_run():
        info = podium.sklearn.log_model(DummyRegressor(strategy="constant", constant=value).fit(x, [value, value]),
                                        name="model", input_example=x, registered_model_name=NAME)
    return str(info.registered_model_version)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A podium server with versions 1 (predicts 1.0) and 2 (2.0) of NAME; ``@champion`` on 1."""
    server = start_server(tmp_path_factory.mktemp("serving-registry"))
    assert [_log_constant(server.url, 1.0), _log_constant(server.url, 2.0)] == ["1", "2"]
    client = PodiumClient(server.url)
    client.set_registered_model_alias(NAME, "champion", "1")
    yield server, client
    stop_server(server)


@pytest.fixture(scope="module")
def scorer(registry, tmp_path_factory):
    server, _ = registry
    running = start_podium_scorer(tmp_path_factory.mktemp("scorer"), f"models:/{NAME}@champion", server.url,
                                  "--poll-interval", "0.2")
    yield running
    running.stop()


class Hammer:
    """A thread posting ROWS to /invocations back to back; keeps (status, version header, body)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.results: list[tuple[int, str | None, object]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            while not self._stop.is_set():
                try:
                    r = http.post("/invocations", json=ROWS)
                    self.results.append((r.status_code, r.headers.get("x-podium-model-version"), r.json()))
                except Exception as exc:  # a refused connection or a broken answer: a failed request
                    self.results.append((0, None, repr(exc)))

    def __enter__(self) -> Hammer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def wait_for_version(self, version: str, timeout: float = 30.0) -> None:
        """Until a response newer than now carries ``version`` (a deadline, not a clock)."""
        start = len(self.results)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(v == version for _, v, _ in self.results[start:]):
                return
            time.sleep(0.05)
        raise AssertionError(f"no response from version {version} within {timeout}s; last: {self.results[-3:]}")

    def assert_all_answered_by(self, versions: set[str]) -> None:
        failed = [r for r in self.results if r[0] != 200]
        assert not failed, f"{len(failed)} failed requests of {len(self.results)}: {failed[:3]}"
        for _, version, body in self.results:
            assert version in versions
            assert body == {"predictions": [float(version)] * 2}, (version, body)  # no mix of versions


def test_promotion_and_rollback_reach_traffic_without_a_failed_request(registry, scorer):
    _, client = registry
    with Hammer(scorer.url) as hammer:
        hammer.wait_for_version("1")
        client.set_registered_model_alias(NAME, "champion", "2")  # promotion
        hammer.wait_for_version("2")
        client.rollback_model(NAME, alias="champion", reason="v2 misbehaves")  # back to 1
        hammer.wait_for_version("1")
    hammer.assert_all_answered_by({"1", "2"})
    seen = [v for _, v, _ in hammer.results]
    first_2, last_2 = seen.index("2"), len(seen) - 1 - seen[::-1].index("2")
    assert set(seen[:first_2]) == {"1"} and set(seen[last_2 + 1:]) == {"1"}
    health = httpx.get(f"{scorer.url}/health").json()
    assert (health["version"], health["follows"], health["last_swap_error"]) == (1, True, None)
    swaps = [e for e in client.get_model_history(NAME, newest_first=True) if e.action == "serving.swapped"][:2]
    assert [(e.version, e.before, e.after["serving"], e.target) for e in swaps] == [
        (1, {"serving": 2}, 1, "champion"), (2, {"serving": 1}, 2, "champion")]
    assert swaps[0].after["scorer"].startswith(f"127.0.0.1:{scorer.url.rsplit(':', 1)[1]} pid ")


def test_a_tampered_version_is_never_served(registry, scorer):
    server, client = registry
    assert _log_constant(server.url, 3.0) == "3"
    _tamper(server, client, "3")
    with Hammer(scorer.url) as hammer:
        hammer.wait_for_version("1")
        client.set_registered_model_alias(NAME, "champion", "3")
        deadline = time.monotonic() + 30
        while (httpx.get(f"{scorer.url}/health").json()["last_swap_error"] or {}).get("version") != 3:
            assert time.monotonic() < deadline, "the failed swap never showed in /health"
            time.sleep(0.05)
        hammer.wait_for_version("1")  # still serving the old version after the refusal
    hammer.assert_all_answered_by({"1"})
    health = httpx.get(f"{scorer.url}/health")
    assert health.status_code == 200 and health.headers["x-podium-model-version"] == "1"
    error = health.json()["last_swap_error"]
    assert "requirements.txt" in error["error"] and "manifest" in error["error"], error
    assert "Not serving constant version 3" in scorer.log()
    refusals = [e for e in client.get_model_history(NAME, version="3") if e.action == "serving.swap_failed"]
    assert len(refusals) == 1, refusals  # once, however often it is retried
    assert refusals[0].after["serving"] == 1 and "manifest" in refusals[0].comment
    client.set_registered_model_alias(NAME, "champion", "1")  # leave the registry as the next test expects


@contextlib.contextmanager
def following(model_uri: str, tracking_uri: str):
    """A started :class:`ModelFollower` whose thread never polls (the test calls ``check()``)."""
    follower = ModelFollower(model_uri, tracking_uri, poll_interval=3600)
    follower.start()
    try:
        yield follower
    finally:
        follower.stop()


def _tamper(server, client, version: str) -> tuple:
    """Append a line to the registered files of ``version`` (loads fine; only its hash differs);
    returns ``(path, original text)``."""
    model_id = client.get_model_version(NAME, version).source.removeprefix("models:/")
    found = [p for p in server.artifacts.rglob("requirements.txt") if model_id in p.parts]
    assert len(found) == 1, found
    original = found[0].read_text()
    found[0].write_text(original + "evil-package==6.6.6\n")
    return found[0], original


def test_a_failed_version_is_tried_again_later_and_old_files_are_removed(registry, monkeypatch):
    server, client = registry
    version = _log_constant(server.url, 4.0)
    path, original = _tamper(server, client, version)
    client.set_registered_model_alias(NAME, "canary", "1")
    with following(f"models:/{NAME}@canary", server.url) as follower:
        client.set_registered_model_alias(NAME, "canary", version)
        assert follower.check() is False and follower.last_swap_error["version"] == int(version)
        path.write_text(original)  # repaired
        assert follower.check() is False  # not tried again yet
        monkeypatch.setattr("podium.serving.follower.RETRY_FAILED_AFTER", 0.0)
        assert follower.check() is True
        assert (follower.current.version, follower.last_swap_error) == (int(version), None)
        client.set_registered_model_alias(NAME, "canary", "2")
        assert follower.check() is True
        kept = sorted(p.name.split("-")[0] for p in Path(follower.current.model_dir).parent.iterdir())
        assert kept == ["v2", f"v{version}"]  # the served one and the one just swapped out; v1 removed


def test_a_stage_uri_follows_transitions(registry):
    """``models:/NAME/Production``: ``check()`` swaps when another version enters the stage."""
    server, client = registry
    client.transition_model_version_stage(NAME, "1", "Production")
    with following(f"models:/{NAME}/Production", server.url) as follower:
        assert follower.current.version == 1 and follower.follows
        assert follower.check() is False  # nothing moved
        client.transition_model_version_stage(NAME, "2", "Production", archive_existing_versions=True)
        assert follower.check() is True
        assert follower.current.version == 2
        assert follower.current.model.predict(pd.DataFrame(ROWS["dataframe_records"])).tolist() == [2.0, 2.0]


def test_a_deleted_alias_leaves_the_served_version_serving(registry, caplog):
    server, client = registry
    client.set_registered_model_alias(NAME, "doomed", "2")
    with following(f"models:/{NAME}@doomed", server.url) as follower:
        client.delete_registered_model_alias(NAME, "doomed")
        with caplog.at_level("WARNING", logger="podium.serving"):
            assert follower.check() is False and follower.check() is False
        assert follower.current.version == 2 and follower.last_swap_error is None
        warnings = [r.getMessage() for r in caplog.records if r.name == "podium.serving"]
        assert len(warnings) == 1 and "still serving version 2" in warnings[0]  # said once, not at every poll


def test_a_fixed_version_is_not_followed(registry):
    server, _ = registry
    with following(f"models:/{NAME}/2", server.url) as follower:
        assert follower.current.version == 2 and not follower.follows and follower.check() is False


def test_every_worker_follows_the_alias(registry, tmp_path):
    """``--workers 2``: each worker process loads the model and follows the alias on its own."""
    server, client = registry
    client.set_registered_model_alias(NAME, "workers", "1")
    running = start_podium_scorer(tmp_path, f"models:/{NAME}@workers", server.url, "--workers", "2",
                                  "--poll-interval", "0.2")
    try:
        assert "Serving models:/constant@workers (version 1)." in running.log()
        client.set_registered_model_alias(NAME, "workers", "2")
        deadline = time.monotonic() + 30
        streak = 0
        while streak < 20:  # 20 answers in a row on new connections (either worker) from version 2
            assert time.monotonic() < deadline, running.log()
            r = httpx.post(f"{running.url}/invocations", json=ROWS, headers={"connection": "close"})
            assert r.status_code == 200 and r.json()["predictions"] == [float(r.headers["x-podium-model-version"])] * 2
            streak = streak + 1 if r.headers["x-podium-model-version"] == "2" else 0
        while running.log().count("Swapped models:/constant@workers from version 1 to 2.") < 2:  # both workers
            assert time.monotonic() < deadline, running.log()
            time.sleep(0.05)
    finally:
        running.stop()


def test_an_embedded_registry_records_the_swap_in_its_history(tmp_path):
    """``podium serve`` on a SQLite tracking URI (no server): the swap is recorded through the service."""
    uri = f"sqlite:///{tmp_path / 'registry.db'}"
    assert [_log_constant(uri, 1.0), _log_constant(uri, 2.0)] == ["1", "2"]
    client = PodiumClient(uri)
    client.set_registered_model_alias(NAME, "champion", "1")
    with following(f"models:/{NAME}@champion", uri) as follower:
        client.set_registered_model_alias(NAME, "champion", "2")
        assert follower.check() is True
    event = client.get_model_history(NAME, newest_first=True)[0]
    assert (event.action, event.version, event.before, event.target) == ("serving.swapped", 2, {"serving": 1},
                                                                           "champion")
    assert event.after["scorer"] == follower.scorer and event.after["model_uri"] == f"models:/{NAME}@champion"
