"""TrackingService: validation before storing (keys, values, batch limits, names) and its conversions."""

from __future__ import annotations

import pytest

from podium.domain.entities import LoggedModelStatus, Metric, Param, RunTag, ViewType
from podium.domain.rules import MAX_NAME_LENGTH
from podium.errors import InvalidParameterValue, PodiumError, ResourceAlreadyExists, ResourceDoesNotExist

MISSING = "Missing value for required parameter '{}'. See the API docs for more information about request parameters."


def _error(call) -> PodiumError:
    with pytest.raises(PodiumError) as info:
        call()
    return info.value


@pytest.fixture
def run_id(tracking):
    return tracking.create_run("0", user_id="u", run_name="r").info.run_id


# ============================================================================ experiments
def test_create_and_find_experiment(tracking, artifact_root):
    experiment_id = tracking.create_experiment("wine-seed", tags={"team": "ml", "n": 1})
    experiment = tracking.get_experiment(experiment_id)
    assert (experiment.name, experiment.tags) == ("wine-seed", {"team": "ml", "n": "1"})
    assert experiment.artifact_location == f"{artifact_root}/{experiment_id}"
    assert tracking.get_experiment(int(experiment_id)) == experiment
    assert tracking.get_experiment_by_name("wine-seed") == experiment


def test_create_experiment_empty_artifact_location_means_default(tracking, artifact_root):
    experiment_id = tracking.create_experiment("e", artifact_location="")
    assert tracking.get_experiment(experiment_id).artifact_location == f"{artifact_root}/{experiment_id}"


@pytest.mark.parametrize("name", ["", None])
def test_create_experiment_requires_a_name(tracking, name):
    assert _error(lambda: tracking.create_experiment(name)).message == MISSING.format("name")


def test_create_experiment_rejects_non_string_and_too_long_names(tracking):
    assert isinstance(_error(lambda: tracking.create_experiment(5)), InvalidParameterValue)
    assert isinstance(_error(lambda: tracking.create_experiment("x" * (MAX_NAME_LENGTH + 1))), InvalidParameterValue)
    assert tracking.create_experiment("x" * 256)


def test_create_experiment_accepts_500_character_names_like_mlflow(tracking):
    experiment_id = tracking.create_experiment("x" * 500)
    assert tracking.get_experiment(experiment_id).name == "x" * 500


def test_create_experiment_duplicate(tracking):
    tracking.create_experiment("dup")
    error = _error(lambda: tracking.create_experiment("dup"))
    assert isinstance(error, ResourceAlreadyExists)
    assert error.message == "Experiment(name=dup) already exists."


def test_experiment_id_and_name_are_required(tracking):
    assert _error(lambda: tracking.get_experiment("")).message == MISSING.format("experiment_id")
    assert _error(lambda: tracking.get_experiment_by_name("")).message == MISSING.format("experiment_name")
    assert _error(lambda: tracking.delete_experiment(None)).message == MISSING.format("experiment_id")


def test_delete_restore_rename_and_tag_experiment(tracking):
    experiment_id = tracking.create_experiment("e")
    tracking.delete_experiment(experiment_id)
    assert tracking.get_experiment(experiment_id).lifecycle_stage == "deleted"
    tracking.restore_experiment(experiment_id)
    tracking.rename_experiment(experiment_id, "renamed")
    tracking.set_experiment_tag(experiment_id, "k", 1)
    experiment = tracking.get_experiment(experiment_id)
    assert (experiment.name, experiment.lifecycle_stage, experiment.tags) == ("renamed", "active", {"k": "1"})
    tracking.delete_experiment_tag(experiment_id, "k")
    assert tracking.get_experiment(experiment_id).tags == {}


def test_rename_experiment_to_empty_name_is_missing_name(tracking):
    experiment_id = tracking.create_experiment("e")
    assert _error(lambda: tracking.rename_experiment(experiment_id, "")).message == MISSING.format("name")


def test_search_experiments_validates_max_results_and_view_type(tracking):
    assert isinstance(_error(lambda: tracking.search_experiments(max_results=50001)), InvalidParameterValue)
    assert isinstance(_error(lambda: tracking.search_experiments(max_results=0)), InvalidParameterValue)
    assert isinstance(_error(lambda: tracking.search_experiments(view_type="NEVER")), InvalidParameterValue)
    assert [e.name for e in tracking.search_experiments(view_type="ALL")] == ["Default"]


# ============================================================================ runs
def test_create_run_stringifies_tags_and_requires_an_experiment(tracking):
    run = tracking.create_run("0", tags={"n": 1}, run_name="")
    assert run.data.tags["n"] == "1"
    assert run.info.run_name  # an empty name gets a generated one
    assert _error(lambda: tracking.create_run("")).message == MISSING.format("experiment_id")
    assert isinstance(_error(lambda: tracking.create_run("42")), ResourceDoesNotExist)


def test_run_id_is_required(tracking):
    for call in (
        lambda: tracking.get_run(""),
        lambda: tracking.update_run_info(None, status="FINISHED"),
        lambda: tracking.delete_run(""),
        lambda: tracking.log_batch("", params=[("a", "1")]),
        lambda: tracking.get_metric_history("", "m"),
    ):
        assert _error(call).message == MISSING.format("run_id")


def test_get_metric_history_requires_a_metric_key(tracking, run_id):
    assert _error(lambda: tracking.get_metric_history(run_id, "")).message == MISSING.format("metric_key")


def test_update_run_info_and_lifecycle(tracking, run_id):
    info = tracking.update_run_info(run_id, status="FINISHED", end_time=123)
    assert (info.status, info.end_time) == ("FINISHED", 123)
    tracking.delete_run(run_id)
    assert tracking.get_run(run_id).info.lifecycle_stage == "deleted"
    tracking.restore_run(run_id)
    assert tracking.get_run(run_id).info.lifecycle_stage == "active"


# ---------------------------------------------------------------------------- log_batch validation
def test_log_batch_accepts_tuples_and_entity_objects(tracking, run_id):
    tracking.log_batch(run_id, params=[("a", 1), Param("b", "2")], tags=[("t", True), RunTag("u", "v")])
    data = tracking.get_run(run_id).data
    assert data.params == {"a": "1", "b": "2"}
    assert (data.tags["t"], data.tags["u"]) == ("True", "v")


def test_log_batch_fills_in_timestamp_and_step(tracking, run_id):
    tracking.log_batch(run_id, metrics=[Metric("m", 1, None, None)])
    [point] = tracking.get_metric_history(run_id, "m")
    assert (point.value, point.step) == (1.0, 0)
    assert point.timestamp > 1_600_000_000_000


def test_log_batch_accepts_numeric_strings_as_metric_values(tracking, run_id):
    tracking.log_batch(run_id, metrics=[Metric("m", "0.5", 1, 0)])
    assert tracking.get_run(run_id).data.metrics == {"m": 0.5}


@pytest.mark.parametrize("value", ["abc", None, [1], object()])
def test_log_batch_rejects_non_numeric_metric_values(tracking, run_id, value):
    error = _error(lambda: tracking.log_batch(run_id, metrics=[Metric("m", value, 1, 0)]))
    assert isinstance(error, InvalidParameterValue)
    assert "Got invalid value" in error.message


@pytest.mark.all_backends  # MariaDB has no infinity: this once leaked a DataError there
@pytest.mark.parametrize("value", [float("inf"), float("-inf")])
def test_log_batch_accepts_infinite_metric_values(tracking, run_id, value):
    tracking.log_batch(run_id, metrics=[Metric("m", value, 1, 0)])
    assert tracking.get_run(run_id).data.metrics == {"m": value}


def test_log_batch_accepts_nan_metric_values(tracking, run_id):
    import math

    tracking.log_batch(run_id, metrics=[Metric("loss", float("nan"), 1, 0)])
    [point] = tracking.get_metric_history(run_id, "loss")
    assert math.isnan(point.value)
    assert math.isnan(tracking.get_run(run_id).data.metrics["loss"])
    tracking.log_batch(run_id, metrics=[Metric("loss", 0.5, 2, 1)])
    assert tracking.get_run(run_id).data.metrics["loss"] == 0.5
    assert [m.step for m in tracking.get_metric_history(run_id, "loss")] == [0, 1]


def test_nan_metrics_are_recorded_on_the_logged_model_once(tracking, run_id):
    import math

    model = tracking.create_logged_model("0", name="m", source_run_id=run_id)
    tracking.log_batch(run_id, metrics=[Metric("loss", float("nan"), 1, 0)])
    tracking.log_batch(run_id, metrics=[Metric("loss", float("nan"), 1, 0, model.model_id)])
    assert len(tracking.get_metric_history(run_id, "loss")) == 1
    [recorded] = tracking.get_logged_model(model.model_id).metrics
    assert math.isnan(recorded.value)


@pytest.mark.parametrize(
    ("field", "key"),
    [("metrics", ""), ("params", ""), ("tags", "")],
)
def test_log_batch_rejects_empty_keys(tracking, run_id, field, key):
    items = {"metrics": [Metric(key, 1.0, 1, 0)], "params": [(key, "v")], "tags": [(key, "v")]}[field]
    assert _error(lambda: tracking.log_batch(run_id, **{field: items})).message == MISSING.format("key")


@pytest.mark.parametrize("key", ["../x", "/abs", "a/../b", "bad!key", "a" * 251])
def test_log_batch_rejects_bad_keys_and_stores_nothing(tracking, run_id, key):
    error = _error(
        lambda: tracking.log_batch(run_id, metrics=[Metric("good", 1.0, 1, 0)], params=[("p", "1")], tags=[(key, "v")])
    )
    assert isinstance(error, InvalidParameterValue)
    data = tracking.get_run(run_id).data
    assert (data.metrics, data.params) == ({}, {})


def test_log_batch_limits_are_enforced_before_anything_is_stored(tracking, run_id):
    assert isinstance(
        _error(lambda: tracking.log_batch(run_id, metrics=[Metric("m", 1.0, i, i) for i in range(1001)])),
        InvalidParameterValue,
    )
    assert isinstance(
        _error(lambda: tracking.log_batch(run_id, params=[(f"p{i}", "v") for i in range(101)])), InvalidParameterValue
    )
    assert isinstance(
        _error(lambda: tracking.log_batch(run_id, tags=[(f"t{i}", "v") for i in range(101)])), InvalidParameterValue
    )
    assert tracking.get_metric_history(run_id, "m") == []
    assert tracking.get_run(run_id).data.params == {}


def test_log_batch_at_the_limits_is_accepted(tracking, run_id):
    tracking.log_batch(
        run_id,
        metrics=[Metric("m", float(i), i, i) for i in range(1000)],
        params=[(f"p{i}", "v") for i in range(100)],
        tags=[(f"t{i}", "v") for i in range(100)],
    )
    assert len(tracking.get_metric_history(run_id, "m")) == 1000
    assert len(tracking.get_run(run_id).data.params) == 100


@pytest.mark.parametrize(
    ("kind", "limit"),
    [("params", 6000), ("tags", 8000)],
)
def test_values_up_to_mlflows_limits_are_accepted_and_longer_ones_refused(tracking, run_id, kind, limit):
    tracking.log_batch(run_id, **{kind: [("long", "x" * limit)]})
    data = tracking.get_run(run_id).data
    assert getattr(data, kind)["long"] == "x" * limit
    error = _error(lambda: tracking.log_batch(run_id, **{kind: [("longer", "x" * (limit + 1))]}))
    assert isinstance(error, InvalidParameterValue)
    assert "longer" not in getattr(tracking.get_run(run_id).data, kind)


def test_run_tags_given_at_creation_follow_the_run_tag_limit(tracking):
    run = tracking.create_run("0", tags={"long": "x" * 8000})
    assert run.data.tags["long"] == "x" * 8000
    assert isinstance(_error(lambda: tracking.create_run("0", tags={"long": "x" * 8001})), InvalidParameterValue)


def test_experiment_tags_up_to_20000_characters_are_accepted(tracking):
    experiment_id = tracking.create_experiment("e", tags={"a": "x" * 20000})
    tracking.set_experiment_tag(experiment_id, "b", "y" * 20000)
    assert tracking.get_experiment(experiment_id).tags == {"a": "x" * 20000, "b": "y" * 20000}
    assert isinstance(_error(lambda: tracking.set_experiment_tag(experiment_id, "c", "z" * 20001)),
                      InvalidParameterValue)


def test_logged_model_tags_and_params_follow_mlflows_limits(tracking):
    model = tracking.create_logged_model("0", name="m", tags={"t": "x" * 100000}, params={"p": "y" * 6000})
    assert (len(model.tags["t"]), len(model.params["p"])) == (100000, 6000)
    assert isinstance(_error(lambda: tracking.log_model_params(model.model_id, {"q": "y" * 6001})),
                      InvalidParameterValue)


def test_changing_a_param_is_rejected_with_mlflow_message(tracking, run_id):
    tracking.log_batch(run_id, params=[("C", "1.0")])
    error = _error(lambda: tracking.log_batch(run_id, params=[("C", 2.0)], metrics=[Metric("m", 1.0, 1, 0)]))
    assert isinstance(error, InvalidParameterValue)
    assert error.message == (
        f"Changing param values is not allowed. Param with key='C' was already logged with value='1.0' "
        f"for run ID='{run_id}'. Attempted logging new value '2.0'."
    )
    assert tracking.get_metric_history(run_id, "m") == []


def test_get_metric_history_validates_max_results(tracking, run_id):
    assert isinstance(_error(lambda: tracking.get_metric_history(run_id, "m", max_results=25001)), InvalidParameterValue)
    tracking.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0), Metric("m", 2.0, 2, 1)])
    page = tracking.get_metric_history(run_id, "m", max_results=1)
    assert len(page) == 1 and page.token
    assert [m.value for m in tracking.get_metric_history(run_id, "m", 1, page.token)] == [2.0]


def test_delete_tag(tracking, run_id):
    tracking.log_batch(run_id, tags=[("a", "1")])
    tracking.delete_tag(run_id, "a")
    assert "a" not in tracking.get_run(run_id).data.tags
    assert isinstance(_error(lambda: tracking.delete_tag(run_id, "a")), ResourceDoesNotExist)


# ============================================================================ logged models
def test_create_logged_model_validates_name_tags_and_params(tracking, run_id):
    error = _error(lambda: tracking.create_logged_model("0", name="a/b"))
    assert error.message == "Invalid model name 'a/b'. Names cannot contain '/' or ':'."
    assert isinstance(_error(lambda: tracking.create_logged_model("0", name="m", tags={"../x": "v"})),
                      InvalidParameterValue)
    assert _error(lambda: tracking.create_logged_model("")).message == MISSING.format("experiment_id")
    model = tracking.create_logged_model(0, name="m", source_run_id=run_id, tags={"n": 1}, params={"C": 1.0})
    assert (model.tags, model.params, model.experiment_id) == ({"n": "1"}, {"C": "1.0"}, "0")


@pytest.mark.parametrize(
    ("given", "stored"),
    [("READY", LoggedModelStatus.READY), ("FAILED", LoggedModelStatus.FAILED),
     ("LOGGED_MODEL_READY", LoggedModelStatus.READY), ("LOGGED_MODEL_UPLOAD_FAILED", LoggedModelStatus.FAILED)],
)
def test_finalize_logged_model_accepts_short_and_full_status_names(tracking, given, stored):
    model = tracking.create_logged_model("0", name="m")
    assert tracking.finalize_logged_model(model.model_id, given).status == stored


def test_finalize_logged_model_rejects_unknown_status(tracking):
    model = tracking.create_logged_model("0", name="m")
    assert isinstance(_error(lambda: tracking.finalize_logged_model(model.model_id, "DONE")), InvalidParameterValue)


def test_logged_model_tags_params_and_delete(tracking):
    model = tracking.create_logged_model("0", name="m")
    tracking.set_logged_model_tags(model.model_id, {"a": 1})
    tracking.log_model_params(model.model_id, {"C": 0.5})
    tracking.delete_logged_model_tag(model.model_id, "a")
    fetched = tracking.get_logged_model(model.model_id)
    assert (fetched.tags, fetched.params) == ({}, {"C": "0.5"})
    tracking.delete_logged_model(model.model_id)
    assert isinstance(_error(lambda: tracking.get_logged_model(model.model_id)), ResourceDoesNotExist)
    assert _error(lambda: tracking.get_logged_model("")).message == MISSING.format("model_id")


def test_search_logged_models_validates_max_results_and_order(tracking):
    assert isinstance(_error(lambda: tracking.search_logged_models(["0"], max_results=0)), InvalidParameterValue)
    assert isinstance(
        _error(lambda: tracking.search_logged_models(["0"], order_by=[{"field_name": "nope"}])), InvalidParameterValue
    )
    tracking.create_logged_model("0", name="b")
    tracking.create_logged_model("0", name="a")
    assert [m.name for m in tracking.search_logged_models(["0"], order_by=["name ASC"])] == ["a", "b"]


def test_search_runs_accepts_view_type_names(tracking, run_id):
    tracking.delete_run(run_id)
    assert [r.info.run_id for r in tracking.search_runs(["0"], run_view_type="DELETED_ONLY")] == [run_id]
    assert tracking.search_runs(["0"], run_view_type=ViewType.ACTIVE_ONLY) == []
