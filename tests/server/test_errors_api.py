"""Every error case of the reference's §3 table: status, error_code and message, as MLflow sends them.

Where MLflow answers a client mistake with 500 (and the mlflow client then retries for minutes),
Podium answers 400; unknown routes and wrong methods get JSON bodies instead of Flask's HTML pages.
"""

from __future__ import annotations

import pytest

from .helpers import A2, ART, error, ok

MISSING = "Missing value for required parameter '{}'. See the API docs for more information about request parameters."
WRONG_TYPE = ("Invalid value {} for parameter '{}' supplied:  Hint: Value was of type '{}'. "
              "See the API docs for more information about request parameters.")
NO_RUN = "0" * 32


@pytest.fixture(scope="module")
def model(api):
    """A registered model with versions 1 and 2 (from a run), like the reference's wine model."""
    name = "errors-wine"
    exp = ok(api.post(f"{A2}/experiments/create", json={"name": "errors-exp"}))["experiment_id"]
    run_id = ok(api.post(f"{A2}/runs/create", json={"experiment_id": exp}))["run"]["info"]["run_id"]
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    for _ in range(2):
        ok(api.post(f"{A2}/model-versions/create", json={"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id}))
    ok(api.post(f"{A2}/registered-models/create", json={"name": "errors-other"}))
    return name


def _mv_not_found(name, version="99"):
    return f"Model Version (name={name}, version={version}) not found"


def test_duplicate_registered_model(api, model):
    error(api.post(f"{A2}/registered-models/create", json={"name": model}), 400, "RESOURCE_ALREADY_EXISTS",
          f"Registered Model (name={model}) already exists.")


def test_rename_onto_existing_model(api, model):
    body = error(api.post(f"{A2}/registered-models/rename", json={"name": model, "new_name": "errors-other"}),
                 400, "RESOURCE_ALREADY_EXISTS")
    assert body["message"].startswith("Registered Model (name=errors-other) already exists.")


def test_duplicate_experiment(api, model):
    body = error(api.post(f"{A2}/experiments/create", json={"name": "errors-exp"}), 400, "RESOURCE_ALREADY_EXISTS")
    assert body["message"].startswith("Experiment(name=errors-exp) already exists.")


STAGE_MESSAGE = "Invalid Model Version stage: Foo. Value must be one of None, Staging, Production, Archived."


def test_invalid_stage_in_transition_and_latest_versions(api, model):
    body = {"name": model, "version": "2", "stage": "Foo", "archive_existing_versions": False}
    error(api.post(f"{A2}/model-versions/transition-stage", json=body), 400, "INVALID_PARAMETER_VALUE", STAGE_MESSAGE)
    error(api.post(f"{A2}/registered-models/get-latest-versions", json={"name": model, "stages": ["Foo"]}),
          400, "INVALID_PARAMETER_VALUE", STAGE_MESSAGE)


@pytest.mark.parametrize("stage", ["Archived", "None"])
def test_archive_existing_with_inactive_stage_is_400_not_500(api, model, stage):
    body = {"name": model, "version": "1", "stage": stage, "archive_existing_versions": True}
    message = error(api.post(f"{A2}/model-versions/transition-stage", json=body), 400, "INVALID_PARAMETER_VALUE")["message"]
    assert message.startswith("Model version transition cannot archive existing model versions")


def test_missing_version_is_404_everywhere(api, model):
    nf = _mv_not_found(model)
    error(api.get(f"{A2}/model-versions/get", params={"name": model, "version": "99"}), 404, "RESOURCE_DOES_NOT_EXIST", nf)
    error(api.patch(f"{A2}/model-versions/update", json={"name": model, "version": "99", "description": "x"}),
          404, "RESOURCE_DOES_NOT_EXIST", nf)
    error(api.request("DELETE", f"{A2}/model-versions/delete", json={"name": model, "version": "99"}),
          404, "RESOURCE_DOES_NOT_EXIST", nf)
    error(api.post(f"{A2}/model-versions/transition-stage",
                   json={"name": model, "version": "99", "stage": "Staging", "archive_existing_versions": False}),
          404, "RESOURCE_DOES_NOT_EXIST", nf)
    error(api.get(f"{A2}/model-versions/get-download-uri", params={"name": model, "version": "99"}),
          404, "RESOURCE_DOES_NOT_EXIST", nf)
    error(api.post(f"{A2}/registered-models/alias", json={"name": model, "alias": "ghost", "version": "99"}),
          404, "RESOURCE_DOES_NOT_EXIST", nf)


def test_non_integer_version(api, model):
    error(api.get(f"{A2}/model-versions/get", params={"name": model, "version": "abc"}), 400,
          "INVALID_PARAMETER_VALUE", "Parameter 'version' must be an integer, got 'abc'.")


def test_missing_registered_model_is_404_everywhere(api):
    nf = "Registered Model with name=no-such-model-xyz not found"
    name = {"name": "no-such-model-xyz"}
    error(api.get(f"{A2}/registered-models/get", params=name), 404, "RESOURCE_DOES_NOT_EXIST", nf)
    error(api.post(f"{A2}/registered-models/rename", json={**name, "new_name": "whatever-xyz"}), 404,
          "RESOURCE_DOES_NOT_EXIST", nf)
    error(api.request("DELETE", f"{A2}/registered-models/delete", json=name), 404, "RESOURCE_DOES_NOT_EXIST", nf)
    error(api.post(f"{A2}/registered-models/set-tag", json={**name, "key": "k", "value": "v"}), 404,
          "RESOURCE_DOES_NOT_EXIST", nf)
    error(api.post(f"{A2}/registered-models/get-latest-versions", json=name), 404, "RESOURCE_DOES_NOT_EXIST", nf)
    error(api.get(f"{A2}/registered-models/alias", params={**name, "alias": "champion"}), 404,
          "RESOURCE_DOES_NOT_EXIST", nf)


@pytest.mark.parametrize("bad", ["bad/name", "bad:name"])
def test_model_name_with_slash_or_colon(api, bad):
    error(api.post(f"{A2}/registered-models/create", json={"name": bad}), 400, "INVALID_PARAMETER_VALUE",
          f"Invalid model name '{bad}'. Names cannot contain '/' or ':'.")


def test_empty_names_are_missing_values(api, model):
    error(api.post(f"{A2}/registered-models/create", json={"name": ""}), 400, "INVALID_PARAMETER_VALUE",
          MISSING.format("name"))
    error(api.post(f"{A2}/registered-models/rename", json={"name": model, "new_name": ""}), 400,
          "INVALID_PARAMETER_VALUE", MISSING.format("new_name"))


@pytest.mark.parametrize("alias, message", [
    ("latest", "'latest' alias name (case insensitive) is reserved."),
    ("v1", "Version alias name 'v1' is reserved."),
    ("bad alias!", "Invalid alias name: 'bad alias!'. Names may only contain alphanumerics, underscores (_), and dashes (-)."),
])
def test_invalid_alias_names(api, model, alias, message):
    error(api.post(f"{A2}/registered-models/alias", json={"name": model, "alias": alias, "version": "2"}),
          400, "INVALID_PARAMETER_VALUE", message)


def test_missing_alias_is_400(api, model):
    error(api.get(f"{A2}/registered-models/alias", params={"name": model, "alias": "nope"}), 400,
          "INVALID_PARAMETER_VALUE", "Registered model alias nope not found.")


@pytest.mark.parametrize("path, filter_string, message", [
    ("model-versions/search", "foo = 'x'", "Invalid attribute key 'foo' specified."),
    ("model-versions/search", "name = ", "Invalid clause(s) in filter string:"),
    ("registered-models/search", "version_number = 1 AND tag.`mlflow.prompt.is_prompt` != 'true'",
     "Invalid attribute key 'version_number' specified. Valid keys are 'name'"),
])
def test_bad_filters(api, path, filter_string, message):
    body = error(api.get(f"{A2}/{path}", params={"filter": filter_string}), 400, "INVALID_PARAMETER_VALUE")
    assert body["message"].startswith(message)


def test_or_in_filter_is_accepted_unlike_mlflow(api):
    """MLflow refuses OR (400); Podium's filter grammar supports it (docs/rest-api.md, differences)."""
    ok(api.get(f"{A2}/model-versions/search", params={"filter": "name = 'a' OR name = 'b'"}))


def test_is_null_filter_is_a_client_error_not_500(api):
    response = api.get(f"{A2}/registered-models/search", params={"filter": "tags.task IS NULL"})
    assert response.status_code < 500, response.text


def test_search_max_results_caps(api):
    error(api.get(f"{A2}/registered-models/search", params={"max_results": "5000"}), 400, "INVALID_PARAMETER_VALUE",
          WRONG_TYPE.format('"5000"', "max_results", "str"))
    ok(api.get(f"{A2}/registered-models/search", params={"max_results": "1000"}))
    error(api.get(f"{A2}/model-versions/search", params={"max_results": "200001"}), 400, "INVALID_PARAMETER_VALUE")
    ok(api.get(f"{A2}/model-versions/search", params={"max_results": "200000", "filter": "name = 'x'"}))


def test_bad_page_token(api):
    error(api.get(f"{A2}/registered-models/search", params={"page_token": "garbage"}), 400, "INVALID_PARAMETER_VALUE",
          "Invalid page token, could not base64-decode")


def test_missing_required_parameters(api, model):
    error(api.get(f"{A2}/registered-models/get"), 400, "INVALID_PARAMETER_VALUE", MISSING.format("name"))
    error(api.post(f"{A2}/registered-models/create", json={}), 400, "INVALID_PARAMETER_VALUE", MISSING.format("name"))
    error(api.get(f"{A2}/model-versions/get", params={"name": model}), 400, "INVALID_PARAMETER_VALUE",
          MISSING.format("version"))


def test_malformed_json_body_reads_as_empty(api):
    response = api.post(f"{A2}/registered-models/create", content=b"{not json",
                        headers={"Content-Type": "application/json"})
    error(response, 400, "INVALID_PARAMETER_VALUE", MISSING.format("name"))


def test_wrong_json_types(api, model):
    error(api.post(f"{A2}/registered-models/create", json={"name": 123}), 400, "INVALID_PARAMETER_VALUE",
          WRONG_TYPE.format("123", "name", "int"))
    error(api.request("DELETE", f"{A2}/model-versions/delete", json={"name": model, "version": 2}), 400,
          "INVALID_PARAMETER_VALUE", WRONG_TYPE.format("2", "version", "int"))
    error(api.post(f"{A2}/registered-models/create", json={"name": "x", "tags": "notalist"}), 400,
          "INVALID_PARAMETER_VALUE")
    error(api.post(f"{A2}/runs/log-batch", json={"run_id": NO_RUN, "metrics": [{"key": "m", "value": {}}]}), 400,
          "INVALID_PARAMETER_VALUE")


def test_invalid_tag_keys(api, model):
    base = {"name": model, "version": "2", "value": "v"}
    error(api.post(f"{A2}/model-versions/set-tag", json={**base, "key": ""}), 400, "INVALID_PARAMETER_VALUE",
          MISSING.format("key"))
    error(api.post(f"{A2}/model-versions/set-tag", json={**base, "key": "../x"}), 400, "INVALID_PARAMETER_VALUE",
          "Invalid value \"../x\" for parameter 'key' supplied: Names may be treated as files in certain cases, "
          "and must not resolve to other names when treated as such. This name would resolve to '../x'")


def test_version_source_not_tied_to_a_run_or_model(api):
    source = "mlflow-artifacts:/0/x/artifacts/model"
    error(api.post(f"{A2}/model-versions/create", json={"name": "no-such-model-xyz", "source": source}), 400,
          "INVALID_PARAMETER_VALUE",
          f"Invalid model version source: '{source}'. The run_id request parameter must identify the resource "
          "that contains the source.")


def test_version_source_with_path_traversal(api, model):
    body = error(api.post(f"{A2}/model-versions/create",
                          json={"name": model, "source": "mlflow-artifacts:/0/../../etc/passwd"}),
                 400, "INVALID_PARAMETER_VALUE")
    assert "an absolute path must be provided without relative path references present" in body["message"]


def test_models_source_needs_matching_model_id(api, model):
    source = "models:/m-638ec62cd0464e4aa4baa95868f2aa5b"
    error(api.post(f"{A2}/model-versions/create", json={"name": model, "source": source}), 400,
          "INVALID_PARAMETER_VALUE",
          f"Invalid model version source: '{source}'. The model_id request parameter must identify the resource "
          "that contains the source.")


def test_missing_run_and_experiment(api):
    nf = f"Run with id={NO_RUN} not found"
    error(api.get(f"{A2}/runs/get", params={"run_uuid": NO_RUN, "run_id": NO_RUN}), 404, "RESOURCE_DOES_NOT_EXIST", nf)
    error(api.post(f"{A2}/runs/log-metric", json={"run_id": NO_RUN, "key": "m", "value": 1.0, "timestamp": 0}), 404,
          "RESOURCE_DOES_NOT_EXIST", nf)
    error(api.get(f"{A2}/experiments/get-by-name", params={"experiment_name": "wine-seed-none"}), 404,
          "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name 'wine-seed-none'")


def test_missing_artifact_and_traversal(api):
    error(api.get(f"{ART}/0/nope/artifacts/x.txt"), 404, "RESOURCE_DOES_NOT_EXIST",
          "No such artifact: '0/nope/artifacts/x.txt'")
    error(api.get(ART, params={"path": "../../etc"}), 400, "INVALID_PARAMETER_VALUE", "Invalid path")


def test_unknown_endpoint_is_json_404(api):
    for method in ("GET", "POST"):
        body = error(api.request(method, f"{A2}/does-not-exist", json={}), 404, "ENDPOINT_NOT_FOUND")
        assert "does-not-exist" in body["message"]


def test_wrong_method_is_json_405_with_allow(api):
    response = api.get(f"{A2}/registered-models/create", params={"name": "x"})
    error(response, 405, "BAD_REQUEST")
    assert response.headers["allow"] == "POST"


def test_client_mistakes_never_answer_5xx(api, model):
    """A sample of malformed requests: none may produce a status the mlflow client would retry."""
    cases = [
        ("POST", f"{A2}/runs/search", {"experiment_ids": "1"}),
        ("POST", f"{A2}/runs/search", {"experiment_ids": ["abc"]}),
        ("POST", f"{A2}/runs/search", {"run_view_type": "BOGUS"}),
        ("POST", f"{A2}/runs/search", {"experiment_ids": ["0"], "filter": "metrics.x >"}),
        ("POST", f"{A2}/logged-models/search", {"order_by": ["name"]}),
        ("POST", f"{A2}/logged-models/search", {"experiment_ids": ["0"], "order_by": [{"field_name": "bogus"}]}),
        ("POST", f"{A2}/runs/log-batch", {"run_id": NO_RUN, "metrics": [{"key": "m"}]}),
        ("POST", f"{A2}/experiments/create", {"name": ["x"]}),
        ("GET", f"{A2}/experiments/get", {"experiment_id": "not-a-number"}),
        ("GET", f"{A2}/metrics/get-history", {"run_id": NO_RUN, "metric_key": "m", "max_results": "x"}),
        ("POST", f"{A2}/model-versions/transition-stage",
         {"name": model, "version": "1", "stage": "Staging", "archive_existing_versions": "maybe"}),
        ("PATCH", f"{A2}/logged-models/m-0", {"status": "LOGGED_MODEL_READY"}),
        ("POST", f"{A2}/runs/create", {"experiment_id": "999999"}),
        ("POST", f"{A2}/runs/create", {"experiment_id": "0", "start_time": 2**63}),
        ("GET", f"{A2}/registered-models/search", {"max_results": str(2**70)}),
    ]
    for method, path, payload in cases:
        if method == "GET":
            response = api.get(path, params=payload)
        else:
            response = api.request(method, path, json=payload)
        assert 400 <= response.status_code < 500, (method, path, payload, response.status_code, response.text)
        assert "error_code" in response.json()
