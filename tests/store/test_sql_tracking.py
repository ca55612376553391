"""SqlTrackingStore: experiments, runs, params/metrics/tags, outputs and logged models on a real database."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import func, select

from podium.domain.entities import LoggedModelOutput, LoggedModelStatus, Metric, Run, RunStatus, ViewType
from podium.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from podium.store.sql.tables import latest_metrics, metrics, params, run_tags


@pytest.fixture
def store(tracking_store):
    return tracking_store


def _count(store, table, **where) -> int:
    with store.db.read() as conn:
        query = select(func.count()).select_from(table)
        for key, value in where.items():
            query = query.where(getattr(table.c, key) == value)
        return conn.execute(query).scalar_one()


def _run(store, experiment_id="0", **kwargs) -> Run:
    return store.create_run(experiment_id, user_id="tester", start_time=kwargs.pop("start_time", 1000), **kwargs)


# ============================================================================ experiments
def test_default_experiment_exists_with_id_zero(store, artifact_root):
    default = store.get_experiment("0")
    assert (default.experiment_id, default.name, default.lifecycle_stage) == ("0", "Default", "active")
    assert default.artifact_location == f"{artifact_root}/0"
    assert store.get_experiment_by_name("Default") == default


def test_opening_the_store_twice_keeps_one_default_experiment(store, artifact_root):
    from podium.store.sql import SqlTrackingStore

    again = SqlTrackingStore(store.db, str(artifact_root))
    assert [e.experiment_id for e in again.search_experiments(ViewType.ALL, 100, "name = 'Default'", None, None)] == [
        "0"
    ]


def test_create_experiment_assigns_ids_and_artifact_locations(store, artifact_root):
    first = store.create_experiment("first")
    second = store.create_experiment("second", tags={"team": "ml"})
    assert (first, second) == ("1", "2")
    experiment = store.get_experiment(second)
    assert experiment.name == "second"
    assert experiment.artifact_location == f"{artifact_root}/2"
    assert experiment.tags == {"team": "ml"}
    assert experiment.lifecycle_stage == "active"
    assert experiment.creation_time is not None and experiment.creation_time == experiment.last_update_time


def test_create_experiment_keeps_an_explicit_artifact_location(store):
    experiment_id = store.create_experiment("custom", artifact_location="s3://bucket/somewhere")
    assert store.get_experiment(experiment_id).artifact_location == "s3://bucket/somewhere"
    run = _run(store, experiment_id)
    assert run.info.artifact_uri == f"s3://bucket/somewhere/{run.info.run_id}/artifacts"


def test_create_experiment_rejects_duplicate_name(store):
    store.create_experiment("wine-seed")
    with pytest.raises(ResourceAlreadyExists) as info:
        store.create_experiment("wine-seed")
    assert info.value.message == "Experiment(name=wine-seed) already exists."


def test_create_experiment_rejects_name_of_a_deleted_experiment(store):
    experiment_id = store.create_experiment("gone")
    store.delete_experiment(experiment_id)
    with pytest.raises(ResourceAlreadyExists):
        store.create_experiment("gone")


def test_get_experiment_by_name_missing_is_none(store):
    assert store.get_experiment_by_name("nope") is None


def test_get_missing_experiment_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist) as info:
        store.get_experiment("99")
    assert info.value.message == "No Experiment with id=99 exists"


@pytest.mark.parametrize("bad_id", ["abc", "1.5", ""])
def test_get_experiment_with_non_integer_id_is_invalid_parameter(store, bad_id):
    with pytest.raises(InvalidParameterValue):
        store.get_experiment(bad_id)


def test_delete_and_restore_experiment(store):
    experiment_id = store.create_experiment("temp")
    store.delete_experiment(experiment_id)
    assert store.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert store.get_experiment_by_name("temp").lifecycle_stage == "deleted"
    store.restore_experiment(experiment_id)
    assert store.get_experiment(experiment_id).lifecycle_stage == "active"


def test_deleting_an_experiment_deletes_its_runs_and_restoring_restores_them(store):
    experiment_id = store.create_experiment("temp")
    run_id = _run(store, experiment_id).info.run_id
    store.delete_experiment(experiment_id)
    assert store.get_run(run_id).info.lifecycle_stage == "deleted"
    assert store.search_runs([experiment_id], None, ViewType.ACTIVE_ONLY, 10, None, None) == []
    store.restore_experiment(experiment_id)
    assert store.get_run(run_id).info.lifecycle_stage == "active"


def test_default_experiment_cannot_be_deleted(store):
    with pytest.raises(InvalidParameterValue):
        store.delete_experiment("0")
    assert store.get_experiment("0").lifecycle_stage == "active"


def test_delete_missing_experiment_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist):
        store.delete_experiment("42")
    with pytest.raises(ResourceDoesNotExist):
        store.restore_experiment("42")


def test_runs_cannot_be_created_in_a_deleted_experiment(store):
    experiment_id = store.create_experiment("temp")
    store.delete_experiment(experiment_id)
    with pytest.raises(InvalidParameterValue) as info:
        _run(store, experiment_id)
    assert "must be in the 'active' state" in info.value.message


def test_rename_experiment(store):
    experiment_id = store.create_experiment("old")
    store.rename_experiment(experiment_id, "new")
    assert store.get_experiment(experiment_id).name == "new"
    assert store.get_experiment_by_name("old") is None
    assert store.get_experiment_by_name("new").experiment_id == experiment_id
    store.rename_experiment(experiment_id, "new")  # to its own name: fine


def test_rename_experiment_onto_existing_name_is_rejected(store):
    store.create_experiment("taken")
    experiment_id = store.create_experiment("mine")
    with pytest.raises(ResourceAlreadyExists) as info:
        store.rename_experiment(experiment_id, "taken")
    assert info.value.message == "Experiment(name=taken) already exists."
    assert store.get_experiment(experiment_id).name == "mine"


def test_rename_missing_experiment_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist):
        store.rename_experiment("42", "x")


def test_experiment_tags_set_overwrite_and_delete(store):
    experiment_id = store.create_experiment("tagged", tags={"a": "1"})
    store.set_experiment_tag(experiment_id, "a", "2")
    store.set_experiment_tag(experiment_id, "b", "3")
    assert store.get_experiment(experiment_id).tags == {"a": "2", "b": "3"}
    store.delete_experiment_tag(experiment_id, "a")
    store.delete_experiment_tag(experiment_id, "not-there")
    assert store.get_experiment(experiment_id).tags == {"b": "3"}


def test_experiment_tag_on_missing_experiment_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist):
        store.set_experiment_tag("42", "k", "v")


# ============================================================================ runs
def test_create_run_with_tags_and_run_name(store):
    experiment_id = store.create_experiment("exp")
    run = store.create_run(experiment_id, user_id="luca", start_time=1234, tags={"team": "wine"}, run_name="wine-lr-1")
    info = run.info
    assert re.fullmatch(r"[0-9a-f]{32}", info.run_id)
    assert info.run_uuid == info.run_id
    assert (info.experiment_id, info.run_name, info.user_id) == (experiment_id, "wine-lr-1", "luca")
    assert (info.status, info.start_time, info.end_time, info.lifecycle_stage) == ("RUNNING", 1234, None, "active")
    assert info.artifact_uri == f"{store.get_experiment(experiment_id).artifact_location}/{info.run_id}/artifacts"
    assert run.data.tags == {"team": "wine", "mlflow.runName": "wine-lr-1"}
    assert (run.data.params, run.data.metrics) == ({}, {})
    assert run.outputs.model_outputs == ()
    assert store.get_run(info.run_id) == run


def test_create_run_takes_its_name_from_the_run_name_tag(store):
    run = _run(store, tags={"mlflow.runName": "from-tag"})
    assert run.info.run_name == "from-tag"
    assert run.data.tags["mlflow.runName"] == "from-tag"


def test_create_run_run_name_argument_equal_to_the_tag_is_accepted(store):
    run = _run(store, tags={"mlflow.runName": "same"}, run_name="same")
    assert run.info.run_name == "same"
    assert run.data.tags["mlflow.runName"] == "same"


def test_create_run_rejects_run_name_contradicting_the_tag(store):
    with pytest.raises(InvalidParameterValue) as info:
        _run(store, tags={"mlflow.runName": "from-tag"}, run_name="explicit")
    assert "Both 'run_name' argument and 'mlflow.runName' tag are specified" in info.value.message


def test_create_run_without_a_name_gets_a_generated_one(store):
    run = _run(store)
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d{3}", run.info.run_name)
    assert run.data.tags["mlflow.runName"] == run.info.run_name


def test_create_run_default_start_time_is_now(store):
    before = int(time.time() * 1000)
    run = store.create_run("0")
    assert before <= run.info.start_time <= int(time.time() * 1000)
    assert run.info.user_id == ""


def test_create_run_in_missing_experiment_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist):
        _run(store, "42")


def test_get_missing_run_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist) as info:
        store.get_run("0" * 32)
    assert info.value.message == f"Run with id={'0' * 32} not found"


def test_update_run_info_sets_status_end_time_and_name(store):
    run = _run(store, run_name="before")
    info = store.update_run_info(run.info.run_id, status="FINISHED", end_time=5000, run_name="after")
    assert (info.status, info.end_time, info.run_name) == ("FINISHED", 5000, "after")
    again = store.get_run(run.info.run_id)
    assert again.info == info
    assert again.data.tags["mlflow.runName"] == "after"


def test_update_run_info_without_values_changes_nothing(store):
    run = _run(store, run_name="same")
    assert store.update_run_info(run.info.run_id) == run.info


def test_update_run_info_rejects_unknown_status(store):
    run = _run(store)
    with pytest.raises(InvalidParameterValue):
        store.update_run_info(run.info.run_id, status="DONE")
    assert store.get_run(run.info.run_id).info.status == "RUNNING"


@pytest.mark.parametrize("status", list(RunStatus.ALL))
def test_update_run_info_accepts_every_run_status(store, status):
    run = _run(store)
    assert store.update_run_info(run.info.run_id, status=status).status == status


def test_delete_and_restore_run(store):
    run = _run(store)
    store.delete_run(run.info.run_id)
    assert store.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(InvalidParameterValue):
        store.log_batch(run.info.run_id, params=[("a", "1")])
    with pytest.raises(InvalidParameterValue):
        store.update_run_info(run.info.run_id, status="FINISHED")
    store.restore_run(run.info.run_id)
    assert store.get_run(run.info.run_id).info.lifecycle_stage == "active"
    store.log_batch(run.info.run_id, params=[("a", "1")])


def test_delete_missing_run_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist):
        store.delete_run("nope")
    with pytest.raises(ResourceDoesNotExist):
        store.restore_run("nope")


# ---------------------------------------------------------------------------- log_batch
def test_log_batch_stores_params_metrics_and_tags(store):
    run_id = _run(store).info.run_id
    store.log_batch(
        run_id,
        metrics=[Metric("accuracy", 0.9, 100, 0), Metric("loss", 0.2, 100, 0)],
        params=[("C", "1.0"), ("max_iter", "5000")],
        tags=[("team", "wine")],
    )
    data = store.get_run(run_id).data
    assert data.params == {"C": "1.0", "max_iter": "5000"}
    assert data.metrics == {"accuracy": 0.9, "loss": 0.2}
    assert data.tags["team"] == "wine"
    assert [(m.key, m.value, m.timestamp, m.step) for m in data.metric_objects] == [
        ("accuracy", 0.9, 100, 0),
        ("loss", 0.2, 100, 0),
    ]


def test_log_batch_same_param_value_twice_is_accepted(store):
    run_id = _run(store).info.run_id
    store.log_batch(run_id, params=[("C", "1.0")])
    store.log_batch(run_id, params=[("C", "1.0")])
    assert store.get_run(run_id).data.params == {"C": "1.0"}


def test_log_batch_rejects_changing_a_param(store):
    run_id = _run(store).info.run_id
    store.log_batch(run_id, params=[("C", "1.0")])
    with pytest.raises(InvalidParameterValue) as info:
        store.log_batch(run_id, params=[("C", "2.0")])
    assert info.value.message == (
        f"Changing param values is not allowed. Param with key='C' was already logged with value='1.0' "
        f"for run ID='{run_id}'. Attempted logging new value '2.0'."
    )
    assert store.get_run(run_id).data.params == {"C": "1.0"}


def test_log_batch_with_a_conflicting_param_leaves_nothing_behind(store):
    run_id = _run(store).info.run_id
    store.log_batch(run_id, params=[("C", "1.0")])
    with pytest.raises(InvalidParameterValue):
        store.log_batch(
            run_id,
            metrics=[Metric("accuracy", 0.9, 100, 0), Metric("loss", 0.1, 100, 3)],
            params=[("fresh", "x"), ("C", "2.0")],
            tags=[("team", "wine"), ("mlflow.runName", "renamed")],
        )
    run = store.get_run(run_id)
    assert run.data.params == {"C": "1.0"}
    assert run.data.metrics == {}
    assert "team" not in run.data.tags
    assert run.info.run_name != "renamed"
    assert _count(store, metrics, run_id=run_id) == 0
    assert _count(store, latest_metrics, run_id=run_id) == 0
    assert _count(store, params, run_id=run_id) == 1
    assert store.get_metric_history(run_id, "accuracy") == []


def test_log_batch_rejects_one_key_with_two_values_in_the_same_batch(store):
    run_id = _run(store).info.run_id
    with pytest.raises(InvalidParameterValue):
        store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)], params=[("C", "1"), ("C", "2")])
    assert store.get_run(run_id).data.params == {}
    assert store.get_run(run_id).data.metrics == {}


def test_log_batch_tolerates_one_key_with_the_same_value_twice(store):
    run_id = _run(store).info.run_id
    store.log_batch(run_id, params=[("C", "1"), ("C", "1")])
    assert store.get_run(run_id).data.params == {"C": "1"}


def test_log_batch_tags_overwrite(store):
    run_id = _run(store).info.run_id
    store.log_batch(run_id, tags=[("team", "a")])
    store.log_batch(run_id, tags=[("team", "b")])
    assert store.get_run(run_id).data.tags["team"] == "b"
    assert _count(store, run_tags, run_id=run_id, key="team") == 1


def test_log_batch_run_name_tag_renames_the_run(store):
    run_id = _run(store, run_name="first").info.run_id
    store.log_batch(run_id, tags=[("mlflow.runName", "second")])
    run = store.get_run(run_id)
    assert run.info.run_name == "second"
    assert run.data.tags["mlflow.runName"] == "second"


def test_log_batch_on_missing_run_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist):
        store.log_batch("nope", params=[("a", "1")])


def test_delete_tag(store):
    run_id = _run(store, tags={"a": "1", "b": "2"}).info.run_id
    store.delete_tag(run_id, "a")
    assert "a" not in store.get_run(run_id).data.tags
    with pytest.raises(ResourceDoesNotExist):
        store.delete_tag(run_id, "a")


# ---------------------------------------------------------------------------- metrics
def test_metric_history_returns_every_point_in_step_then_timestamp_order(store):
    run_id = _run(store).info.run_id
    store.log_batch(run_id, metrics=[Metric("loss", 0.5, 300, 2), Metric("loss", 0.9, 100, 0)])
    store.log_batch(run_id, metrics=[Metric("loss", 0.7, 200, 1), Metric("loss", 0.6, 250, 1)])
    store.log_batch(run_id, metrics=[Metric("other", 1.0, 100, 0)])
    history = store.get_metric_history(run_id, "loss")
    assert [(m.value, m.timestamp, m.step) for m in history] == [
        (0.9, 100, 0),
        (0.7, 200, 1),
        (0.6, 250, 1),
        (0.5, 300, 2),
    ]
    assert all(m.key == "loss" and m.run_id == run_id and m.model_id is None for m in history)
    assert history.token is None


def test_metric_history_keeps_repeated_identical_points(store):
    run_id = _run(store).info.run_id
    store.log_batch(run_id, metrics=[Metric("m", 1.0, 100, 0)])
    store.log_batch(run_id, metrics=[Metric("m", 1.0, 100, 0)])
    assert len(store.get_metric_history(run_id, "m")) == 2


def test_metric_history_of_unknown_key_is_empty(store):
    run_id = _run(store).info.run_id
    assert store.get_metric_history(run_id, "never") == []


def test_metric_history_of_missing_run_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist):
        store.get_metric_history("nope", "m")


@pytest.mark.parametrize("page_size", [1, 2, 3, 7, 8])
def test_metric_history_pages_cover_every_point_once(store, page_size):
    run_id = _run(store).info.run_id
    store.log_batch(run_id, metrics=[Metric("m", float(i), 1000 + i, i) for i in range(7)])
    walked, token, pages = [], None, 0
    while True:
        page = store.get_metric_history(run_id, "m", max_results=page_size, page_token=token)
        pages += 1
        walked.extend(m.step for m in page)
        token = page.token
        if not token:
            break
        assert len(page) == page_size
    assert walked == list(range(7))
    assert pages == max(1, -(-7 // page_size))


def test_metric_history_invalid_page_token_is_invalid_parameter(store):
    run_id = _run(store).info.run_id
    with pytest.raises(InvalidParameterValue):
        store.get_metric_history(run_id, "m", max_results=1, page_token="garbage")


def test_latest_metric_is_the_highest_step_then_the_latest_timestamp(store):
    run_id = _run(store).info.run_id
    store.log_batch(run_id, metrics=[Metric("m", 1.0, 100, 2), Metric("m", 2.0, 200, 1)])
    assert store.get_run(run_id).data.metrics == {"m": 1.0}  # step 2 wins over a later timestamp
    store.log_batch(run_id, metrics=[Metric("m", 3.0, 50, 2)])
    assert store.get_run(run_id).data.metrics == {"m": 1.0}  # same step, older timestamp: no change
    store.log_batch(run_id, metrics=[Metric("m", 4.0, 150, 2)])
    assert store.get_run(run_id).data.metrics == {"m": 4.0}  # same step, newer timestamp
    store.log_batch(run_id, metrics=[Metric("m", 5.0, 10, 0)])
    assert store.get_run(run_id).data.metrics == {"m": 4.0}  # an old step logged late: no change
    store.log_batch(run_id, metrics=[Metric("m", 6.0, 1, 3)])
    [latest] = store.get_run(run_id).data.metric_objects
    assert (latest.value, latest.timestamp, latest.step) == (6.0, 1, 3)


def test_latest_metric_within_one_batch(store):
    run_id = _run(store).info.run_id
    store.log_batch(run_id, metrics=[Metric("m", 9.0, 500, 0), Metric("m", 1.0, 100, 5), Metric("m", 2.0, 300, 5)])
    assert store.get_run(run_id).data.metrics == {"m": 2.0}




def test_metric_values_keep_double_precision(store):
    run_id = _run(store).info.run_id
    values = [0.9, 0.1 + 0.2, 1 / 3, 123456789.123456789]
    store.log_batch(run_id, metrics=[Metric(f"m{i}", v, 1, 0) for i, v in enumerate(values)])
    assert store.get_run(run_id).data.metrics == {f"m{i}": v for i, v in enumerate(values)}
    assert [m.value for m in store.get_metric_history(run_id, "m0")] == [0.9]


def test_metrics_keep_special_float_values(store):
    run_id = _run(store).info.run_id
    store.log_batch(run_id, metrics=[Metric("big", 1e300, 1, 0), Metric("neg", -0.5, 1, 0), Metric("int", 3, 1, 0)])
    assert store.get_run(run_id).data.metrics == {"big": 1e300, "neg": -0.5, "int": 3.0}


def test_metrics_with_model_id_do_not_duplicate_the_run_history(store):
    run_id = _run(store).info.run_id
    model = store.create_logged_model("0", name="model", source_run_id=run_id)
    points = [Metric("accuracy", 0.8, 100, 0), Metric("accuracy", 0.85, 200, 1), Metric("accuracy", 0.9, 300, 0)]
    store.log_batch(run_id, metrics=points)
    # MLflow 3's log_model re-sends the run's metrics tagged with the new model
    store.log_batch(run_id, metrics=[Metric(m.key, m.value, m.timestamp, m.step, model.model_id) for m in points])

    history = store.get_metric_history(run_id, "accuracy")
    assert len(history) == 3
    assert all(m.model_id is None for m in history)  # points do not gain a model_id they were not logged with
    assert _count(store, metrics, run_id=run_id) == 3
    recorded = store.get_logged_model(model.model_id).metrics
    assert sorted((m.key, m.value, m.timestamp, m.step) for m in recorded) == sorted(
        (m.key, m.value, m.timestamp, m.step) for m in points
    )
    assert all(m.model_id == model.model_id and m.run_id == run_id for m in recorded)


def test_new_metric_point_with_model_id_is_added_to_run_and_model(store):
    run_id = _run(store).info.run_id
    model = store.create_logged_model("0", name="model", source_run_id=run_id)
    store.log_batch(run_id, metrics=[Metric("rmse", 0.3, 100, 0, model.model_id)])
    [point] = store.get_metric_history(run_id, "rmse")
    assert (point.value, point.model_id) == (0.3, model.model_id)
    assert store.get_run(run_id).data.metrics == {"rmse": 0.3}
    assert [(m.key, m.value) for m in store.get_logged_model(model.model_id).metrics] == [("rmse", 0.3)]


def test_model_metrics_resent_twice_are_recorded_once_on_the_model(store):
    run_id = _run(store).info.run_id
    model = store.create_logged_model("0", name="model", source_run_id=run_id)
    point = Metric("acc", 0.5, 100, 0, model.model_id)
    store.log_batch(run_id, metrics=[point])
    store.log_batch(run_id, metrics=[point])
    assert len(store.get_logged_model(model.model_id).metrics) == 1
    assert len(store.get_metric_history(run_id, "acc")) == 1


def test_metric_with_unknown_model_id_is_a_client_error_and_logs_nothing(store):
    from podium.errors import PodiumError

    run_id = _run(store).info.run_id
    with pytest.raises(PodiumError) as info:
        store.log_batch(run_id, metrics=[Metric("acc", 0.5, 100, 0, "m-" + "0" * 32)])
    assert info.value.http_status < 500
    assert store.get_metric_history(run_id, "acc") == []


# ---------------------------------------------------------------------------- outputs and inputs
def test_log_outputs_links_logged_models_to_the_run(store):
    run_id = _run(store).info.run_id
    first = store.create_logged_model("0", name="model", source_run_id=run_id)
    second = store.create_logged_model("0", name="model2", source_run_id=run_id)
    store.log_outputs(run_id, [LoggedModelOutput(first.model_id, 0)])
    store.log_outputs(run_id, [LoggedModelOutput(second.model_id, 5), LoggedModelOutput(first.model_id, 2)])
    outputs = store.get_run(run_id).outputs.model_outputs
    assert sorted((o.model_id, o.step) for o in outputs) == sorted([(first.model_id, 2), (second.model_id, 5)])


def test_log_outputs_on_missing_run_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist):
        store.log_outputs("nope", [LoggedModelOutput("m-1", 0)])


def test_log_inputs_round_trips_dataset_and_model_payloads(store):
    run_id = _run(store).info.run_id
    dataset = {"dataset": {"name": "wine", "digest": "abc", "source_type": "local", "source": "{}"}, "tags": []}
    store.log_inputs(run_id, datasets=[dataset], models=[{"model_id": "m-1"}])
    inputs = store.get_run(run_id).inputs
    assert inputs.dataset_inputs == (dataset,)
    assert inputs.model_inputs == ({"model_id": "m-1"},)


# ============================================================================ logged models
def test_create_logged_model(store):
    run_id = _run(store).info.run_id
    before = int(time.time() * 1000)
    model = store.create_logged_model(
        "0", name="model", source_run_id=run_id, tags={"mlflow.user": "me"}, params={"C": "1.0"}, model_type="clf"
    )
    assert re.fullmatch(r"m-[0-9a-f]{32}", model.model_id)
    assert (model.experiment_id, model.name, model.source_run_id, model.model_type) == ("0", "model", run_id, "clf")
    assert model.status == LoggedModelStatus.PENDING == "LOGGED_MODEL_PENDING"
    assert model.artifact_location == f"{store.get_experiment('0').artifact_location}/models/{model.model_id}/artifacts"
    assert model.artifact_uri == model.artifact_location
    assert model.model_uri == f"models:/{model.model_id}"
    assert (model.tags, model.params, model.metrics) == ({"mlflow.user": "me"}, {"C": "1.0"}, ())
    assert before <= model.creation_timestamp == model.last_updated_timestamp
    assert store.get_logged_model(model.model_id) == model


def test_create_logged_model_without_name_gets_a_generated_one(store):
    model = store.create_logged_model("0")
    assert model.name and model.source_run_id is None


def test_create_logged_model_with_missing_run_or_experiment_is_not_found(store):
    with pytest.raises(ResourceDoesNotExist):
        store.create_logged_model("0", name="m", source_run_id="nope")
    with pytest.raises(ResourceDoesNotExist):
        store.create_logged_model("42", name="m")


@pytest.mark.parametrize("status", [LoggedModelStatus.READY, LoggedModelStatus.FAILED, LoggedModelStatus.PENDING])
def test_finalize_logged_model_sets_the_status(store, status, clock):
    model = store.create_logged_model("0", name="model")
    final = store.finalize_logged_model(model.model_id, status)
    assert final.status == status
    assert final.last_updated_timestamp > model.last_updated_timestamp
    assert store.get_logged_model(model.model_id).status == status


def test_finalize_logged_model_rejects_unknown_status(store):
    model = store.create_logged_model("0", name="model")
    with pytest.raises(InvalidParameterValue):
        store.finalize_logged_model(model.model_id, "DONE")


def test_logged_model_tags_set_overwrite_and_delete(store):
    model = store.create_logged_model("0", name="model", tags={"a": "1"})
    updated = store.set_logged_model_tags(model.model_id, {"a": "2", "b": "3"})
    assert updated.tags == {"a": "2", "b": "3"}
    store.delete_logged_model_tag(model.model_id, "a")
    store.delete_logged_model_tag(model.model_id, "not-there")
    assert store.get_logged_model(model.model_id).tags == {"b": "3"}


def test_log_model_params_adds_and_overwrites(store):
    model = store.create_logged_model("0", name="model", params={"C": "1"})
    store.log_model_params(model.model_id, {"C": "2", "kernel": "rbf"})
    assert store.get_logged_model(model.model_id).params == {"C": "2", "kernel": "rbf"}


def test_delete_logged_model_hides_it(store):
    model = store.create_logged_model("0", name="model")
    store.delete_logged_model(model.model_id)
    with pytest.raises(ResourceDoesNotExist) as info:
        store.get_logged_model(model.model_id)
    assert info.value.message == f"Logged model with ID '{model.model_id}' not found."
    assert store.search_logged_models(["0"], "name = 'model'") == []
    with pytest.raises(ResourceDoesNotExist):
        store.set_logged_model_tags(model.model_id, {"a": "1"})
    with pytest.raises(ResourceDoesNotExist):
        store.delete_logged_model(model.model_id)


def test_missing_logged_model_is_not_found(store):
    for operation in (
        lambda: store.get_logged_model("m-nope"),
        lambda: store.finalize_logged_model("m-nope", LoggedModelStatus.READY),
        lambda: store.set_logged_model_tags("m-nope", {"a": "1"}),
        lambda: store.delete_logged_model_tag("m-nope", "a"),
        lambda: store.log_model_params("m-nope", {"a": "1"}),
    ):
        with pytest.raises(ResourceDoesNotExist):
            operation()


def test_get_run_source_gives_the_run_and_its_newest_active_logged_model_of_that_name(store, clock):
    run = _run(store)
    run_id = run.info.run_id
    assert store.get_run_source(run_id, "model") == (store.get_run_info(run_id), None)  # none logged yet
    older = store.create_logged_model("0", name="model", source_run_id=run_id)
    newer = store.create_logged_model("0", name="model", source_run_id=run_id)
    store.create_logged_model("0", name="other", source_run_id=run_id)
    store.create_logged_model("0", name="model", source_run_id=_run(store).info.run_id)  # another run's
    info, location = store.get_run_source(run_id, "model")
    assert info == store.get_run_info(run_id)
    assert location == newer.artifact_location == store.find_logged_model(run_id, "model").artifact_location
    store.delete_logged_model(newer.model_id)
    assert store.get_run_source(run_id, "model")[1] == older.artifact_location
    assert store.get_run_source(run_id, None)[1] is None
    with pytest.raises(ResourceDoesNotExist):
        store.get_run_source("nope", "model")
