"""``podium serve`` answers MLflow's scoring protocol as ``mlflow models serve`` does.

The same requests go to both servers, serving the same sklearn model (logged and registered by
Podium, in MLflow's format): same status codes, same predictions, same error codes for bad input;
and the scorer keeps answering after each bad request.
"""

from __future__ import annotations

import json

import httpx
import pandas as pd
import pytest

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")

import podium  # noqa: E402
import podium.sklearn  # noqa: E402
from podium.artifacts import download_artifacts  # noqa: E402

from .helpers import JSON, start_mlflow_scorer, start_podium_scorer  # noqa: E402

SPLIT = {"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 0.0], [2.0, 1.0], [3.5, -1.0]]}}

#: id -> (content type, body)
CASES = {
    "dataframe_split": (JSON, SPLIT),
    "dataframe_split_with_params": (JSON, {**SPLIT, "params": {"unused": 1}}),
    "dataframe_records": (JSON, {"dataframe_records": [{"a": 1.0, "b": 0.0}, {"a": 2, "b": 1}]}),
    "instances_records": (JSON, {"instances": [{"a": 1.0, "b": 0.0}]}),
    "inputs_columns": (JSON, {"inputs": {"a": [1.0, 4.0], "b": [0.0, 2.0]}}),
    "inputs_records": (JSON, {"inputs": [{"a": 5.0, "b": 5.0}]}),
    "json_charset": ("application/json; charset=utf-8", SPLIT),
    "csv": ("text/csv", "a,b\n1,0\n2,1\n"),
    # bad input: 400 (415 for a content type), never 500
    "inputs_unnamed": (JSON, {"inputs": [[1.0, 0.0]]}),
    "missing_column": (JSON, {"dataframe_split": {"columns": ["a"], "data": [[1.0]]}}),
    "not_a_number": (JSON, {"dataframe_records": [{"a": "x", "b": 0}]}),
    "csv_missing_column": ("text/csv", "a,c\n1,0\n"),
    "no_input_field": (JSON, {"bogus": 1}),
    "two_input_fields": (JSON, {**SPLIT, "instances": [1]}),
    "json_list": (JSON, [1, 2]),
    "not_json": (JSON, "not json"),
    "text_plain": ("text/plain", "x"),
    "old_format_parameter": ("application/json; format=pandas-split", SPLIT),
}


@pytest.fixture(scope="module")
def scorers(tmp_path_factory):
    """The same registered model behind ``podium serve`` and ``mlflow models serve``."""
    from sklearn.linear_model import LinearRegression

    root = tmp_path_factory.mktemp("serving-protocol")
    tracking_uri = f"sqlite:///{(root / 'podium.db').as_posix()}"
    podium.set_tracking_uri(tracking_uri)
    podium.set_experiment("serving")  # the store's artifact root is below the working directory otherwise
    x = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 0.0, 1.0]})
    with podium.start_run():
        podium.sklearn.log_model(LinearRegression().fit(x, x.a * 2 + x.b), name="model", input_example=x[:2],
                                 registered_model_name="lr")
    model_dir = download_artifacts("models:/lr/1", dst_path=str(root / "model"))
    ours = start_podium_scorer(root / "podium", "models:/lr/1", tracking_uri)
    try:
        theirs = start_mlflow_scorer(root / "mlflow", model_dir)
    except BaseException:
        ours.stop()
        raise
    yield ours, theirs
    ours.stop()
    theirs.stop()


def _post(url: str, content_type: str, body) -> httpx.Response:
    data = body if isinstance(body, str) else json.dumps(body)
    return httpx.post(f"{url}/invocations", content=data.encode(), headers={"content-type": content_type}, timeout=30)


@pytest.mark.parametrize("case", CASES.keys())
def test_invocations_answer_as_mlflow_models_serve_does(scorers, case):
    ours, theirs = scorers
    content_type, body = CASES[case]
    expected, got = _post(theirs.url, content_type, body), _post(ours.url, content_type, body)
    assert got.status_code == expected.status_code, (expected.text, got.text)
    assert got.status_code < 500
    assert got.headers["x-podium-model-version"] == "1"
    if expected.status_code == 200:
        assert got.json()["predictions"] == pytest.approx(expected.json()["predictions"])
    elif expected.status_code == 400:
        assert got.json()["error_code"] == expected.json()["error_code"], (expected.text, got.text)
        assert got.json()["message"]
    else:  # 415: a plain-text explanation, as MLflow gives
        assert got.headers["content-type"].startswith("text/plain") and "content type" in got.text
    assert httpx.get(f"{ours.url}/ping").status_code == 200  # still serving


def test_ping_health_and_version_name_the_model(scorers):
    ours, theirs = scorers
    for path in ("/ping", "/health", "/version"):
        assert httpx.get(f"{ours.url}{path}").status_code == httpx.get(f"{theirs.url}{path}").status_code == 200
    assert httpx.get(f"{ours.url}/ping").text == httpx.get(f"{theirs.url}/ping").text
    health = httpx.get(f"{ours.url}/health")
    assert health.headers["x-podium-model-version"] == "1"
    assert health.json() | {"loaded_at": 0} == {"status": "ok", "model_uri": "models:/lr/1", "name": "lr",
                                                 "version": 1, "follows": False, "loaded_at": 0,
                                                 "last_swap_error": None}
    version = httpx.get(f"{ours.url}/version").json()
    assert (version["name"], version["version"], version["podium_version"]) == ("lr", 1, podium.__version__)


def test_wrong_method_and_unknown_path(scorers):
    ours, theirs = scorers
    assert httpx.get(f"{ours.url}/invocations").status_code == httpx.get(f"{theirs.url}/invocations").status_code
    assert httpx.get(f"{ours.url}/nope").status_code == 404
