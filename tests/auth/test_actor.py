"""The actor: the local OS user in embedded mode, the request's actor in the server, and what it
means for the ``user_id`` stored on new runs and versions."""

from __future__ import annotations

import getpass

from podium.auth.actor import ANONYMOUS, Actor, acting_as, current_actor, recorded_user_id


def test_embedded_mode_acts_as_the_local_os_user_and_keeps_the_claimed_user_id():
    actor = current_actor()
    assert (actor.name, actor.authenticated, actor.via) == (getpass.getuser(), False, "local")
    assert recorded_user_id("claimed") == "claimed" and recorded_user_id(None) is None


def test_an_authenticated_actor_overrides_the_claimed_user_id_and_is_restored_after():
    alice = Actor("alice", authenticated=True, via="token", user_id=1)
    with acting_as(alice):
        assert current_actor() is alice
        assert recorded_user_id("mallory") == "alice"
        with acting_as(ANONYMOUS):
            assert current_actor().name is None and recorded_user_id("bob") == "bob"
        assert current_actor() is alice
    assert current_actor().via == "local"


def test_embedded_runs_and_versions_record_what_the_client_sends(registry, tracking):
    run = tracking.create_run("0", "ada", 1, {"mlflow.user": "ada"}, None)
    assert run.info.user_id == "ada" and run.data.tags["mlflow.user"] == "ada"
    registry.create_registered_model("m")
    assert registry.create_model_version("m", "s3://b/m").user_id is None
    with acting_as(Actor("alice", authenticated=True)):
        run = tracking.create_run("0", "ada", 1, {"mlflow.user": "ada"}, None)
        assert run.info.user_id == "alice" and run.data.tags["mlflow.user"] == "alice"
        assert registry.create_model_version("m", "s3://b/m", user_id="ada").user_id == "alice"
