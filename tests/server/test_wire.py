"""podium.wire: entities <-> MLflow's JSON shapes, checked against bodies from the reference traces."""

from __future__ import annotations

import math

import pytest

from podium import wire
from podium.domain.entities import FileInfo, LoggedModelOutput, Metric, RunStatus
from podium.errors import InvalidParameterValue, PodiumError, ResourceDoesNotExist
from podium.server.requests import parse_body, parse_params, parse_query
from podium.server.routing import Param, Route

# bodies copied from shared/reference/mlflow-trace (MLflow 3.17.2's answers)
TRACE_MV = {"name": "wine-quality-classifier", "version": "2", "creation_timestamp": 1795746962984,
            "last_updated_timestamp": 1795746965759, "current_stage": "Production", "description": "LR C=0.5, promoted",
            "source": "models:/m-fe7e2dacc7b141efae9ba390d6e4e11d", "run_id": "f53a17fd75ab4903b061164694550ea5",
            "status": "READY", "tags": [{"key": "approved_by", "value": "luca"}], "run_link": "", "aliases": ["champion"]}
TRACE_RM = {"name": "wine-quality-classifier", "creation_timestamp": 1795746951511, "last_updated_timestamp": 1795746966986,
            "description": "Wine classifier", "latest_versions": [TRACE_MV],
            "tags": [{"key": "task", "value": "classification"}], "aliases": [{"alias": "champion", "version": "2"}]}
TRACE_EXP = {"experiment_id": "1", "name": "wine-seed", "artifact_location": "mlflow-artifacts:/1",
             "lifecycle_stage": "active", "last_update_time": 1795746938306, "creation_time": 1795746938306,
             "workspace": "default"}
TRACE_RUN = {"info": {"run_uuid": "c5d5", "experiment_id": "1", "run_name": "wine-lr-1", "user_id": "root",
                      "status": "FINISHED", "start_time": 1795746947416, "end_time": 1795746951787,
                      "artifact_uri": "mlflow-artifacts:/1/c5d5/artifacts", "lifecycle_stage": "active", "run_id": "c5d5"},
             "data": {"metrics": [{"key": "accuracy", "value": 0.9555555555555556, "timestamp": 1795746947783, "step": 2}],
                      "params": [{"key": "C", "value": "1.0"}], "tags": [{"key": "team", "value": "wine"}]},
             "inputs": {}, "outputs": {"model_outputs": [{"model_id": "m-638e", "step": 0}]}}
TRACE_LM = {"info": {"model_id": "m-638e", "experiment_id": "1", "name": "model", "creation_timestamp_ms": 1795746948058,
                     "last_updated_timestamp_ms": 1795746951454, "artifact_uri": "mlflow-artifacts:/1/models/m-638e/artifacts",
                     "status": "LOGGED_MODEL_READY", "model_type": "", "source_run_id": "c5d5",
                     "tags": [{"key": "mlflow.source.name", "value": "seed_trace.py"}, {"key": "mlflow.user", "value": "root"}]},
            "data": {"params": [{"key": "C", "value": "1.0"}],
                     "metrics": [{"key": "f1", "value": 0.95, "timestamp": 1795746947834, "step": 0, "model_id": "m-638e",
                                  "run_id": "c5d5"}]}}


@pytest.mark.parametrize("body, read, write", [
    (TRACE_MV, wire.model_version_from_wire, wire.to_wire_model_version),
    (TRACE_RM, wire.registered_model_from_wire, wire.to_wire_registered_model),
    (TRACE_EXP, wire.experiment_from_wire, wire.to_wire_experiment),
    (TRACE_RUN, wire.run_from_wire, wire.to_wire_run),
    (TRACE_LM, wire.logged_model_from_wire, wire.to_wire_logged_model),
])
def test_trace_bodies_round_trip_exactly(body, read, write):
    assert write(read(body)) == body


def test_model_version_defaults_match_mlflow():
    mv = wire.model_version_from_wire({"name": "n", "version": "3"})
    out = wire.to_wire_model_version(mv)
    assert mv.version == 3 and out["version"] == "3"
    assert out["description"] == "" and out["run_link"] == "" and out["current_stage"] == "None"
    assert "tags" not in out and "aliases" not in out and "run_id" not in out


def test_metrics_non_finite_values_and_model_fields():
    for value, text in ((math.inf, "Infinity"), (-math.inf, "-Infinity")):
        assert wire.to_wire_metric(Metric("k", value, 1, 0))["value"] == text
        assert wire.metric_from_wire({"key": "k", "value": text}).value == value
    assert wire.to_wire_metric(Metric("k", math.nan, 1, 0))["value"] == "NaN"
    assert math.isnan(wire.metric_from_wire({"key": "k", "value": "NaN"}).value)
    m = Metric("k", 1.0, 2, 3, model_id="m-1", run_id="r")
    assert wire.to_wire_metric(m) == {"key": "k", "value": 1.0, "timestamp": 2, "step": 3, "model_id": "m-1"}
    assert wire.to_wire_metric(m, with_run_id=True)["run_id"] == "r"


def test_run_outputs_and_file_infos():
    run = wire.run_from_wire(TRACE_RUN)
    assert run.outputs.model_outputs == (LoggedModelOutput("m-638e", 0),) and run.info.status == RunStatus.FINISHED
    assert wire.to_wire_file_info(FileInfo("a/b/c.txt", False, 17), basename=True) == {"path": "c.txt", "is_dir": False,
                                                                                          "file_size": 17}
    assert wire.to_wire_file_info(FileInfo("a/b", True, None)) == {"path": "a/b", "is_dir": True}
    assert wire.file_info_from_wire({"path": "c.txt", "file_size": 3}, prefix="a/b") == FileInfo("a/b/c.txt", False, 3)


def test_errors_round_trip():
    err = wire.error_from_wire({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "gone"}, 404)
    assert isinstance(err, ResourceDoesNotExist) and wire.to_wire_error(err) == {"error_code": "RESOURCE_DOES_NOT_EXIST",
                                                                                 "message": "gone"}
    assert wire.error_from_wire("<html>", 404).error_code == "ENDPOINT_NOT_FOUND"
    assert isinstance(wire.error_from_wire(None, 502), PodiumError)


def _route(method, *params):
    def handler(s, p):
        """doc"""

    return Route(method, "/x/{item}", handler, params)


def test_request_parsing_query_body_and_aliases():
    route = _route("GET", Param("name", required=True), Param("n", "integer", maximum=10),
                   Param("flag", "boolean"), Param("order_by", "array", items="string"))
    query = parse_query(b"name=a&n=3&flag=true&order_by=x&order_by=y")
    assert parse_params(route, query, {}, {"item": "i"}) == {"name": "a", "n": 3, "flag": True,
                                                              "order_by": ["x", "y"], "item": "i"}
    with pytest.raises(InvalidParameterValue, match="Invalid value \"11\" for parameter 'n'"):
        parse_params(route, parse_query(b"name=a&n=11"), {}, {"item": "i"})
    post = _route("POST", Param("run_id", required=True, alias="run_uuid"), Param("value", "number"))
    assert parse_params(post, {}, {"run_uuid": "r", "value": "NaN"}, {"item": "i"})["run_id"] == "r"
    assert parse_body(b"{not json") == {} and parse_body(b"[1]") == {} and parse_body(b"") == {}
