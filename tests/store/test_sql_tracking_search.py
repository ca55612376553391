"""Searching runs, experiments and logged models through SQL: filters, ordering, view types, paging."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import update

from podium.domain.entities import Metric, ViewType
from podium.errors import InvalidParameterValue
from podium.store.sql.tables import experiments


@pytest.fixture
def wine(tracking):
    """Experiment "wine" with four runs (one deleted) and one run in another experiment.

    r1 wine-lr-1: C=1.0, accuracy 0.9, tags x=y, FINISHED, start 1000
    r2 wine-lr-2: C=0.5, accuracy 0.7, FINISHED, start 2000
    r3 other:     C=1.0, no accuracy (loss 0.3), tags x=z, RUNNING, start 3000
    r4 deleted:   C=2.0, accuracy 0.95, start 4000, deleted
    elsewhere:    accuracy 0.99 in experiment "beer"
    """
    exp = tracking.create_experiment("wine")
    other = tracking.create_experiment("beer")

    def run(name, start, params, metrics, tags=None, experiment=exp):
        r = tracking.create_run(experiment, user_id="u", start_time=start, tags=tags or {}, run_name=name)
        tracking.log_batch(
            r.info.run_id,
            metrics=[Metric(k, v, start, 0) for k, v in metrics.items()],
            params=list(params.items()),
        )
        return r.info.run_id

    ids = {
        "r1": run("wine-lr-1", 1000, {"C": "1.0"}, {"accuracy": 0.9}, {"x": "y"}),
        "r2": run("wine-lr-2", 2000, {"C": "0.5"}, {"accuracy": 0.7}),
        "r3": run("other", 3000, {"C": "1.0"}, {"loss": 0.3}, {"x": "z"}),
        "r4": run("deleted", 4000, {"C": "2.0"}, {"accuracy": 0.95}),
        "elsewhere": run("elsewhere", 5000, {}, {"accuracy": 0.99}, experiment=other),
    }
    tracking.update_run_info(ids["r1"], status="FINISHED", end_time=1500)
    tracking.update_run_info(ids["r2"], status="FINISHED", end_time=2500)
    tracking.delete_run(ids["r4"])
    names = {v: k for k, v in ids.items()}
    return tracking, exp, other, names


def _names(page, names):
    return [names[r.info.run_id] for r in page]


# ============================================================================ runs
#: filters that compare a metric with a decimal literal (a known MySQL bug: single-precision FLOAT)


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        (None, {"r1", "r2", "r3"}),
        ("", {"r1", "r2", "r3"}),
        # shared/reference §4 examples
        ("metrics.accuracy > 0", {"r1", "r2"}),
        ("params.C = '1.0'", {"r1", "r3"}),
        ("attributes.run_name = 'wine-lr-2'", {"r2"}),
        ("tags.x = 'y'", {"r1"}),
        # more comparators and keys
        ("metrics.accuracy >= 0.9", {"r1"}),
        ("metrics.accuracy < 0.8", {"r2"}),
        ("metrics.accuracy = 0.7", {"r2"}),
        ("metrics.accuracy != 0.7", {"r1"}),
        ("metric.loss <= 0.3", {"r3"}),
        ("params.C != '1.0'", {"r2"}),
        ("params.C IN ('0.5', '2.0')", {"r2"}),
        ("param.C LIKE '1%'", {"r1", "r3"}),
        ("tags.x != 'y'", {"r3"}),
        ("tags.x LIKE '%'", {"r1", "r3"}),
        ("tags.x IS NULL", {"r2"}),
        ("tags.`mlflow.runName` = 'other'", {"r3"}),
        ("attributes.run_name LIKE 'wine%'", {"r1", "r2"}),
        ("run_name ILIKE 'WINE-LR-1'", {"r1"}),
        ("attributes.status = 'FINISHED'", {"r1", "r2"}),
        ("attribute.status != 'FINISHED'", {"r3"}),
        ("attributes.start_time > 1500", {"r2", "r3"}),
        ("attributes.end_time <= 1500", {"r1"}),
        ("attributes.user_id = 'u'", {"r1", "r2", "r3"}),
        ("metrics.accuracy > 0 AND params.C = '1.0'", {"r1"}),
        # Podium's OR / NOT / parentheses
        ("metrics.accuracy > 0.8 OR params.C = '0.5'", {"r1", "r2"}),
        ("NOT params.C = '1.0'", {"r2"}),
        ("(tags.x = 'y' OR tags.x = 'z') AND NOT attributes.status = 'FINISHED'", {"r3"}),
    ],
)
def test_search_runs_filter(wine, filter_string, expected):
    tracking, exp, _, names = wine
    assert set(_names(tracking.search_runs([exp], filter_string), names)) == expected


def test_search_runs_run_id_attribute(wine):
    tracking, exp, _, names = wine
    r2 = next(k for k, v in names.items() if v == "r2")
    assert _names(tracking.search_runs([exp], f"attributes.run_id = '{r2}'"), names) == ["r2"]
    assert set(_names(tracking.search_runs([exp], f"attributes.run_id IN ('{r2}', 'x')"), names)) == {"r2"}


def test_search_runs_default_order_is_start_time_descending(wine):
    tracking, exp, _, names = wine
    assert _names(tracking.search_runs([exp]), names) == ["r3", "r2", "r1"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["metrics.accuracy DESC"], ["r1", "r2", "r3"]),  # runs without the metric sort last
        (["metrics.accuracy ASC"], ["r2", "r1", "r3"]),
        (["metrics.accuracy"], ["r2", "r1", "r3"]),
        (["start_time ASC"], ["r1", "r2", "r3"]),
        (["attributes.start_time DESC"], ["r3", "r2", "r1"]),
        (["params.C DESC", "start_time ASC"], ["r1", "r3", "r2"]),
        (["attributes.run_name ASC"], ["r3", "r1", "r2"]),
        (["tags.x ASC"], ["r1", "r3", "r2"]),
    ],
)
def test_search_runs_order_by(wine, order_by, expected):
    tracking, exp, _, names = wine
    assert _names(tracking.search_runs([exp], order_by=order_by), names) == expected


@pytest.mark.parametrize(
    ("view_type", "expected"),
    [
        (ViewType.ACTIVE_ONLY, {"r1", "r2", "r3"}),
        (ViewType.DELETED_ONLY, {"r4"}),
        (ViewType.ALL, {"r1", "r2", "r3", "r4"}),
        ("ACTIVE_ONLY", {"r1", "r2", "r3"}),
        ("deleted_only", {"r4"}),
        ("ALL", {"r1", "r2", "r3", "r4"}),
    ],
)
def test_search_runs_view_types(wine, view_type, expected):
    tracking, exp, _, names = wine
    assert set(_names(tracking.search_runs([exp], run_view_type=view_type), names)) == expected


def test_search_runs_view_type_applies_with_a_filter(wine):
    tracking, exp, _, names = wine
    found = tracking.search_runs([exp], "metrics.accuracy > 0.8", run_view_type=ViewType.ALL)
    assert set(_names(found, names)) == {"r1", "r4"}


def test_search_runs_unknown_view_type_is_invalid_parameter(wine):
    tracking, exp, _, _ = wine
    with pytest.raises(InvalidParameterValue):
        tracking.search_runs([exp], run_view_type="SOMETIMES")


def test_search_runs_across_experiments(wine):
    tracking, exp, other, names = wine
    found = tracking.search_runs([exp, other], "metrics.accuracy > 0")
    assert set(_names(found, names)) == {"r1", "r2", "elsewhere"}
    assert tracking.search_runs([], None) == []


def test_search_runs_returns_full_runs(wine):
    tracking, exp, _, names = wine
    [run] = tracking.search_runs([exp], "attributes.run_name = 'wine-lr-1'")
    assert run == tracking.get_run(run.info.run_id)
    assert (run.data.params, run.data.metrics, run.data.tags["x"]) == ({"C": "1.0"}, {"accuracy": 0.9}, "y")


@pytest.mark.parametrize("page_size", [1, 2, 3, 4])
def test_search_runs_pages_cover_everything_once(wine, page_size):
    tracking, exp, _, names = wine
    everything = _names(tracking.search_runs([exp], run_view_type=ViewType.ALL), names)
    walked, token, pages = [], None, 0
    while True:
        page = tracking.search_runs([exp], run_view_type=ViewType.ALL, max_results=page_size, page_token=token)
        pages += 1
        walked += _names(page, names)
        token = page.token
        if not token:
            break
        assert len(page) == page_size
    assert walked == everything and len(set(walked)) == 4
    assert pages == math.ceil(4 / page_size)


@pytest.mark.parametrize(
    "filter_string",
    ["metrics.accuracy > 'high'", "params.C > '1'", "attributes.nope = 'x'", "foo.bar = 'x'", "metrics.a >",
     "attributes.start_time = 'yesterday'"],
)
def test_search_runs_bad_filter_is_invalid_parameter(wine, filter_string):
    tracking, exp, _, _ = wine
    with pytest.raises(InvalidParameterValue):
        tracking.search_runs([exp], filter_string)


def test_search_runs_invalid_page_token_and_max_results(wine):
    tracking, exp, _, _ = wine
    with pytest.raises(InvalidParameterValue):
        tracking.search_runs([exp], page_token="garbage")
    with pytest.raises(InvalidParameterValue):
        tracking.search_runs([exp], max_results=50001)
    with pytest.raises(InvalidParameterValue):
        tracking.search_runs(["not-an-id"])


# ============================================================================ experiments
@pytest.fixture
def experiment_set(tracking):
    ids = {
        "wine": tracking.create_experiment("wine", tags={"team": "ml"}),
        "wine-2": tracking.create_experiment("wine-2"),
        "beer": tracking.create_experiment("beer", tags={"team": "data"}),
        "old": tracking.create_experiment("old"),
    }
    tracking.delete_experiment(ids["old"])
    # distinct creation times, oldest first: Default, wine, wine-2, beer, old
    with tracking.store.db.write() as conn:
        for i, experiment_id in enumerate(["0", *ids.values()]):
            conn.execute(
                update(experiments).where(experiments.c.experiment_id == int(experiment_id)).values(creation_time=1000 + i)
            )
    return tracking


def _exp_names(page):
    return [e.name for e in page]


@pytest.mark.parametrize(
    ("filter_string", "view_type", "expected"),
    [
        (None, ViewType.ACTIVE_ONLY, {"Default", "wine", "wine-2", "beer"}),
        (None, ViewType.DELETED_ONLY, {"old"}),
        (None, ViewType.ALL, {"Default", "wine", "wine-2", "beer", "old"}),
        ("name = 'wine'", ViewType.ACTIVE_ONLY, {"wine"}),
        ("name LIKE 'wine%'", ViewType.ACTIVE_ONLY, {"wine", "wine-2"}),
        ("name ILIKE 'WINE%'", ViewType.ACTIVE_ONLY, {"wine", "wine-2"}),
        ("name != 'wine'", ViewType.ACTIVE_ONLY, {"Default", "wine-2", "beer"}),
        ("tags.team = 'ml'", ViewType.ACTIVE_ONLY, {"wine"}),
        ("tags.team IS NOT NULL", ViewType.ACTIVE_ONLY, {"wine", "beer"}),
        ("name = 'old'", ViewType.ACTIVE_ONLY, set()),
        ("name = 'old'", ViewType.ALL, {"old"}),
        ("name = 'beer' OR tags.team = 'ml'", ViewType.ACTIVE_ONLY, {"beer", "wine"}),
    ],
)
def test_search_experiments_filter_and_view_type(experiment_set, filter_string, view_type, expected):
    found = experiment_set.search_experiments(view_type=view_type, filter_string=filter_string)
    assert set(_exp_names(found)) == expected


def test_search_experiments_default_order_is_newest_first(experiment_set):
    assert _exp_names(experiment_set.search_experiments(view_type=ViewType.ALL)) == [
        "old",
        "beer",
        "wine-2",
        "wine",
        "Default",
    ]


def test_search_experiments_order_by_name(experiment_set):
    found = experiment_set.search_experiments(filter_string="name != 'Default'", order_by=["name DESC"])
    assert _exp_names(found) == ["wine-2", "wine", "beer"]
    found = experiment_set.search_experiments(filter_string="name != 'Default'", order_by=["name"])
    assert _exp_names(found) == ["beer", "wine", "wine-2"]


@pytest.mark.parametrize("page_size", [1, 2, 5])
def test_search_experiments_pages_cover_everything_once(experiment_set, page_size):
    walked, token = [], None
    while True:
        page = experiment_set.search_experiments(view_type=ViewType.ALL, max_results=page_size, page_token=token)
        walked += _exp_names(page)
        token = page.token
        if not token:
            break
    assert walked == ["old", "beer", "wine-2", "wine", "Default"]


def test_search_experiments_bad_filter_key_is_invalid_parameter(experiment_set):
    with pytest.raises(InvalidParameterValue):
        experiment_set.search_experiments(filter_string="artifact_location = 'x'")


# ============================================================================ logged models
@pytest.fixture
def logged(tracking):
    exp = tracking.create_experiment("lm")
    run_a = tracking.create_run(exp, run_name="a").info.run_id
    run_b = tracking.create_run(exp, run_name="b").info.run_id
    models = {
        "a-model": tracking.create_logged_model(exp, name="model", source_run_id=run_a),
        "b-model": tracking.create_logged_model(exp, name="model", source_run_id=run_b),
        "a-other": tracking.create_logged_model(exp, name="other", source_run_id=run_a),
        "free": tracking.create_logged_model(exp, name="model"),
        "default-exp": tracking.create_logged_model("0", name="model"),
    }
    tracking.finalize_logged_model(models["a-model"].model_id, "READY")
    ids = {m.model_id: k for k, m in models.items()}
    return tracking, exp, run_a, run_b, ids


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        (None, {"a-model", "b-model", "a-other", "free"}),
        ("name = 'model'", {"a-model", "b-model", "free"}),
        ("name = 'other'", {"a-other"}),
        ("name LIKE 'mod%'", {"a-model", "b-model", "free"}),
        ("status = 'LOGGED_MODEL_READY'", {"a-model"}),
        ("name = 'nothing'", set()),
    ],
)
def test_search_logged_models_filter(logged, filter_string, expected):
    tracking, exp, _, _, ids = logged
    assert {ids[m.model_id] for m in tracking.search_logged_models([exp], filter_string)} == expected


def test_search_logged_models_by_name_and_source_run(logged):
    tracking, exp, run_a, run_b, ids = logged
    found = tracking.search_logged_models([exp], f"name = 'model' AND source_run_id = '{run_a}'")
    assert [ids[m.model_id] for m in found] == ["a-model"]
    found = tracking.search_logged_models([exp], f"source_run_id = '{run_a}'")
    assert {ids[m.model_id] for m in found} == {"a-model", "a-other"}


def test_search_logged_models_across_experiments_and_without_deleted(logged):
    tracking, exp, _, _, ids = logged
    found = tracking.search_logged_models([exp, "0"], "name = 'model'")
    assert {ids[m.model_id] for m in found} == {"a-model", "b-model", "free", "default-exp"}
    tracking.delete_logged_model(next(k for k, v in ids.items() if v == "free"))
    found = tracking.search_logged_models([exp, "0"], "name = 'model'")
    assert {ids[m.model_id] for m in found} == {"a-model", "b-model", "default-exp"}


@pytest.mark.parametrize("page_size", [1, 2, 3])
def test_search_logged_models_pages_cover_everything_once(logged, page_size):
    tracking, exp, _, _, ids = logged
    everything = [m.model_id for m in tracking.search_logged_models([exp])]
    walked, token = [], None
    while True:
        page = tracking.search_logged_models([exp], max_results=page_size, page_token=token)
        walked += [m.model_id for m in page]
        token = page.token
        if not token:
            break
    assert walked == everything and len(set(walked)) == 4


def test_search_logged_models_order_by_dicts_as_mlflow_sends_them(logged):
    tracking, exp, _, _, ids = logged
    ascending = tracking.search_logged_models([exp], order_by=[{"field_name": "name", "ascending": True}])
    assert [m.name for m in ascending] == ["model", "model", "model", "other"]
    descending = tracking.search_logged_models([exp], order_by=[{"field_name": "name", "ascending": False}])
    assert [m.name for m in descending][0] == "other"


def test_search_logged_models_bad_filter_is_invalid_parameter(logged):
    tracking, exp, _, _, _ = logged
    with pytest.raises(InvalidParameterValue):
        tracking.search_logged_models([exp], "nope = 'x'")
