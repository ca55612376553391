"""The real mlflow client against ``podium server --auth``: credentials from the environment, unchanged.

``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` (HTTP Basic) and ``MLFLOW_TRACKING_TOKEN``
(Bearer) each carry a small workflow (run, logged model registered, alias, load by alias); without
them the client gets 401 and raises an ``MlflowException`` with ``UNAUTHENTICATED``; a refused move
of a protected alias is a ``PERMISSION_DENIED`` with the server's message.
"""

from __future__ import annotations

import uuid

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tests.auth_server import password_of, start_auth_server

from .conftest import point_mlflow_at
from .helpers import PIP_REQS, same_predictions

pytestmark = pytest.mark.filterwarnings("ignore:Hint.*Inferred schema contains integer:UserWarning")


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    server = start_auth_server(tmp_path_factory.mktemp("compat-auth"), {"alice": False, "bob": False, "admin": True},
                               tokens={"alice-token": "alice"}, default_role="edit")
    yield server
    server.stop()


@pytest.fixture
def as_client(auth_server, monkeypatch):
    """Point mlflow at the auth server with the given credentials in the environment."""
    def use(username: str | None = None, password: str | None = None, token: str | None = None) -> MlflowClient:
        point_mlflow_at(monkeypatch, auth_server.url)
        for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        if username is not None:
            monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", username)
            monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
        if token is not None:
            monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
        return MlflowClient(auth_server.url, auth_server.url)

    return use


def _workflow(client: MlflowClient, model, X) -> tuple[str, str]:
    name = f"auth-wine-{uuid.uuid4().hex[:8]}"
    with mlflow.start_run() as run:
        mlflow.log_param("C", 1.0)
        mlflow.log_metric("accuracy", 0.97)
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name, pip_requirements=PIP_REQS)
    assert str(info.registered_model_version) == "1"
    client.set_registered_model_alias(name, "champion", 1)
    same_predictions(mlflow.pyfunc.load_model(f"models:/{name}@champion"), model, X)
    assert [m.name for m in client.search_registered_models(f"name = '{name}'")] == [name]
    return name, run.info.run_id


def test_username_and_password_carry_a_workflow_and_become_the_user_id(as_client, wine, models):
    client = as_client("alice", password_of("alice"))
    name, run_id = _workflow(client, models[0], wine.X)
    assert client.get_run(run_id).info.user_id == "alice"
    assert client.get_model_version(name, 1).user_id == "alice"


def test_a_token_carries_a_workflow(as_client, auth_server, wine, models):
    client = as_client(token=auth_server.tokens["alice-token"])
    name, run_id = _workflow(client, models[1], wine.X)
    assert client.get_run(run_id).info.user_id == "alice"


@pytest.mark.parametrize("credentials", [{}, {"username": "alice", "password": "wrong-password"},
                                         {"token": "podium_00000000_not-a-real-token"}])
def test_without_valid_credentials_the_client_raises_unauthenticated(as_client, credentials):
    client = as_client(**credentials)
    with pytest.raises(MlflowException) as refused:
        client.search_registered_models()
    assert refused.value.error_code == "UNAUTHENTICATED"
    with pytest.raises(MlflowException) as refused_run:
        with mlflow.start_run():
            pass
    assert refused_run.value.error_code == "UNAUTHENTICATED"


def test_a_protected_alias_refuses_an_editor_with_the_servers_message(as_client, auth_server):
    alice = as_client("alice", password_of("alice"))
    name = f"auth-guarded-{uuid.uuid4().hex[:8]}"
    alice.create_registered_model(name)
    with mlflow.start_run() as run:
        pass
    for _ in range(2):
        alice.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
    alice.set_registered_model_alias(name, "champion", 1)
    from podium import PodiumClient  # the Podium client manages policies (same env credentials: alice's)
    from podium.client import http

    http._sessions.clear()  # sessions keep the credentials they were made with
    try:
        PodiumClient(auth_server.url).set_model_policy(name, protected_aliases=["champion"])
    finally:
        http._sessions.clear()
    bob = as_client("bob", password_of("bob"))
    bob.set_registered_model_alias(name, "challenger", 2)  # edit is bob's default role
    with pytest.raises(MlflowException) as refused:
        bob.set_registered_model_alias(name, "champion", 2)
    assert refused.value.error_code == "PERMISSION_DENIED"
    assert f"moving 'champion' of model '{name}' needs manage on '{name}' or admin; you (bob) have edit" in str(refused.value)
    assert bob.get_model_version_by_alias(name, "champion").version in (1, "1")
