"""``podium import-mlflow`` from MLflow databases written by the real mlflow 3.17 client.

The source store is written once per module by ``mlflow_store.py seed`` (experiments, runs with
metric histories, params, tags, datasets, a deleted run, logged models, a registered model with a
gap, stages, aliases, tags and descriptions, a version whose run was deleted, a model without
versions). After the import, the mlflow client pointed at a ``podium server`` on the imported store
must see what it saw in the source, with the source's artifact directory moved away; the client's
own REST-vs-database differences (aliases as strings, empty strings for unset fields, aliases on
searched versions, which MLflow's SQL store leaves empty) are normalised in :func:`_normalised`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from podium.cli import main
from tests.databases import ServerDatabase
from tests.harness import ServerProcess, server_env
from tests.moving.helpers import observe, run_mlflow_script, seed

pytestmark = pytest.mark.xdist_group("mlflow-source")  # one worker seeds the source store
#: what the seeded store holds: 3 experiments, 5 runs, 4 logged models, 2 registered models, 3 versions
ALL_OBJECTS = 17


def _normalised(seen: dict) -> dict:
    seen = json.loads(json.dumps(seen))
    for m in seen["models"]:
        m["aliases"] = {k: int(v) for k, v in m["aliases"].items()}
    for v in seen["versions"]:
        v["version"] = int(v["version"])
        v["aliases"] = None  # MLflow's SQL store returns none on searched versions; the models carry them
        for field in ("user", "description", "run_id"):
            v[field] = v[field] or None
    return seen


def _import(target: str, *args: str) -> dict:
    result = CliRunner().invoke(main, ["--tracking-uri", target, "import-mlflow", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _created(summary: dict) -> dict:
    return {kind: c["created"] for kind, c in summary["counts"].items()}


def _served_view(podium_root: Path, moved: Path, also=None) -> dict:
    """What the mlflow client sees through ``podium server`` on the store, ``moved`` moved away meanwhile
    (and ``also(server URL)``, run while the server is up)."""
    away = moved.with_name(moved.name + ".away")
    moved.rename(away)
    server = ServerProcess(podium_root).start()
    try:
        seen = observe(server.url, podium_root)
        if also is not None:
            also(server.url)
        return seen
    finally:
        server.stop()
        away.rename(moved)


def test_import_from_sqlite_then_the_mlflow_client_sees_the_same_through_podium_server(sqlite_source, tmp_path):
    before = hashlib.sha256((sqlite_source.root / "mlflow.db").read_bytes()).hexdigest()
    target = f"sqlite:///{tmp_path / 'podium.db'}"
    # into the store a podium server will serve: files below its destination, read through its proxy
    summary = _import(target, sqlite_source.uri, "--artifacts-destination", str(tmp_path / "artifacts"))
    assert summary["errors"] == []
    assert _created(summary) == {"experiment": 2, "run": 5, "logged_model": 4, "registered_model": 2,
                                 "model_version": 3}
    assert summary["counts"]["experiment"]["updated"] == 1  # Default (0): this store's own, adopted
    # the source is read, never written
    assert hashlib.sha256((sqlite_source.root / "mlflow.db").read_bytes()).hexdigest() == before

    def verify(url: str) -> None:  # the manifest recorded at import still matches, after the client read it
        verified = CliRunner().invoke(main, ["--tracking-uri", url, "models", "verify", "clf", "3"])
        assert verified.exit_code == 0 and "intact" in verified.output, verified.output

    served = _served_view(tmp_path, sqlite_source.mlruns, verify)
    expected = _normalised(sqlite_source.observed)
    got = _normalised(served)
    for part in ("experiments", "runs", "histories", "logged_models", "models", "versions", "predictions"):
        assert got[part] == expected[part], part
    versions = [v["version"] for v in got["versions"]]
    assert versions == [1, 3, 4]  # 2 was deleted in MLflow: still a gap
    assert any(r["stage"] == "deleted" for r in got["runs"])

    # where the history starts: one event for the model and one per version
    history = CliRunner().invoke(main, ["--tracking-uri", target, "models", "history", "clf", "--json"])
    assert history.exit_code == 0, history.output
    actions = [e["action"] for e in json.loads(history.stdout)["events"]]
    assert actions.count("imported") == 4  # the model and its three versions


def test_a_second_import_imports_nothing_new_and_then_picks_up_a_new_version(sqlite_source, tmp_path):
    copy = tmp_path / "src"
    copy.mkdir()
    shutil.copy(sqlite_source.root / "mlflow.db", copy / "mlflow.db")  # artifacts stay where they are
    source_uri = f"sqlite:///{copy / 'mlflow.db'}"
    target = f"sqlite:///{tmp_path / 'podium.db'}"
    first = _import(target, source_uri)
    second = _import(target, source_uri)
    assert sum(_created(second).values()) == 0
    assert all(c["updated"] == 0 and c["failed"] == 0 for c in second["counts"].values())
    assert second["files_copied"] == 0
    assert sum(c["unchanged"] for c in second["counts"].values()) == sum(_created(first).values()) + 1

    run_mlflow_script("add-version", source_uri, cwd=copy)
    dry = _import(target, source_uri, "--dry-run")
    assert dry["counts"]["model_version"]["created"] == 1
    third = _import(target, source_uri)
    assert third["counts"]["model_version"] == {"created": 1, "updated": 0, "unchanged": 3, "failed": 0}
    assert third["counts"]["registered_model"]["updated"] == 1
    shown = CliRunner().invoke(main, ["--tracking-uri", target, "models", "versions", "clf", "--json"])
    assert sorted(int(v["version"]) for v in json.loads(shown.stdout)["model_versions"]) == [1, 3, 4, 5]


def test_an_interrupted_import_resumes_where_it_stopped(sqlite_source, tmp_path):
    from podium import compose

    target = f"sqlite:///{tmp_path / 'podium.db'}"

    class Interrupt:
        """Ctrl-C in the middle of copying an object's files (the seventh file)."""

        files = 0

        def start(self, total):
            pass

        def advance(self, objects=0, nbytes=0, what=None):
            if nbytes:
                self.files += 1
                if self.files == 7:
                    raise KeyboardInterrupt

    backend = compose.build(target)
    try:
        service = compose.importer_for(backend)
        source, locate = compose.mlflow_database_source(sqlite_source.uri)
        with pytest.raises(KeyboardInterrupt):
            service.run(source, locate, progress=Interrupt())
        partial = {kind: len(service.loader.imported_digests(kind)) for kind in
                   ("experiment", "run", "logged_model", "registered_model", "model_version")}
        assert 0 < sum(partial.values()) < ALL_OBJECTS
        summary = service.run(source, locate)
        source.close()
    finally:
        backend.close()
    assert summary.errors == []
    assert sum(c["created"] + c["updated"] for c in summary.counts.values()) == ALL_OBJECTS - sum(partial.values())
    served = _served_view(tmp_path, sqlite_source.mlruns)
    assert _normalised(served)["predictions"] == sqlite_source.observed["predictions"]
    assert len(served["runs"]) == len(sqlite_source.observed["runs"])


def test_unknown_names_and_unreadable_sources_are_one_line_errors(sqlite_source, tmp_path):
    target = f"sqlite:///{tmp_path / 'podium.db'}"
    result = CliRunner().invoke(main, ["--tracking-uri", target, "import-mlflow", sqlite_source.uri,
                                       "--models", "nope", "--experiments", "exp-b"])
    assert result.exit_code == 0, result.output
    assert "No registered model nope" in result.stderr
    missing = CliRunner().invoke(main, ["--tracking-uri", target, "import-mlflow",
                                        f"sqlite:///{tmp_path / 'podium.db'}"])
    assert missing.exit_code != 0
    assert "is not an MLflow database" in missing.stderr and "Traceback" not in missing.output


@pytest.mark.skipif(not os.environ.get("PODIUM_TEST_POSTGRES_URL"), reason="needs PODIUM_TEST_POSTGRES_URL")
def test_import_from_postgresql_then_the_mlflow_client_sees_the_same(tmp_path):
    database = ServerDatabase(os.environ["PODIUM_TEST_POSTGRES_URL"], "postgresql", label="mlflow_src")
    try:
        source = seed(tmp_path / "src", database.url)
        expected = _normalised(observe(database.url, source.root))
        podium_root = tmp_path / "podium"
        podium_root.mkdir()
        summary = _import(f"sqlite:///{podium_root / 'podium.db'}", database.url,
                          "--artifacts-destination", str(podium_root / "artifacts"))
        assert summary["errors"] == []
        got = _normalised(_served_view(podium_root, source.mlruns))
        for part in ("experiments", "runs", "histories", "logged_models", "models", "versions", "predictions"):
            assert got[part] == expected[part], part
    finally:
        database.drop()


def test_import_from_a_running_mlflow_server_over_its_rest_api(sqlite_source, tmp_path):
    """A real ``mlflow server`` on (a copy of) the source database, its artifacts proxied; one more run
    and version are logged through it (``mlflow-artifacts:/`` locations, read back through the proxy)."""
    served = tmp_path / "mlflow"
    served.mkdir()
    shutil.copy(sqlite_source.root / "mlflow.db", served / "mlflow.db")
    with MlflowServer(served) as url:
        run_mlflow_script("add-served", url, cwd=served)
        expected = _normalised(observe(url, served))
        podium_root = tmp_path / "podium"
        podium_root.mkdir()
        summary = _import(f"sqlite:///{podium_root / 'podium.db'}", url,
                          "--artifacts-destination", str(podium_root / "artifacts"))
    assert summary["errors"] == []
    assert summary["counts"]["model_version"]["created"] == 4
    got = _normalised(_served_view(podium_root, sqlite_source.mlruns))
    for part in ("experiments", "runs", "histories", "logged_models", "models", "versions", "predictions"):
        assert got[part] == expected[part], part
    assert any(m["name"] == "served" for m in got["models"])


class MlflowServer:
    """``mlflow server`` (test-only) on ``root/mlflow.db``, artifacts proxied from ``root/served``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __enter__(self) -> str:
        from tests.server.helpers import free_port

        self.port = free_port()
        self.log = open(self.root / "mlflow-server.log", "wb")
        mlflow_bin = Path(sys.executable).with_name("mlflow")
        self.process = subprocess.Popen(
            [str(mlflow_bin), "server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
             "--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}",
             "--artifacts-destination", str(self.root / "served")],
            cwd=self.root, env=server_env(), stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:  # polls another process: mlflow's startup takes seconds
            if self.process.poll() is not None:
                raise RuntimeError((self.root / "mlflow-server.log").read_text()[-3000:])
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError("mlflow server did not start")

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()
