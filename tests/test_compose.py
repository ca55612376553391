"""The composition root: what ``podium.compose.build`` hands out is fully wired, and owned.

Real SQLite files under ``tmp_path``; the server's backend is built from real ``ServerSettings``.
"""

from __future__ import annotations

import pytest

from podium.compose import MLFLOW_ARTIFACTS_ROOT, build
from podium.errors import InvalidParameterValue, NotImplementedByPodium, ResourceConflict
from podium.server.app import build_services
from podium.server.settings import ServerSettings


def _server_settings(tmp_path, **changes) -> ServerSettings:
    return ServerSettings(backend_store_uri=f"sqlite:///{(tmp_path / 'server.db').as_posix()}",
                          artifacts_destination=str(tmp_path / "destination"), **changes).resolved()


def test_the_server_backend_with_auth_hands_one_authorizer_to_approvals_and_the_gate(tmp_path):
    services = build_services(_server_settings(tmp_path, auth=True, default_role="edit"))
    try:
        authorizer = services.backend.authorizer
        assert authorizer is not None and authorizer.default_role.label == "edit"
        assert services.approvals.authorizer is authorizer  # given to the constructor, not patched on
        assert services.gate.authorizer is authorizer
    finally:
        services.backend.close()


def test_the_server_backend_without_auth_checks_nobody(tmp_path):
    services = build_services(_server_settings(tmp_path))
    try:
        assert services.backend.authorizer is None and services.approvals.authorizer is None
        assert services.gate is None
    finally:
        services.backend.close()


def test_the_server_backend_proxies_artifacts_and_guards_registered_files(tmp_path):
    backend = build(_server_settings(tmp_path))
    try:
        assert (tmp_path / "destination").is_dir()
        experiment = backend.tracking.get_experiment(backend.tracking.create_experiment("e"))
        assert experiment.artifact_location == f"{MLFLOW_ARTIFACTS_ROOT}{experiment.experiment_id}"
        run = backend.tracking.create_run(experiment.experiment_id)
        below = run.info.artifact_uri[len(MLFLOW_ARTIFACTS_ROOT):]  # the path below the destination
        backend.artifacts.write_stream(f"{below}/model/MLmodel", iter([b"flavors: {}\n"]))
        backend.registry.create_registered_model("m")
        backend.registry.create_model_version("m", f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
        with pytest.raises(ResourceConflict):
            backend.artifacts.write_stream(f"{below}/model/MLmodel", iter([b"changed"]))
    finally:
        backend.close()


def test_close_releases_the_database(tmp_path):
    backend = build(f"sqlite:///{(tmp_path / 'p.db').as_posix()}", artifact_root=str(tmp_path / "a"))
    backend.registry.create_registered_model("m")
    pool = backend.database.engine.pool
    assert pool.checkedin() > 0
    backend.close()
    assert backend.database.engine.pool is not pool  # disposed: the old pool and its connections are gone
    assert backend.database.engine.pool.checkedin() == 0


def test_an_http_uri_builds_the_remote_backend_without_a_database():
    backend = build("http://127.0.0.1:1")
    assert backend.is_remote and backend.database is None and backend.stores is None
    assert type(backend.registry).__name__ == "RestRegistry"
    backend.close()  # nothing owned: a no-op


@pytest.mark.parametrize(("uri", "error"), [
    ("./some/dir", InvalidParameterValue),
    ("ftp://host/x", NotImplementedByPodium),
])
def test_a_uri_no_backend_serves_is_a_one_line_error(uri, error):
    with pytest.raises(error):
        build(uri)
