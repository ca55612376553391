"""Every ``mlflow.MlflowClient`` model-registry method against ``podium server``.

Sources for versions come from a module-scoped run with two logged models (``lm``). Each test
creates its own uniquely named registered models, so the shared server's other data never matters.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

from .helpers import A2, PIP_REQS, same_predictions

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # stages are deprecated since 2.9


@dataclass
class Logged:
    experiment_id: str
    run_id: str
    other_run_id: str
    model_id: str  # m1, logged in run_id
    model_id2: str  # m2, logged in run_id as "model2"
    other_model_id: str  # m2, logged in other_run_id
    artifact_uri: str  # model_id's artifact URI
    artifact_uri2: str
    m1: object
    m2: object


@pytest.fixture(scope="module")
def lm(module_mlflow_env, models):
    m1, m2 = models
    mlflow.set_experiment(f"registry-{uuid.uuid4().hex[:8]}")
    with mlflow.start_run() as run:
        info1 = mlflow.sklearn.log_model(m1, name="model", pip_requirements=PIP_REQS)
        info2 = mlflow.sklearn.log_model(m2, name="model2", pip_requirements=PIP_REQS)
    with mlflow.start_run() as other:
        info3 = mlflow.sklearn.log_model(m2, name="model", pip_requirements=PIP_REQS)
    lm1 = mlflow.get_logged_model(info1.model_id)
    lm2 = mlflow.get_logged_model(info2.model_id)
    return Logged(
        experiment_id=run.info.experiment_id, run_id=run.info.run_id, other_run_id=other.info.run_id,
        model_id=info1.model_id, model_id2=info2.model_id, other_model_id=info3.model_id,
        artifact_uri=lm1.artifact_location, artifact_uri2=lm2.artifact_location, m1=m1, m2=m2,
    )


@pytest.fixture
def c():
    return MlflowClient()


def _add_version(c, name, model_id, **kwargs):
    return c.create_model_version(name, f"models:/{model_id}", model_id=model_id, **kwargs)


# --------------------------------------------------------------------- registered models: CRUD
def test_create_and_get_registered_model(c, unique):
    name = unique("rm")
    created = c.create_registered_model(name, tags={"team": "ml", "n": 1}, description="first")
    assert created.name == name
    assert created.description == "first"
    assert created.tags == {"team": "ml", "n": "1"}  # tag values are strings on the wire
    assert created.creation_timestamp > 0
    assert created.last_updated_timestamp >= created.creation_timestamp
    got = c.get_registered_model(name)
    assert (got.name, got.description, got.tags) == (name, "first", {"team": "ml", "n": "1"})
    assert got.latest_versions == []
    assert got.aliases == {}
    assert got.creation_timestamp == created.creation_timestamp


def test_create_registered_model_with_spaces_and_long_names(c, unique):
    long_name = unique("x" * 245)
    assert len(long_name) == 256
    for name in (unique("name with spaces"), long_name):
        assert c.create_registered_model(name).name == name
        assert c.get_registered_model(name).name == name


def test_rename_returns_none_and_moves_versions_tags_aliases(c, lm, unique, wine):
    old, new = unique("old"), unique("new")
    c.create_registered_model(old, tags={"k": "v"})
    _add_version(c, old, lm.model_id)
    _add_version(c, old, lm.model_id2, tags={"t": "2"})
    c.set_registered_model_alias(old, "champion", 2)

    assert c.rename_registered_model(old, new) is None  # MlflowClient returns None in 3.17

    rm = c.get_registered_model(new)
    assert rm.tags == {"k": "v"}
    assert rm.aliases == {"champion": "2"}
    assert sorted(v.version for v in rm.latest_versions) == ["2"]
    assert all(v.name == new for v in rm.latest_versions)
    mv = c.get_model_version(new, 2)
    assert (mv.name, mv.tags, mv.aliases) == (new, {"t": "2"}, ["champion"])
    assert c.get_model_version_by_alias(new, "champion").version == "2"
    assert [v.version for v in c.search_model_versions(f"name = '{new}'")] == ["2", "1"]
    assert list(c.search_model_versions(f"name = '{old}'")) == []
    with pytest.raises(MlflowException) as e:
        c.get_registered_model(old)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # the renamed model's versions still load
    same_predictions(mlflow.pyfunc.load_model(f"models:/{new}@champion"), lm.m2, wine.X)
    # and the next version continues the numbering
    assert _add_version(c, new, lm.model_id).version == "3"


def test_update_registered_model(c, unique):
    name = unique("rm")
    c.create_registered_model(name)
    before = c.get_registered_model(name)
    updated = c.update_registered_model(name, description="Wine classifier")
    assert updated.name == name
    assert updated.description == "Wine classifier"
    assert c.get_registered_model(name).description == "Wine classifier"
    assert c.get_registered_model(name).last_updated_timestamp >= before.last_updated_timestamp
    assert c.update_registered_model(name, description="").description == ""


def test_delete_registered_model_deletes_versions_and_restarts_numbering(c, lm, unique):
    name = unique("rm")
    c.create_registered_model(name)
    _add_version(c, name, lm.model_id)
    _add_version(c, name, lm.model_id)
    c.set_registered_model_alias(name, "a", 1)
    assert c.delete_registered_model(name) is None
    with pytest.raises(MlflowException) as e:
        c.get_registered_model(name)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        c.get_model_version(name, 1)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert list(c.search_model_versions(f"name = '{name}'")) == []
    # a re-created model starts again at version 1, without the old alias
    c.create_registered_model(name)
    assert _add_version(c, name, lm.model_id).version == "1"
    assert c.get_registered_model(name).aliases == {}


# ----------------------------------------------------------------- search_registered_models
@pytest.fixture(scope="module")
def rm_family(module_mlflow_env, api):
    """Three models ``<p>-b``, ``<p>-a``, ``<p>-c`` (created in that order) with and without tags, plus
    a prompt (``mlflow.prompt.is_prompt=true``) the client must never see."""
    c = MlflowClient()
    p = f"fam{uuid.uuid4().hex[:8]}"
    c.create_registered_model(f"{p}-b", tags={"team": "b-team", "task": "classification"})
    time.sleep(0.01)  # distinct millisecond timestamps for the order_by tests
    c.create_registered_model(f"{p}-a", tags={"team": "a-team"})
    time.sleep(0.01)
    c.create_registered_model(f"{p}-c")
    # the client refuses to create prompts as models; the REST API does not
    r = api.post(f"{A2}/registered-models/create",
                 json={"name": f"{p}-prompt", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]})
    assert r.status_code == 200, r.text
    time.sleep(0.01)
    c.update_registered_model(f"{p}-b", description="touched last")
    return p


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        ("name = '{p}-a'", ["a"]),
        ("name='{p}-a'", ["a"]),
        ('name = "{p}-a"', ["a"]),
        ("attribute.name = '{p}-b'", ["b"]),
        ("name LIKE '{p}-%'", ["a", "b", "c"]),
        ("name LIKE '{p}-_'", ["a", "b", "c"]),
        ("name LIKE '{P}-%'", []),  # LIKE is case-sensitive
        ("name ILIKE '{P}-%'", ["a", "b", "c"]),
        ("name LIKE '{p}-%' AND name != '{p}-a'", ["b", "c"]),
        ("name IN ('{p}-a', '{p}-c', 'nope')", ["a", "c"]),
        ("name LIKE '{p}-%' AND name NOT IN ('{p}-a')", ["b", "c"]),
        ("tags.team = 'a-team'", ["a"]),
        ("tag.team = 'b-team'", ["b"]),
        ("tags.`team` LIKE '%-team' AND name LIKE '{p}%'", ["a", "b"]),
        ("tags.team ILIKE 'A-%' AND name LIKE '{p}%'", ["a"]),
        ("name LIKE '{p}%' AND tags.team != 'a-team'", ["b"]),  # only models that have the tag
        ("name LIKE '{p}%' AND tags.team = 'b-team' AND tags.task = 'classification'", ["b"]),
    ],
)
def test_search_registered_models_filters(c, rm_family, filter_string, expected):
    f = filter_string.format(p=rm_family, P=rm_family.upper())
    if "team" in f and rm_family not in f:  # scope tag-only filters to this module's models
        found = [rm.name for rm in c.search_registered_models(f) if rm.name.startswith(rm_family)]
    else:
        found = [rm.name for rm in c.search_registered_models(f)]
    assert found == [f"{rm_family}-{x}" for x in expected]


def test_search_registered_models_hides_prompts(c, rm_family):
    names = [rm.name for rm in c.search_registered_models(f"name LIKE '{rm_family}%'")]
    assert f"{rm_family}-prompt" not in names
    names = [rm.name for rm in mlflow.search_registered_models(filter_string=f"name LIKE '{rm_family}%'")]
    assert names == [f"{rm_family}-a", f"{rm_family}-b", f"{rm_family}-c"]


def test_search_registered_models_paging_follows_tokens(c, rm_family):
    f = f"name LIKE '{rm_family}-%'"
    pages, token = [], None
    for _ in range(10):
        page = c.search_registered_models(f, max_results=1, page_token=token)
        pages.append([rm.name for rm in page])
        token = page.token
        if not token:
            break
    assert pages == [[f"{rm_family}-a"], [f"{rm_family}-b"], [f"{rm_family}-c"]]
    page = c.search_registered_models(f, max_results=2)
    assert len(page) == 2 and page.token
    rest = c.search_registered_models(f, max_results=2, page_token=page.token)
    assert [rm.name for rm in rest] == [f"{rm_family}-c"]
    assert not rest.token


@pytest.mark.parametrize(
    "order_by, expected",
    [
        (None, ["a", "b", "c"]),
        (["name ASC"], ["a", "b", "c"]),
        (["name DESC"], ["c", "b", "a"]),
        (["timestamp ASC"], ["b", "a", "c"]),
        (["timestamp DESC"], ["c", "a", "b"]),
        (["last_updated_timestamp DESC"], ["b", "c", "a"]),
    ],
)
def test_search_registered_models_order_by(c, rm_family, order_by, expected):
    found = [rm.name for rm in c.search_registered_models(f"name LIKE '{rm_family}-%'", order_by=order_by)]
    assert found == [f"{rm_family}-{x}" for x in expected]


# ----------------------------------------------------------------------- get_latest_versions
def test_get_latest_versions_with_and_without_stages(c, lm, unique):
    name = unique("rm")
    c.create_registered_model(name)
    for _ in range(4):
        _add_version(c, name, lm.model_id)
    c.transition_model_version_stage(name, 1, "Production")
    c.transition_model_version_stage(name, 2, "Staging")
    latest = c.get_latest_versions(name)
    assert sorted((v.version, v.current_stage) for v in latest) == [
        ("1", "Production"), ("2", "Staging"), ("4", "None")
    ]
    assert [(v.version, v.current_stage) for v in c.get_latest_versions(name, stages=["Production"])] == [
        ("1", "Production")
    ]
    assert [v.version for v in c.get_latest_versions(name, stages=["None"])] == ["4"]
    assert sorted(v.version for v in c.get_latest_versions(name, stages=["staging", "PRODUCTION"])) == ["1", "2"]
    assert c.get_latest_versions(name, stages=["Archived"]) == []
    # RegisteredModel.latest_versions is the same set
    assert sorted(v.version for v in c.get_registered_model(name).latest_versions) == ["1", "2", "4"]


# ------------------------------------------------------------------------ registered model tags
def test_registered_model_tags_set_overwrite_delete(c, unique):
    name = unique("rm")
    c.create_registered_model(name)
    c.set_registered_model_tag(name, "task", "classification")
    c.set_registered_model_tag(name, "owner", "luca")
    c.set_registered_model_tag(name, "task", "regression")  # overwrite
    c.set_registered_model_tag(name, "num", 3)  # stringified by the client
    assert c.get_registered_model(name).tags == {"task": "regression", "owner": "luca", "num": "3"}
    c.delete_registered_model_tag(name, "owner")
    c.delete_registered_model_tag(name, "never-set")  # a missing tag is not an error
    assert c.get_registered_model(name).tags == {"task": "regression", "num": "3"}


# ------------------------------------------------------------------------------ model versions
def test_create_model_version_from_logged_model(c, lm, unique):
    name = unique("rm")
    c.create_registered_model(name)
    mv = c.create_model_version(name, f"models:/{lm.model_id}", model_id=lm.model_id)
    assert mv.name == name
    assert mv.version == "1"
    assert mv.source == f"models:/{lm.model_id}"
    assert mv.run_id == lm.run_id  # derived from the logged model's source_run_id
    assert mv.status == "READY"
    assert mv.current_stage == "None"
    assert mv.description == ""
    assert mv.tags == {}
    assert mv.aliases == []
    assert mv.creation_timestamp > 0
    # the server records the registration on the logged model
    assert name in mlflow.get_logged_model(lm.model_id).tags.get("mlflow.modelVersions", "")


def test_create_model_version_with_run_id_tags_description_and_run_link(c, lm, unique):
    name = unique("rm")
    c.create_registered_model(name)
    mv = c.create_model_version(
        name, f"models:/{lm.model_id}", run_id=lm.run_id, model_id=lm.model_id,
        tags={"approved_by": "luca", "n": 2}, description="a description", run_link="http://example/run",
    )
    assert (mv.version, mv.run_id, mv.description) == ("1", lm.run_id, "a description")
    assert mv.tags == {"approved_by": "luca", "n": "2"}
    assert mv.run_link == "http://example/run"
    got = c.get_model_version(name, 1)
    assert (got.tags, got.description, got.run_link) == (mv.tags, mv.description, mv.run_link)


def test_create_model_version_from_runs_uri(c, lm, unique, wine):
    name = unique("rm")
    c.create_registered_model(name)
    source = f"runs:/{lm.run_id}/model"
    mv = c.create_model_version(name, source, run_id=lm.run_id)
    assert (mv.version, mv.source, mv.run_id) == ("1", source, lm.run_id)
    # MLflow returns the runs:/ source verbatim; Podium resolves it to the logged model's files
    # (same files: the client's runs:/ fallback would pick that logged model too)
    assert c.get_model_version_download_uri(name, 1) in (source, lm.artifact_uri)
    same_predictions(mlflow.pyfunc.load_model(f"models:/{name}/1"), lm.m1, wine.X)


def test_create_model_version_registers_the_model_files(c, lm, unique, wine):
    name = unique("rm")
    c.create_registered_model(name)
    _add_version(c, name, lm.model_id2)
    same_predictions(mlflow.pyfunc.load_model(f"models:/{name}/1"), lm.m2, wine.X)


def test_register_model_fluent_from_models_uri(lm, unique):
    name = unique("rm")
    mv = mlflow.register_model(f"models:/{lm.model_id}", name)
    assert (mv.name, mv.version, mv.run_id) == (name, "1", lm.run_id)
    mv = mlflow.register_model(f"models:/{lm.model_id2}", name, tags={"k": "v"})
    assert (mv.version, mv.tags) == ("2", {"k": "v"})


def test_get_update_delete_model_version(c, lm, unique):
    name = unique("rm")
    c.create_registered_model(name)
    _add_version(c, name, lm.model_id)
    _add_version(c, name, lm.model_id2)
    mv = c.get_model_version(name, "2")
    assert (mv.version, mv.source) == ("2", f"models:/{lm.model_id2}")
    assert c.get_model_version(name, 2).version == "2"  # int accepted, sent as "2"
    updated = c.update_model_version(name, 2, description="better")
    assert updated.description == "better"
    assert updated.last_updated_timestamp >= mv.last_updated_timestamp
    assert c.get_model_version(name, 2).description == "better"
    assert c.delete_model_version(name, 2) is None
    with pytest.raises(RestException) as e:
        c.get_model_version(name, 2)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert [v.version for v in c.search_model_versions(f"name = '{name}'")] == ["1"]
    assert [v.version for v in c.get_registered_model(name).latest_versions] == ["1"]


def test_version_numbers_are_never_reused(c, lm, unique):
    name = unique("rm")
    c.create_registered_model(name)
    for _ in range(3):
        _add_version(c, name, lm.model_id)
    c.delete_model_version(name, 3)
    assert _add_version(c, name, lm.model_id).version == "4"
    c.delete_model_version(name, 1)
    c.delete_model_version(name, 4)
    assert _add_version(c, name, lm.model_id).version == "5"
    assert [v.version for v in c.search_model_versions(f"name = '{name}'", order_by=["version_number ASC"])] \
        == ["2", "5"]


# -------------------------------------------------------------------------------------- stages
def test_transition_model_version_stage(c, lm, unique):
    name = unique("rm")
    c.create_registered_model(name)
    for _ in range(3):
        _add_version(c, name, lm.model_id)
    assert c.transition_model_version_stage(name, 1, "staging").current_stage == "Staging"  # case-insensitive
    assert c.transition_model_version_stage(name, 1, "Production").current_stage == "Production"
    assert c.transition_model_version_stage(name, 2, "Staging").current_stage == "Staging"
    # archive_existing_versions archives only the versions in the target stage (v1), not v2 (Staging)
    mv3 = c.transition_model_version_stage(name, 3, "Production", archive_existing_versions=True)
    assert mv3.current_stage == "Production"
    stages = {v.version: v.current_stage for v in c.search_model_versions(f"name = '{name}'")}
    assert stages == {"1": "Archived", "2": "Staging", "3": "Production"}
    assert c.transition_model_version_stage(name, 3, "None").current_stage == "None"
    assert c.transition_model_version_stage(name, 2, "archived").current_stage == "Archived"
    assert c.get_model_version_stages(name, 1) == ["None", "Staging", "Production", "Archived"]


def test_transition_that_archives_an_aliased_version_still_works_for_mlflow(c, lm, unique):
    # Podium's response then has an extra "warnings" field, which the mlflow client ignores
    name = unique("rm")
    c.create_registered_model(name)
    _add_version(c, name, lm.model_id)
    c.set_registered_model_alias(name, "champion", 1)
    assert c.transition_model_version_stage(name, 1, "Archived").current_stage == "Archived"
    assert c.get_model_version_by_alias(name, "champion").current_stage == "Archived"


# ---------------------------------------------------------------------- search_model_versions
@pytest.fixture(scope="module")
def mv_family(module_mlflow_env, lm):
    """``<p>-x`` v1 (model_id, run_id), v2 (model_id2, run_id, tag), v3 (runs:/ source, other run);
    ``<p>-y`` v1 (other_model_id, other run)."""
    c = MlflowClient()
    p = f"mvfam{uuid.uuid4().hex[:8]}"
    x, y = f"{p}-x", f"{p}-y"
    c.create_registered_model(x)
    c.create_registered_model(y)
    _add_version(c, x, lm.model_id)
    time.sleep(0.01)  # distinct millisecond timestamps for the order_by tests
    _add_version(c, x, lm.model_id2, tags={"approved_by": f"luca-{p}"})
    time.sleep(0.01)
    c.create_model_version(x, f"runs:/{lm.other_run_id}/model", run_id=lm.other_run_id)
    time.sleep(0.01)
    _add_version(c, y, lm.other_model_id)
    time.sleep(0.01)
    c.update_model_version(x, 1, description="touched last")
    return p


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        ("name='{p}-x'", ["x3", "x2", "x1"]),
        ("name = '{p}-x' AND version_number > 1", ["x3", "x2"]),
        ("name = '{p}-x' AND version_number >= 2 AND version_number < 3", ["x2"]),
        ("name = '{p}-x' AND version_number != 2", ["x3", "x1"]),
        ("name = '{p}-x' AND version_number <= 1", ["x1"]),
        ("name = '{p}-x' AND version_number = 3", ["x3"]),
        ("name LIKE '{p}-%'", ["y1", "x3", "x2", "x1"]),
        ("name ILIKE '{P}-X'", ["x3", "x2", "x1"]),
        ("name LIKE '{p}%' AND name != '{p}-x'", ["y1"]),
        ("name IN ('{p}-x', 'x')", ["x3", "x2", "x1"]),
        ("name LIKE '{p}%' AND name NOT IN ('{p}-x')", ["y1"]),
        ("run_id = '{run}' AND name LIKE '{p}%'", ["x2", "x1"]),
        ("run_id != '{run}' AND name LIKE '{p}%'", ["y1", "x3"]),
        ("run_id IN ('{other}') AND name LIKE '{p}%'", ["y1", "x3"]),
        ("tags.approved_by = 'luca-{p}'", ["x2"]),
        ("tag.approved_by LIKE 'luca-{p}%'", ["x2"]),
        ("source_path LIKE 'models:/%' AND name LIKE '{p}%'", ["y1", "x2", "x1"]),
        ("source_path = 'runs:/{other}/model'", ["x3"]),
        ("source_path LIKE 'runs:/%' AND name = '{p}-x'", ["x3"]),
    ],
)
def test_search_model_versions_filters(c, lm, mv_family, filter_string, expected):
    f = filter_string.format(p=mv_family, P=mv_family.upper(), run=lm.run_id, other=lm.other_run_id)
    found = [v.name[-1] + v.version for v in c.search_model_versions(f)]
    # default order: last_updated_timestamp DESC, name ASC, version_number DESC; x1 was touched last
    assert sorted(found) == sorted(expected)


def test_search_model_versions_default_order_and_fluent(c, lm, mv_family):
    found = [v.name[-1] + v.version for v in c.search_model_versions(f"name LIKE '{mv_family}-%'")]
    assert found[0] == "x1"  # updated last
    assert sorted(found) == ["x1", "x2", "x3", "y1"]
    fluent = mlflow.search_model_versions(filter_string=f"name = '{mv_family}-x'", max_results=5)
    assert sorted(v.version for v in fluent) == ["1", "2", "3"]


@pytest.mark.parametrize(
    "order_by, expected",
    [
        (["version_number ASC"], ["x1", "x2", "x3"]),
        (["version_number DESC"], ["x3", "x2", "x1"]),
        (["creation_timestamp ASC"], ["x1", "x2", "x3"]),
        (["creation_timestamp DESC"], ["x3", "x2", "x1"]),
        (["last_updated_timestamp DESC"], ["x1", "x3", "x2"]),
    ],
)
def test_search_model_versions_order_by(c, mv_family, order_by, expected):
    found = [v.name[-1] + v.version for v in c.search_model_versions(f"name = '{mv_family}-x'", order_by=order_by)]
    assert found == expected


def test_search_model_versions_order_by_name_then_version(c, mv_family):
    found = [v.name[-1] + v.version for v in c.search_model_versions(
        f"name LIKE '{mv_family}-%'", order_by=["name DESC", "version_number ASC"])]
    assert found == ["y1", "x1", "x2", "x3"]


def test_search_model_versions_paging(c, mv_family):
    f = f"name LIKE '{mv_family}-%'"
    order = ["name ASC", "version_number ASC"]
    pages, token = [], None
    for _ in range(10):
        page = c.search_model_versions(f, max_results=1, order_by=order, page_token=token)
        pages.append([v.name[-1] + v.version for v in page])
        token = page.token
        if not token:
            break
    assert pages == [["x1"], ["x2"], ["x3"], ["y1"]]
    first = c.search_model_versions(f, max_results=3, order_by=order)
    assert len(first) == 3 and first.token
    second = c.search_model_versions(f, max_results=3, order_by=order, page_token=first.token)
    assert [v.name[-1] + v.version for v in second] == ["y1"]
    assert not second.token


# ----------------------------------------------------------------------------- download URI
def test_get_model_version_download_uri(c, lm, unique):
    name = unique("rm")
    c.create_registered_model(name)
    _add_version(c, name, lm.model_id)
    uri = c.get_model_version_download_uri(name, 1)
    assert uri == lm.artifact_uri
    assert uri == f"mlflow-artifacts:/{lm.experiment_id}/models/{lm.model_id}/artifacts"


# ------------------------------------------------------------------------- model version tags
def test_model_version_tags_set_overwrite_delete(c, lm, unique):
    name = unique("rm")
    c.create_registered_model(name)
    _add_version(c, name, lm.model_id)
    _add_version(c, name, lm.model_id2)
    c.set_model_version_tag(name, 1, "approved_by", "luca")
    c.set_model_version_tag(name, "1", "score", 0.9)
    c.set_model_version_tag(name, 1, "approved_by", "anna")
    assert c.get_model_version(name, 1).tags == {"approved_by": "anna", "score": "0.9"}
    assert c.get_model_version(name, 2).tags == {}
    c.delete_model_version_tag(name, 1, "score")
    c.delete_model_version_tag(name, 1, "never-set")  # a missing tag is not an error
    assert c.get_model_version(name, 1).tags == {"approved_by": "anna"}


def test_model_version_tags_by_stage(c, lm, unique):
    name = unique("rm")
    c.create_registered_model(name)
    _add_version(c, name, lm.model_id)
    _add_version(c, name, lm.model_id2)
    c.transition_model_version_stage(name, 2, "Staging")
    c.set_model_version_tag(name, key="env", value="staging", stage="Staging")  # resolves to v2
    assert c.get_model_version(name, 2).tags == {"env": "staging"}
    c.delete_model_version_tag(name, key="env", stage="Staging")
    assert c.get_model_version(name, 2).tags == {}


# ----------------------------------------------------------------------------------- aliases
def test_aliases_set_get_move_delete(c, lm, unique, wine):
    name = unique("rm")
    c.create_registered_model(name)
    _add_version(c, name, lm.model_id)
    _add_version(c, name, lm.model_id2)
    assert c.set_registered_model_alias(name, "champion", 1) is None
    c.set_registered_model_alias(name, "challenger", "2")
    c.set_registered_model_alias(name, "Prod-1_b", 2)
    assert c.get_registered_model(name).aliases == {"champion": "1", "challenger": "2", "Prod-1_b": "2"}
    mv = c.get_model_version_by_alias(name, "champion")
    assert (mv.version, mv.aliases) == ("1", ["champion"])
    assert sorted(c.get_model_version(name, 2).aliases) == ["Prod-1_b", "challenger"]
    same_predictions(mlflow.pyfunc.load_model(f"models:/{name}@champion"), lm.m1, wine.X)

    c.set_registered_model_alias(name, "champion", 2)  # moves the alias
    assert c.get_model_version_by_alias(name, "champion").version == "2"
    assert c.get_model_version(name, 1).aliases == []
    same_predictions(mlflow.pyfunc.load_model(f"models:/{name}@champion"), lm.m2, wine.X)

    assert c.delete_registered_model_alias(name, "champion") is None
    c.delete_registered_model_alias(name, "never-set")  # a missing alias is not an error
    assert c.get_registered_model(name).aliases == {"challenger": "2", "Prod-1_b": "2"}
    with pytest.raises(RestException) as e:
        c.get_model_version_by_alias(name, "champion")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert e.value.message == "INVALID_PARAMETER_VALUE: Registered model alias champion not found."


def test_deleting_a_version_removes_its_aliases(c, lm, unique):
    name = unique("rm")
    c.create_registered_model(name)
    _add_version(c, name, lm.model_id)
    _add_version(c, name, lm.model_id2)
    c.set_registered_model_alias(name, "champion", 2)
    c.delete_model_version(name, 2)
    assert c.get_registered_model(name).aliases == {}
    with pytest.raises(RestException) as e:
        c.get_model_version_by_alias(name, "champion")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


# ------------------------------------------------------------------------------------- copy
def test_copy_model_version(c, lm, unique, wine):
    src, dst = unique("src"), unique("dst")
    c.create_registered_model(src)
    _add_version(c, src, lm.model_id)
    _add_version(c, src, lm.model_id2, tags={"approved_by": "luca"}, description="LR C=0.05")

    copy = c.copy_model_version(f"models:/{src}/2", dst)  # creates dst
    assert (copy.name, copy.version) == (dst, "1")
    assert copy.source == f"models:/{src}/2"
    assert copy.run_id == lm.run_id
    assert copy.tags == {"approved_by": "luca"}
    assert copy.description == "LR C=0.05"
    # the copy's files are the source version's files
    assert c.get_model_version_download_uri(dst, 1) == lm.artifact_uri2
    same_predictions(mlflow.pyfunc.load_model(f"models:/{dst}/1"), lm.m2, wine.X)

    again = c.copy_model_version(f"models:/{src}/1", dst)  # dst exists: a new version
    assert again.version == "2"
    assert c.get_model_version_download_uri(dst, 2) == lm.artifact_uri


def test_copy_model_version_by_alias(c, lm, unique, wine):
    src, dst = unique("src"), unique("dst")
    c.create_registered_model(src)
    _add_version(c, src, lm.model_id)
    c.set_registered_model_alias(src, "champion", 1)
    copy = c.copy_model_version(f"models:/{src}@champion", dst)
    assert copy.version == "1"
    same_predictions(mlflow.pyfunc.load_model(f"models:/{dst}/1"), lm.m1, wine.X)



# ----------------------------------------------------------------------- names and values
@pytest.mark.parametrize("suffix", ["a+b", "a&b=c", "a%b", "ünïcødé", "with space", "a'b", "(x)[y]{z}"])
def test_model_names_with_url_special_characters(c, lm, unique, suffix, wine):
    name = unique("rm") + suffix
    c.create_registered_model(name)
    assert c.get_registered_model(name).name == name
    c.set_registered_model_tag(name, "k", "v")
    mv = _add_version(c, name, lm.model_id)
    c.set_registered_model_alias(name, "champion", mv.version)
    assert c.get_model_version_by_alias(name, "champion").name == name
    literal = f'"{name}"' if "'" in name else f"'{name}'"
    assert [rm.name for rm in c.search_registered_models(f"name = {literal}")] == [name]
    assert [v.version for v in c.search_model_versions(f"name = {literal}")] == ["1"]
    same_predictions(mlflow.pyfunc.load_model(f"models:/{name}@champion"), lm.m1, wine.X)


def test_names_of_300_characters_are_accepted(c, api, unique):
    """The reference (E49) stores a 300-character name; far longer names must be a clean 400."""
    name = unique("x" * 289)
    assert len(name) == 300
    assert c.create_registered_model(name).name == name
    r = api.post(f"{A2}/registered-models/create", json={"name": unique("y" * 5000)})
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_registry_tag_values_up_to_100000_characters(c, lm, unique):
    name = unique("rm")
    c.create_registered_model(name)
    _add_version(c, name, lm.model_id)
    c.set_registered_model_tag(name, "long", "r" * 100_000)
    c.set_model_version_tag(name, 1, "long", "v" * 100_000)
    assert c.get_registered_model(name).tags["long"] == "r" * 100_000
    assert c.get_model_version(name, 1).tags["long"] == "v" * 100_000


def test_concurrent_registrations_get_distinct_numbers(c, lm, unique):
    """16 threads, 48 create_model_version calls on one model: 1..48, no error, no 5xx."""
    from concurrent.futures import ThreadPoolExecutor

    name = unique("rm")
    c.create_registered_model(name)
    with ThreadPoolExecutor(16) as pool:
        versions = list(pool.map(lambda _: _add_version(c, name, lm.model_id).version, range(48)))
    assert sorted(int(v) for v in versions) == list(range(1, 49))
    assert len(c.search_model_versions(f"name = '{name}'")) == 48
