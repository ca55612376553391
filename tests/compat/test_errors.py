"""Every error of the reference's §3 table (and ``mlflow-trace/errors_client_vs_raw.json``).

Each case is checked twice:

* through the mlflow client (``test_client_error``): the exception's ``error_code`` and, where the
  reference gives one, its message (``RestException.message`` is ``"<CODE>: <server message>"``);
* as raw HTTP with ``httpx`` (``test_raw_error``): the status code, a JSON body, its ``error_code``
  and message.

No client mistake may be a 5xx (the mlflow client retries 5xx for minutes): Podium answers 400 where
MLflow itself answers 500 (``archive_existing_versions`` to ``Archived``/``None``, ``IS NULL``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Callable

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

from .helpers import A2, ART, PIP_REQS

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

ZERO_RUN = "0" * 32
MISSING = "no-such-model-xyz"
API_DOCS = "See the API docs for more information about request parameters."


@dataclass
class Ctx:
    N: str  # a registered model with versions 1 and 2 (v2 in Production)
    N2: str  # another registered model
    exp_name: str
    exp_id: str
    run_id: str
    other_run_id: str
    model_id: str
    missing: str  # a model name nobody creates


@pytest.fixture(scope="module")
def ctx(module_mlflow_env, models):
    token = uuid.uuid4().hex[:8]
    c = MlflowClient()
    exp_name = f"errors-{token}"
    exp_id = mlflow.set_experiment(exp_name).experiment_id
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(models[0], name="model", pip_requirements=PIP_REQS)
    with mlflow.start_run() as other:
        mlflow.log_text("x", "model/file.txt")
    n, n2 = f"wine-errors-{token}", f"wine-errors-{token}-other"
    c.create_registered_model(n)
    c.create_registered_model(n2)
    for _ in range(2):
        c.create_model_version(n, f"models:/{info.model_id}", model_id=info.model_id)
    c.transition_model_version_stage(n, 2, "Production")
    c.set_registered_model_alias(n, "champion", 2)
    return Ctx(n, n2, exp_name, exp_id, run.info.run_id, other.info.run_id, info.model_id, f"{MISSING}-{token}")


@pytest.fixture
def c():
    return MlflowClient()


# ------------------------------------------------------------------------------------ the cases
@dataclass
class Case:
    id: str
    status: int
    code: str | None
    message: str | None = None  # formatted with the Ctx fields; None = not checked
    prefix: bool = False  # message is a prefix (MLflow's tail leaks SQL / Python set order)
    client: Callable | None = None  # (client, ctx) -> raises
    raw: Callable | None = None  # (httpx client, ctx) -> Response
    client_code: str | None = None  # when the client raises a different code than the raw body
    client_message: str | None = None  # full str(exception) for client-side errors
    marks: tuple = ()





MV_NOT_FOUND = "Model Version (name={N}, version=99) not found"
RM_NOT_FOUND = "Registered Model with name={missing} not found"
STAGE_MSG = "Invalid Model Version stage: Foo. Value must be one of None, Staging, Production, Archived."

CASES = [
    # ---------------------------------------------------------------- registered models
    Case("E01_duplicate_registered_model", 400, "RESOURCE_ALREADY_EXISTS",
         "Registered Model (name={N}) already exists.",
         client=lambda c, x: c.create_registered_model(x.N),
         raw=lambda api, x: api.post(f"{A2}/registered-models/create", json={"name": x.N})),
    Case("E07_get_missing_registered_model", 404, "RESOURCE_DOES_NOT_EXIST", RM_NOT_FOUND,
         client=lambda c, x: c.get_registered_model(x.missing),
         raw=lambda api, x: api.get(f"{A2}/registered-models/get", params={"name": x.missing})),
    Case("E08_create_registered_model_empty_name", 400, "INVALID_PARAMETER_VALUE",
         f"Missing value for required parameter 'name'. {API_DOCS}",
         client=lambda c, x: c.create_registered_model(""),
         raw=lambda api, x: api.post(f"{A2}/registered-models/create", json={"name": ""})),
    Case("E09_name_with_slash", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model name 'bad/name'. Names cannot contain '/' or ':'.",
         client=lambda c, x: c.create_registered_model("bad/name"),
         raw=lambda api, x: api.post(f"{A2}/registered-models/create", json={"name": "bad/name"})),
    Case("E10_name_with_colon", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model name 'bad:name'. Names cannot contain '/' or ':'.",
         client=lambda c, x: c.create_registered_model("bad:name"),
         raw=lambda api, x: api.post(f"{A2}/registered-models/create", json={"name": "bad:name"})),
    Case("E11_rename_onto_existing", 400, "RESOURCE_ALREADY_EXISTS",
         "Registered Model (name={N2}) already exists.", prefix=True,
         client=lambda c, x: c.rename_registered_model(x.N, x.N2),
         raw=lambda api, x: api.post(f"{A2}/registered-models/rename", json={"name": x.N, "new_name": x.N2})),
    Case("E12_rename_missing", 404, "RESOURCE_DOES_NOT_EXIST", RM_NOT_FOUND,
         client=lambda c, x: c.rename_registered_model(x.missing, x.missing + "-new"),
         raw=lambda api, x: api.post(f"{A2}/registered-models/rename",
                                     json={"name": x.missing, "new_name": x.missing + "-new"})),
    Case("E12b_rename_to_empty", 400, "INVALID_PARAMETER_VALUE",
         f"Missing value for required parameter 'new_name'. {API_DOCS}",
         client=lambda c, x: c.rename_registered_model(x.N, ""),
         client_code="INTERNAL_ERROR", client_message="The name must not be an empty string.",  # client-side
         raw=lambda api, x: api.post(f"{A2}/registered-models/rename", json={"name": x.N, "new_name": ""})),
    Case("update_missing_registered_model", 404, "RESOURCE_DOES_NOT_EXIST", RM_NOT_FOUND,
         client=lambda c, x: c.update_registered_model(x.missing, description="d"),
         raw=lambda api, x: api.patch(f"{A2}/registered-models/update", json={"name": x.missing, "description": "d"})),
    Case("E19_delete_missing_registered_model", 404, "RESOURCE_DOES_NOT_EXIST", RM_NOT_FOUND,
         client=lambda c, x: c.delete_registered_model(x.missing),
         raw=lambda api, x: api.request("DELETE", f"{A2}/registered-models/delete", json={"name": x.missing})),
    Case("E20_set_tag_missing_registered_model", 404, "RESOURCE_DOES_NOT_EXIST", RM_NOT_FOUND,
         client=lambda c, x: c.set_registered_model_tag(x.missing, "k", "v"),
         raw=lambda api, x: api.post(f"{A2}/registered-models/set-tag",
                                     json={"name": x.missing, "key": "k", "value": "v"})),
    Case("E45_get_latest_versions_missing_model", 404, "RESOURCE_DOES_NOT_EXIST", RM_NOT_FOUND,
         client=lambda c, x: c.get_latest_versions(x.missing),
         raw=lambda api, x: api.post(f"{A2}/registered-models/get-latest-versions", json={"name": x.missing})),
    Case("E36_get_latest_versions_invalid_stage", 400, "INVALID_PARAMETER_VALUE", STAGE_MSG,
         client=lambda c, x: c.get_latest_versions(x.N, stages=["Foo"]),
         raw=lambda api, x: api.post(f"{A2}/registered-models/get-latest-versions",
                                     json={"name": x.N, "stages": ["Foo"]})),
    # ---------------------------------------------------------------- stages
    Case("E02_transition_invalid_stage", 400, "INVALID_PARAMETER_VALUE", STAGE_MSG,
         client=lambda c, x: c.transition_model_version_stage(x.N, 2, "Foo"),
         raw=lambda api, x: api.post(f"{A2}/model-versions/transition-stage",
                                     json={"name": x.N, "version": "2", "stage": "Foo",
                                           "archive_existing_versions": False})),
    # MLflow answers these two with 500 INTERNAL_ERROR (a bug); a compatible server must use 400
    Case("E04_archive_existing_with_stage_archived", 400, "INVALID_PARAMETER_VALUE",
         client=lambda c, x: c.transition_model_version_stage(x.N, 1, "Archived",
                                                              archive_existing_versions=True),
         raw=lambda api, x: api.post(f"{A2}/model-versions/transition-stage",
                                     json={"name": x.N, "version": "1", "stage": "Archived",
                                           "archive_existing_versions": True})),
    Case("E04b_archive_existing_with_stage_none", 400, "INVALID_PARAMETER_VALUE",
         client=lambda c, x: c.transition_model_version_stage(x.N, 1, "None",
                                                              archive_existing_versions=True),
         raw=lambda api, x: api.post(f"{A2}/model-versions/transition-stage",
                                     json={"name": x.N, "version": "1", "stage": "None",
                                           "archive_existing_versions": True})),
    Case("E48_transition_missing_version", 404, "RESOURCE_DOES_NOT_EXIST", MV_NOT_FOUND,
         client=lambda c, x: c.transition_model_version_stage(x.N, 99, "Staging"),
         raw=lambda api, x: api.post(f"{A2}/model-versions/transition-stage",
                                     json={"name": x.N, "version": "99", "stage": "Staging",
                                           "archive_existing_versions": False})),
    # ---------------------------------------------------------------- model versions
    Case("E05_get_missing_version", 404, "RESOURCE_DOES_NOT_EXIST", MV_NOT_FOUND,
         client=lambda c, x: c.get_model_version(x.N, 99),
         raw=lambda api, x: api.get(f"{A2}/model-versions/get", params={"name": x.N, "version": "99"})),
    Case("E06_version_not_an_integer", 400, "INVALID_PARAMETER_VALUE",
         "Parameter 'version' must be an integer, got 'abc'.",
         client=lambda c, x: c.get_model_version(x.N, "abc"),
         raw=lambda api, x: api.get(f"{A2}/model-versions/get", params={"name": x.N, "version": "abc"})),
    Case("E37_update_missing_version", 404, "RESOURCE_DOES_NOT_EXIST", MV_NOT_FOUND,
         client=lambda c, x: c.update_model_version(x.N, 99, description="x"),
         raw=lambda api, x: api.patch(f"{A2}/model-versions/update",
                                      json={"name": x.N, "version": "99", "description": "x"})),
    Case("E18_delete_missing_version", 404, "RESOURCE_DOES_NOT_EXIST", MV_NOT_FOUND,
         client=lambda c, x: c.delete_model_version(x.N, 99),
         raw=lambda api, x: api.request("DELETE", f"{A2}/model-versions/delete",
                                        json={"name": x.N, "version": "99"})),
    Case("E46_download_uri_missing_version", 404, "RESOURCE_DOES_NOT_EXIST", MV_NOT_FOUND,
         client=lambda c, x: c.get_model_version_download_uri(x.N, 99),
         raw=lambda api, x: api.get(f"{A2}/model-versions/get-download-uri", params={"name": x.N, "version": "99"})),
    Case("set_tag_missing_version", 404, "RESOURCE_DOES_NOT_EXIST", MV_NOT_FOUND,
         client=lambda c, x: c.set_model_version_tag(x.N, 99, "k", "v"),
         raw=lambda api, x: api.post(f"{A2}/model-versions/set-tag",
                                     json={"name": x.N, "version": "99", "key": "k", "value": "v"})),
    # MLflow validates the source before it looks the registered model up (reference E22)
    Case("E22_version_source_not_tied_to_a_run", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model version source: 'mlflow-artifacts:/0/x/artifacts/model'. The run_id request "
         "parameter must identify the resource that contains the source.",
         client=lambda c, x: c.create_model_version(x.missing, "mlflow-artifacts:/0/x/artifacts/model"),
         raw=lambda api, x: api.post(f"{A2}/model-versions/create",
                                     json={"name": x.missing, "source": "mlflow-artifacts:/0/x/artifacts/model"})),
    Case("E22b_version_source_not_tied_to_a_run_existing_model", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model version source: 'mlflow-artifacts:/0/x/artifacts/model'. The run_id request "
         "parameter must identify the resource that contains the source.",
         client=lambda c, x: c.create_model_version(x.N2, "mlflow-artifacts:/0/x/artifacts/model"),
         raw=lambda api, x: api.post(f"{A2}/model-versions/create",
                                     json={"name": x.N2, "source": "mlflow-artifacts:/0/x/artifacts/model"})),
    Case("E22c_version_source_outside_the_given_run", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model version source: 'mlflow-artifacts:/{exp_id}/{other_run_id}/artifacts/model'. The run_id "
         "request parameter must identify the resource that contains the source.",
         client=lambda c, x: c.create_model_version(
             x.N2, f"mlflow-artifacts:/{x.exp_id}/{x.other_run_id}/artifacts/model", run_id=x.run_id),
         raw=lambda api, x: api.post(f"{A2}/model-versions/create", json={
             "name": x.N2, "source": f"mlflow-artifacts:/{x.exp_id}/{x.other_run_id}/artifacts/model",
             "run_id": x.run_id})),
    Case("version_source_local_path_without_run", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model version source: '/etc/passwd'. To use a local path as a model version source, the "
         "run_id request parameter has to be specified and the local path has to be contained within the "
         "artifact directory of the run specified by the run_id.",
         client=lambda c, x: c.create_model_version(x.N2, "/etc/passwd"),
         raw=lambda api, x: api.post(f"{A2}/model-versions/create", json={"name": x.N2, "source": "/etc/passwd"})),
    Case("version_source_file_uri_without_run", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model version source: '/etc'. To use a local path as a model version source, the run_id "
         "request parameter has to be specified", prefix=True,
         client=lambda c, x: c.create_model_version(x.N2, "file:///etc"),
         raw=lambda api, x: api.post(f"{A2}/model-versions/create", json={"name": x.N2, "source": "file:///etc"})),
    Case("runs_source_without_run_id", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model version source: 'runs:/{run_id}/model'. The run_id request parameter must identify "
         "the resource that contains the source.",
         client=lambda c, x: c.create_model_version(x.N2, f"runs:/{x.run_id}/model"),
         raw=lambda api, x: api.post(f"{A2}/model-versions/create",
                                     json={"name": x.N2, "source": f"runs:/{x.run_id}/model"})),
    Case("runs_source_with_another_run_id", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model version source: 'runs:/{run_id}/model'. The run_id request parameter must identify "
         "the resource that contains the source.",
         client=lambda c, x: c.create_model_version(x.N2, f"runs:/{x.run_id}/model", run_id=x.other_run_id),
         raw=lambda api, x: api.post(f"{A2}/model-versions/create", json={
             "name": x.N2, "source": f"runs:/{x.run_id}/model", "run_id": x.other_run_id})),
    Case("models_source_with_another_model_id", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model version source: 'models:/{model_id}'. The model_id request parameter must "
         "identify the resource that contains the source.",
         client=lambda c, x: c.create_model_version(x.N2, f"models:/{x.model_id}", model_id="m-" + "1" * 32),
         raw=lambda api, x: api.post(f"{A2}/model-versions/create", json={
             "name": x.N2, "source": f"models:/{x.model_id}", "model_id": "m-" + "1" * 32})),
    Case("E42_version_source_path_traversal", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model version source: 'mlflow-artifacts:/0/../../etc/passwd'.", prefix=True,
         client=lambda c, x: c.create_model_version(x.N2, "mlflow-artifacts:/0/../../etc/passwd"),
         raw=lambda api, x: api.post(f"{A2}/model-versions/create",
                                     json={"name": x.N2, "source": "mlflow-artifacts:/0/../../etc/passwd"})),
    Case("E42b_version_source_path_traversal_with_run", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model version source: 'mlflow-artifacts:/{exp_id}/{run_id}/artifacts/../../../etc'.",
         prefix=True,
         client=lambda c, x: c.create_model_version(
             x.N2, f"mlflow-artifacts:/{x.exp_id}/{x.run_id}/artifacts/../../../etc", run_id=x.run_id),
         raw=lambda api, x: api.post(f"{A2}/model-versions/create", json={
             "name": x.N2, "source": f"mlflow-artifacts:/{x.exp_id}/{x.run_id}/artifacts/../../../etc",
             "run_id": x.run_id})),
    Case("E42c_version_source_encoded_traversal", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model version source: 'mlflow-artifacts:/0/x/..%2F..%2Fy'.", prefix=True,
         client=lambda c, x: c.create_model_version(x.N2, "mlflow-artifacts:/0/x/..%2F..%2Fy"),
         raw=lambda api, x: api.post(f"{A2}/model-versions/create",
                                     json={"name": x.N2, "source": "mlflow-artifacts:/0/x/..%2F..%2Fy"})),
    Case("E42d_version_source_encoded_traversal_inside_the_run", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model version source: 'mlflow-artifacts:/{exp_id}/{run_id}/artifacts/..%2F..%2F..%2Fetc'.",
         prefix=True,
         client=lambda c, x: c.create_model_version(
             x.N2, f"mlflow-artifacts:/{x.exp_id}/{x.run_id}/artifacts/..%2F..%2F..%2Fetc", run_id=x.run_id),
         raw=lambda api, x: api.post(f"{A2}/model-versions/create", json={
             "name": x.N2, "source": f"mlflow-artifacts:/{x.exp_id}/{x.run_id}/artifacts/..%2F..%2F..%2Fetc",
             "run_id": x.run_id})),
    Case("models_source_without_model_id", 400, "INVALID_PARAMETER_VALUE",
         "Invalid model version source: 'models:/{model_id}'. The model_id request parameter must "
         "identify the resource that contains the source.",
         client=lambda c, x: c.create_model_version(x.N, f"models:/{x.model_id}", run_id=x.run_id),
         raw=lambda api, x: api.post(f"{A2}/model-versions/create",
                                     json={"name": x.N, "source": f"models:/{x.model_id}", "run_id": x.run_id})),
    Case("version_for_missing_model", 404, "RESOURCE_DOES_NOT_EXIST", RM_NOT_FOUND,
         client=lambda c, x: c.create_model_version(x.missing, f"models:/{x.model_id}", model_id=x.model_id),
         raw=lambda api, x: api.post(f"{A2}/model-versions/create",
                                     json={"name": x.missing, "source": f"models:/{x.model_id}",
                                           "model_id": x.model_id})),
    Case("E38_set_version_tag_empty_key", 400, "INVALID_PARAMETER_VALUE",
         f"Missing value for required parameter 'key'. {API_DOCS}",
         client=lambda c, x: c.set_model_version_tag(x.N, 2, "", "v"),
         raw=lambda api, x: api.post(f"{A2}/model-versions/set-tag",
                                     json={"name": x.N, "version": "2", "key": "", "value": "v"})),
    Case("E38b_set_version_tag_key_with_dotdot", 400, "INVALID_PARAMETER_VALUE",
         "Invalid value \"../x\" for parameter 'key' supplied: Names may be treated as files in certain "
         "cases, and must not resolve to other names when treated as such. This name would resolve to '../x'",
         client=lambda c, x: c.set_model_version_tag(x.N, 2, "../x", "v"),
         raw=lambda api, x: api.post(f"{A2}/model-versions/set-tag",
                                     json={"name": x.N, "version": "2", "key": "../x", "value": "v"})),
    Case("E43_version_as_json_number", 400, "INVALID_PARAMETER_VALUE",
         f"Invalid value 2 for parameter 'version' supplied:  Hint: Value was of type 'int'. {API_DOCS}",
         raw=lambda api, x: api.request("DELETE", f"{A2}/model-versions/delete", json={"name": x.N, "version": 2})),
    Case("E44_missing_version_param", 400, "INVALID_PARAMETER_VALUE",
         f"Missing value for required parameter 'version'. {API_DOCS}",
         raw=lambda api, x: api.get(f"{A2}/model-versions/get", params={"name": x.N})),
    # ---------------------------------------------------------------- aliases
    Case("E13_set_alias_missing_version", 404, "RESOURCE_DOES_NOT_EXIST", MV_NOT_FOUND,
         client=lambda c, x: c.set_registered_model_alias(x.N, "ghost", 99),
         raw=lambda api, x: api.post(f"{A2}/registered-models/alias",
                                     json={"name": x.N, "alias": "ghost", "version": "99"})),
    Case("E14_alias_latest_reserved", 400, "INVALID_PARAMETER_VALUE",
         "'latest' alias name (case insensitive) is reserved.",
         client=lambda c, x: c.set_registered_model_alias(x.N, "latest", 2),
         raw=lambda api, x: api.post(f"{A2}/registered-models/alias",
                                     json={"name": x.N, "alias": "latest", "version": "2"})),
    Case("E14_alias_LATEST_reserved", 400, "INVALID_PARAMETER_VALUE",
         "'latest' alias name (case insensitive) is reserved.",
         client=lambda c, x: c.set_registered_model_alias(x.N, "LaTeSt", 2),
         raw=lambda api, x: api.post(f"{A2}/registered-models/alias",
                                     json={"name": x.N, "alias": "LaTeSt", "version": "2"})),
    Case("E14b_alias_v1_reserved", 400, "INVALID_PARAMETER_VALUE", "Version alias name 'v1' is reserved.",
         client=lambda c, x: c.set_registered_model_alias(x.N, "v1", 2),
         raw=lambda api, x: api.post(f"{A2}/registered-models/alias",
                                     json={"name": x.N, "alias": "v1", "version": "2"})),
    # the client validates alias names itself (an MlflowException, no request)
    Case("E15_alias_invalid_characters", 400, "INVALID_PARAMETER_VALUE",
         "Invalid alias name: 'bad alias!'. Names may only contain alphanumerics, underscores (_), and dashes (-).",
         client=lambda c, x: c.set_registered_model_alias(x.N, "bad alias!", 2),
         client_message="Invalid alias name: 'bad alias!'. Names may only contain alphanumerics, "
                        "underscores (_), and dashes (-).",
         raw=lambda api, x: api.post(f"{A2}/registered-models/alias",
                                     json={"name": x.N, "alias": "bad alias!", "version": "2"})),
    Case("E16_get_missing_alias", 400, "INVALID_PARAMETER_VALUE", "Registered model alias nope not found.",
         client=lambda c, x: c.get_model_version_by_alias(x.N, "nope"),
         raw=lambda api, x: api.get(f"{A2}/registered-models/alias", params={"name": x.N, "alias": "nope"})),
    Case("E29_alias_of_missing_model", 404, "RESOURCE_DOES_NOT_EXIST", RM_NOT_FOUND,
         client=lambda c, x: mlflow.pyfunc.load_model(f"models:/{x.missing}@champion"),
         raw=lambda api, x: api.get(f"{A2}/registered-models/alias",
                                    params={"name": x.missing, "alias": "champion"})),
    # ---------------------------------------------------------------- loading
    Case("E27_load_missing_version", 404, "RESOURCE_DOES_NOT_EXIST", MV_NOT_FOUND,
         client=lambda c, x: mlflow.pyfunc.load_model(f"models:/{x.N}/99")),
    Case("E28_load_empty_stage", 200, None,
         client=lambda c, x: mlflow.sklearn.load_model(f"models:/{x.N}/Staging"),
         client_code="INTERNAL_ERROR",
         client_message="No versions of model with name '{N}' and stage 'Staging' found"),
    Case("E47_register_model_missing_run", 404, "RESOURCE_DOES_NOT_EXIST", f"Run with id={ZERO_RUN} not found",
         client=lambda c, x: mlflow.register_model(f"runs:/{ZERO_RUN}/model", x.N)),
    # ---------------------------------------------------------------- search
    Case("E23_search_versions_bad_key", 400, "INVALID_PARAMETER_VALUE",
         "Invalid attribute key 'foo' specified.", prefix=True,
         client=lambda c, x: c.search_model_versions("foo = 'x'"),
         raw=lambda api, x: api.get(f"{A2}/model-versions/search", params={"filter": "foo = 'x'"})),
    # MLflow's text continues with its tokenizer's view ("name, ="); Podium's names the position
    Case("E23b_search_versions_bad_syntax", 400, "INVALID_PARAMETER_VALUE",
         "Invalid clause(s) in filter string: ", prefix=True,
         client=lambda c, x: c.search_model_versions("name = "),
         raw=lambda api, x: api.get(f"{A2}/model-versions/search", params={"filter": "name = "})),
    Case("E24_search_models_bad_key", 400, "INVALID_PARAMETER_VALUE",
         # MLflow continues "'{'name'}'" (a Python set); Podium lists the keys and suggests one
         "Invalid attribute key 'version_number' specified. Valid keys are 'name'", prefix=True,
         client=lambda c, x: c.search_registered_models("version_number = 1"),
         raw=lambda api, x: api.get(f"{A2}/registered-models/search", params={"filter": "version_number = 1"})),
    Case("E25_search_models_max_results_too_big", 400, "INVALID_PARAMETER_VALUE",
         client=lambda c, x: c.search_registered_models(max_results=5000),
         raw=lambda api, x: api.get(f"{A2}/registered-models/search", params={"max_results": "5000"})),
    Case("E26_search_models_bad_page_token", 400, "INVALID_PARAMETER_VALUE",
         client=lambda c, x: c.search_registered_models(page_token="garbage"),
         raw=lambda api, x: api.get(f"{A2}/registered-models/search", params={"page_token": "garbage"})),
    Case("search_versions_bad_page_token", 400, "INVALID_PARAMETER_VALUE",
         client=lambda c, x: c.search_model_versions(f"name = '{x.N}'", page_token="garbage"),
         raw=lambda api, x: api.get(f"{A2}/model-versions/search", params={"page_token": "garbage"})),
    Case("search_runs_bad_page_token", 400, "INVALID_PARAMETER_VALUE",
         client=lambda c, x: c.search_runs([x.exp_id], page_token="garbage"),
         raw=lambda api, x: api.post(f"{A2}/runs/search", json={"experiment_ids": [x.exp_id],
                                                                "page_token": "garbage"})),
    Case("search_runs_bad_filter", 400, "INVALID_PARAMETER_VALUE",
         client=lambda c, x: c.search_runs([x.exp_id], "metrics.acc >> 1"),
         raw=lambda api, x: api.post(f"{A2}/runs/search", json={"experiment_ids": [x.exp_id],
                                                                "filter": "metrics.acc >> 1"})),
    # ---------------------------------------------------------------- request shape
    Case("E31_missing_required_query_param", 400, "INVALID_PARAMETER_VALUE",
         f"Missing value for required parameter 'name'. {API_DOCS}",
         raw=lambda api, x: api.get(f"{A2}/registered-models/get")),
    Case("E31b_missing_required_body_param", 400, "INVALID_PARAMETER_VALUE",
         f"Missing value for required parameter 'name'. {API_DOCS}",
         raw=lambda api, x: api.post(f"{A2}/registered-models/create", json={})),
    Case("E34_malformed_json_body", 400, "INVALID_PARAMETER_VALUE",
         raw=lambda api, x: api.post(f"{A2}/registered-models/create", content=b"{not json",
                                     headers={"Content-Type": "application/json"})),
    Case("E35_wrong_json_type", 400, "INVALID_PARAMETER_VALUE",
         f"Invalid value 123 for parameter 'name' supplied:  Hint: Value was of type 'int'. {API_DOCS}",
         raw=lambda api, x: api.post(f"{A2}/registered-models/create", json={"name": 123})),
    # MLflow sends Flask HTML pages for these two; the client maps the status (404 -> ENDPOINT_NOT_FOUND)
    Case("E32_unknown_endpoint_get", 404, None,
         raw=lambda api, x: api.get(f"{A2}/does-not-exist")),
    Case("E32b_unknown_endpoint_post", 404, None,
         raw=lambda api, x: api.post(f"{A2}/does-not-exist", json={})),
    Case("E33_wrong_method", 405, None,
         raw=lambda api, x: api.get(f"{A2}/registered-models/create", params={"name": "x"})),
    # ---------------------------------------------------------------- webhooks (trace: webhooks_api.jsonl)
    Case("W7_get_missing_webhook", 404, "RESOURCE_DOES_NOT_EXIST", "Webhook with ID nonexistent-id not found.",
         client=lambda c, x: c.get_webhook("nonexistent-id"),
         raw=lambda api, x: api.get(f"{A2}/webhooks/nonexistent-id")),
    Case("W7_webhook_url_scheme_not_allowed", 400, "INVALID_PARAMETER_VALUE",
         "Invalid webhook URL scheme: 'ftp'. Allowed schemes are: https.",
         client=lambda c, x: c.create_webhook(name="bad", url="ftp://x", events=["model_version.created"]),
         raw=lambda api, x: api.post(f"{A2}/webhooks", json={"name": "bad", "url": "ftp://x", "events": [
             {"entity": "MODEL_VERSION", "action": "CREATED"}]})),
    Case("W7_webhook_empty_name", 400, "INVALID_PARAMETER_VALUE", f"Missing value for required parameter 'name'. {API_DOCS}",
         raw=lambda api, x: api.post(f"{A2}/webhooks", json={"name": "", "url": "https://x.example/hook", "events": [
             {"entity": "MODEL_VERSION", "action": "CREATED"}]})),
    # ---------------------------------------------------------------- tracking
    Case("E30_get_missing_run", 404, "RESOURCE_DOES_NOT_EXIST", f"Run with id={ZERO_RUN} not found",
         client=lambda c, x: c.get_run(ZERO_RUN),
         raw=lambda api, x: api.get(f"{A2}/runs/get", params={"run_id": ZERO_RUN})),
    Case("E41_log_metric_missing_run", 404, "RESOURCE_DOES_NOT_EXIST", f"Run with id={ZERO_RUN} not found",
         client=lambda c, x: c.log_metric(ZERO_RUN, "m", 1.0),
         raw=lambda api, x: api.post(f"{A2}/runs/log-metric",
                                     json={"run_id": ZERO_RUN, "key": "m", "value": 1.0, "timestamp": 0})),
    Case("missing_experiment_by_name", 404, "RESOURCE_DOES_NOT_EXIST",
         "Could not find experiment with name '{missing}'",
         raw=lambda api, x: api.get(f"{A2}/experiments/get-by-name", params={"experiment_name": x.missing})),
    Case("E40_duplicate_experiment", 400, "RESOURCE_ALREADY_EXISTS",
         "Experiment(name={exp_name}) already exists.", prefix=True,
         client=lambda c, x: c.create_experiment(x.exp_name),
         raw=lambda api, x: api.post(f"{A2}/experiments/create", json={"name": x.exp_name})),
    Case("get_missing_experiment", 404, "RESOURCE_DOES_NOT_EXIST",
         client=lambda c, x: c.get_experiment("987654321"),
         raw=lambda api, x: api.get(f"{A2}/experiments/get", params={"experiment_id": "987654321"})),
    Case("get_missing_logged_model", 404, "RESOURCE_DOES_NOT_EXIST",
         client=lambda c, x: c.get_logged_model("m-" + "0" * 32),
         raw=lambda api, x: api.get(f"{A2}/logged-models/m-{'0' * 32}")),
    # ---------------------------------------------------------------- artifacts
    Case("E39_download_missing_artifact", 404, "RESOURCE_DOES_NOT_EXIST",
         "No such artifact: '0/nope/artifacts/x.txt'",
         raw=lambda api, x: api.get(f"{ART}/0/nope/artifacts/x.txt")),
    Case("E39c_artifact_list_path_traversal", 400, "INVALID_PARAMETER_VALUE", "Invalid path",
         raw=lambda api, x: api.get(ART, params={"path": "../../etc"})),
    Case("artifact_download_path_traversal", 400, "INVALID_PARAMETER_VALUE",
         raw=lambda api, x: api.get(f"{ART}/0/..%2F..%2F..%2Fetc/passwd")),
    Case("artifact_upload_path_traversal", 400, "INVALID_PARAMETER_VALUE",
         raw=lambda api, x: api.put(f"{ART}/0/..%2F..%2Fescape.txt", content=b"x")),
]


def _fmt(text, ctx):
    return None if text is None else text.format(**vars(ctx))


def _params(kind):
    out = []
    for case in CASES:
        if getattr(case, kind) is None:
            continue
        out.append(pytest.param(case, id=case.id, marks=case.marks))
    return out


@pytest.mark.parametrize("case", _params("client"))
def test_client_error(case, c, ctx):
    with pytest.raises(MlflowException) as e:
        case.client(c, ctx)
    exc = e.value
    expected_code = case.client_code or case.code
    assert exc.error_code == expected_code, str(exc)
    if case.client_message is not None:
        assert _fmt(case.client_message, ctx) in str(exc)
    elif case.message is not None:
        assert isinstance(exc, RestException), repr(exc)
        expected = f"{case.code}: {_fmt(case.message, ctx)}"
        if case.prefix:
            assert exc.message.startswith(expected), exc.message
        else:
            assert exc.message == expected
    assert "Max retries exceeded" not in str(exc)  # a 5xx would show up like this


@pytest.mark.parametrize("case", _params("raw"))
def test_raw_error(case, api, ctx):
    r = case.raw(api, ctx)
    assert r.status_code == case.status, f"{r.status_code}: {r.text[:500]}"
    assert r.status_code < 500
    if case.code is None:
        return
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body = r.json()
    assert body["error_code"] == case.code, body
    assert isinstance(body.get("message"), str) and body["message"], body
    if case.message is not None:
        expected = _fmt(case.message, ctx)
        if case.prefix:
            assert body["message"].startswith(expected), body
        else:
            assert body["message"] == expected, body


# ---------------------------------------------------------------- idempotent deletes (200 {})
@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(lambda api, x: api.request("DELETE", f"{A2}/registered-models/alias",
                                                json={"name": x.N, "alias": "nope"}), id="E17_delete_missing_alias"),
        pytest.param(lambda api, x: api.request("DELETE", f"{A2}/registered-models/delete-tag",
                                                json={"name": x.N, "key": "no-such-tag"}),
                     id="E21_delete_missing_rm_tag"),
        pytest.param(lambda api, x: api.request("DELETE", f"{A2}/model-versions/delete-tag",
                                                json={"name": x.N, "version": "2", "key": "no-such-tag"}),
                     id="E21b_delete_missing_mv_tag"),
    ],
)
def test_deleting_something_missing_is_200(request_, api, ctx):
    r = request_(api, ctx)
    assert r.status_code == 200, r.text
    assert r.json() == {}


def test_deleting_something_missing_through_the_client(c, ctx):
    assert c.delete_registered_model_alias(ctx.N, "nope") is None
    assert c.delete_registered_model_tag(ctx.N, "no-such-tag") is None
    assert c.delete_model_version_tag(ctx.N, 2, "no-such-tag") is None


def test_E39b_listing_a_missing_artifact_dir_is_empty(api):
    r = api.get(ART, params={"path": "0/nope/artifacts"})
    assert r.status_code == 200
    assert r.json() == {}


def test_E03_lowercase_stage_is_accepted(c, ctx):
    mv = c.transition_model_version_stage(ctx.N, 2, "production")
    assert mv.current_stage == "Production"


def test_E10b_name_with_spaces_is_accepted(c, ctx):
    assert c.create_registered_model(f"{ctx.N} with spaces").name == f"{ctx.N} with spaces"


def test_archive_existing_versions_error_changes_nothing(c, ctx):
    """After the 400, the version keeps its stage (the request was rejected, not half-applied)."""
    name = f"{ctx.N}-arch-check"
    c.create_registered_model(name)
    c.create_model_version(name, f"models:/{ctx.model_id}", model_id=ctx.model_id)
    c.transition_model_version_stage(name, 1, "Staging")
    with pytest.raises(RestException) as e:
        c.transition_model_version_stage(name, 1, "Archived", archive_existing_versions=True)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert c.get_model_version(name, 1).current_stage == "Staging"


# ---------------------------------------------------------------- IS NULL must not be a 500
@pytest.mark.parametrize(
    "path, filter_string",
    [
        ("registered-models/search", "tags.task IS NULL"),
        ("registered-models/search", "tags.task IS NOT NULL"),
        ("model-versions/search", "tags.task IS NULL"),
        ("registered-models/search", "name IS NULL"),
    ],
)
def test_is_null_filters_are_never_a_5xx(api, c, path, filter_string):
    r = api.get(f"{A2}/{path}", params={"filter": filter_string})
    assert r.status_code in (200, 400), f"{r.status_code}: {r.text[:300]}"
    if r.status_code == 400:
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    search = c.search_registered_models if path.startswith("registered") else c.search_model_versions
    try:
        search(filter_string)
    except RestException as e:
        assert e.error_code == "INVALID_PARAMETER_VALUE"


def test_runs_search_is_null_is_never_a_5xx(api, ctx):
    r = api.post(f"{A2}/runs/search", json={"experiment_ids": [ctx.exp_id], "filter": "tags.x IS NULL"})
    assert r.status_code in (200, 400), f"{r.status_code}: {r.text[:300]}"


def test_error_bodies_are_mlflow_shaped(api, ctx):
    """``error_code`` and ``message`` always; ``sqlstate``/``error_class`` are optional for the client."""
    r = api.get(f"{A2}/registered-models/get", params={"name": ctx.missing})
    body = r.json()
    assert set(body) >= {"error_code", "message"}
    assert all(isinstance(v, str) for v in body.values())


# ---------------------------------------------------------------- integers beyond int64
HUGE = "99999999999999999999999"


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(lambda api, x: api.get(f"{A2}/model-versions/get", params={"name": x.N, "version": HUGE}),
                     id="model-versions/get"),
        pytest.param(lambda api, x: api.request("DELETE", f"{A2}/model-versions/delete",
                                                json={"name": x.N, "version": HUGE}), id="model-versions/delete"),
        pytest.param(lambda api, x: api.post(f"{A2}/registered-models/alias",
                                             json={"name": x.N, "alias": "a", "version": HUGE}), id="alias"),
        pytest.param(lambda api, x: api.get(f"{A2}/model-versions/search",
                                            params={"filter": f"version_number = {HUGE}"}), id="mv-search-filter"),
        pytest.param(lambda api, x: api.get(f"{A2}/experiments/get", params={"experiment_id": HUGE}),
                     id="experiments/get"),
        pytest.param(lambda api, x: api.post(f"{A2}/runs/create", json={"experiment_id": HUGE}), id="runs/create"),
        pytest.param(lambda api, x: api.post(f"{A2}/runs/search", json={
            "experiment_ids": [x.exp_id], "filter": f"attributes.start_time > {HUGE}"}), id="runs-search-start_time"),
        pytest.param(lambda api, x: api.post(f"{A2}/runs/search", json={
            "experiment_ids": [x.exp_id], "filter": f"metrics.m > {HUGE}"}), id="runs-search-metric"),
        pytest.param(lambda api, x: api.post(f"{A2}/experiments/search", json={"filter": f"creation_time > {HUGE}"}),
                     id="experiments-search"),
        pytest.param(lambda api, x: api.post(f"{A2}/logged-models/search", json={
            "experiment_ids": [x.exp_id], "filter": f"creation_timestamp > {HUGE}"}), id="logged-models-search"),
    ],
)
def test_integers_beyond_int64_are_never_a_5xx(request_, api, ctx):
    r = request_(api, ctx)
    assert r.status_code in (200, 400, 404), f"{r.status_code}: {r.text[:300]}"


def test_huge_version_through_the_client(c, ctx):
    with pytest.raises(RestException) as e:
        c.get_model_version(ctx.N, HUGE)
    assert e.value.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")


def test_huge_metric_threshold_through_the_client(c, ctx):
    # MLflow compares metrics as floats: nothing is above 1e22, the answer is an empty list
    assert c.search_runs([ctx.exp_id], f"metrics.m > {HUGE}") == []


def test_int64_edge_values_are_fine(api, ctx):
    big = str(2**63 - 1)
    r = api.get(f"{A2}/model-versions/get", params={"name": ctx.N, "version": "2"})
    assert r.status_code == 200
    r = api.get(f"{A2}/model-versions/search", params={"filter": f"name = '{ctx.N}' AND version_number < {big}"})
    assert r.status_code == 200 and len(r.json()["model_versions"]) >= 2


def test_or_in_filters_is_a_documented_podium_extension(c, ctx):
    """MLflow answers ``… OR …`` with 400 "Invalid clause(s)"; Podium evaluates it (docs/mlflow-compatibility.md)."""
    found = c.search_model_versions(f"name = '{ctx.N}' OR name = '{ctx.N2}'")
    assert ctx.N in {v.name for v in found} <= {ctx.N, ctx.N2}
    found = c.search_registered_models(f"name = '{ctx.N}' OR name = '{ctx.N2}'")
    assert {rm.name for rm in found} == {ctx.N, ctx.N2}
