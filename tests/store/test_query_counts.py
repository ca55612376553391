"""Listing is done in a fixed number of SQL statements per page, never one per row (no N+1).

Statements are counted with SQLAlchemy's ``before_cursor_execute`` event on the shared engine. Each
test loads a page of a few items and a page of many fully populated items and requires the same
statement count for both.
"""

from __future__ import annotations

import pytest

from podium.domain.entities import LoggedModelOutput, Metric


def _statements(count_statements, call) -> int:
    with count_statements() as counter:
        call()
    return counter.count


@pytest.fixture
def fifty_models(registry):
    r = registry.registry
    for i in range(50):
        name = f"m{i:02d}"
        r.create_registered_model(name, tags={"team": "ml", "idx": str(i)}, description="d")
        for _ in range(3):
            r.create_model_version(name, "/x", tags={"k": "v"})
        r.transition_model_version_stage(name, 1, "Production")
        r.transition_model_version_stage(name, 2, "Staging")
        r.set_registered_model_alias(name, "champion", 3)
        r.set_registered_model_alias(name, "old", 1)
    return registry


def test_search_registered_models_runs_a_constant_number_of_statements(fifty_models, count_statements):
    few = _statements(count_statements, lambda: fifty_models.search_registered_models(max_results=2))
    page = []
    many = _statements(count_statements, lambda: page.extend(fifty_models.search_registered_models(max_results=50)))
    assert len(page) == 50
    assert all(len(m.latest_versions) == 3 and m.tags and len(m.aliases) == 2 for m in page)
    assert many == few
    assert many <= 8


def test_search_registered_models_with_tag_filter_is_constant_too(fifty_models, count_statements):
    query = "tags.team = 'ml' AND tag.`mlflow.prompt.is_prompt` != 'true'"
    few = _statements(count_statements, lambda: fifty_models.search_registered_models(query, max_results=2))
    many = _statements(count_statements, lambda: fifty_models.search_registered_models(query, max_results=50))
    assert many == few


def test_search_model_versions_runs_a_constant_number_of_statements(fifty_models, count_statements):
    few = _statements(count_statements, lambda: fifty_models.search_model_versions(max_results=2))
    page = []
    many = _statements(count_statements, lambda: page.extend(fifty_models.search_model_versions(max_results=150)))
    assert len(page) == 150
    assert sum(1 for v in page if v.aliases) == 100 and all(v.tags == {"k": "v"} for v in page)
    assert many == few
    assert many <= 6


def test_get_registered_model_cost_does_not_grow_with_versions(registry, count_statements):
    registry.create_registered_model("small")
    registry.registry.create_model_version("small", "/x")
    registry.create_registered_model("big")
    for _ in range(40):
        registry.registry.create_model_version("big", "/x", tags={"a": "b"})
    small = _statements(count_statements, lambda: registry.get_registered_model("small"))
    big = _statements(count_statements, lambda: registry.get_registered_model("big"))
    assert big == small


@pytest.fixture
def fifty_runs(tracking):
    for i in range(50):
        run_id = tracking.create_run("0", start_time=i, tags={"team": "ml"}, run_name=f"r{i}").info.run_id
        tracking.log_batch(
            run_id,
            metrics=[Metric("accuracy", i / 50, 1, 0), Metric("loss", 1 - i / 50, 1, 0), Metric("loss", 0.5, 2, 1)],
            params=[("C", str(i)), ("kernel", "rbf")],
            tags=[("extra", "x")],
        )
        model = tracking.create_logged_model("0", name="model", source_run_id=run_id)
        tracking.log_outputs(run_id, [LoggedModelOutput(model.model_id, 0)])
        tracking.log_inputs(run_id, datasets=[{"dataset": {"name": "d", "digest": str(i)}}])
    return tracking


def test_search_runs_runs_a_constant_number_of_statements(fifty_runs, count_statements):
    few = _statements(count_statements, lambda: fifty_runs.search_runs(["0"], max_results=2))
    page = []
    many = _statements(count_statements, lambda: page.extend(fifty_runs.search_runs(["0"], max_results=50)))
    assert len(page) == 50
    assert all(len(r.data.params) == 2 and len(r.data.metrics) == 2 and r.outputs.model_outputs for r in page)
    assert many == few
    assert many <= 8


def test_search_runs_with_filter_and_metric_order_is_constant(fifty_runs, count_statements):
    def search(n):
        return lambda: fifty_runs.search_runs(
            ["0"], "metrics.accuracy >= 0 AND params.kernel = 'rbf'", max_results=n, order_by=["metrics.loss DESC"]
        )

    assert _statements(count_statements, search(50)) == _statements(count_statements, search(2))


def test_search_logged_models_runs_a_constant_number_of_statements(fifty_runs, count_statements):
    few = _statements(count_statements, lambda: fifty_runs.search_logged_models(["0"], max_results=2))
    many = _statements(count_statements, lambda: fifty_runs.search_logged_models(["0"], max_results=50))
    assert many == few


def test_search_experiments_runs_a_constant_number_of_statements(tracking, count_statements):
    for i in range(30):
        tracking.create_experiment(f"e{i}", tags={"a": "b", "c": "d"})
    few = _statements(count_statements, lambda: tracking.search_experiments(max_results=2))
    many = _statements(count_statements, lambda: tracking.search_experiments(max_results=31))
    assert many == few


def test_latest_metrics_of_many_runs_in_one_read(backend, count_statements):
    t = backend.tracking
    runs = [t.create_run("0").info.run_id for _ in range(3)]
    t.log_batch(runs[0], [Metric("rmse", 0.5, 1, 0), Metric("rmse", 0.4, 2, 1), Metric("r2", 0.9, 1, 0)])
    t.log_batch(runs[1], [Metric("rmse", float("nan"), 1, 0)])
    one = _statements(count_statements, lambda: t.get_latest_metrics(runs[:1]))
    found = {}
    many = _statements(count_statements, lambda: found.update(t.get_latest_metrics(runs + ["no-such-run"])))
    assert one == many <= 2  # one SELECT (SQLite adds its BEGIN)
    assert found[runs[0]] == {"rmse": 0.4, "r2": 0.9} and runs[2] not in found and "no-such-run" not in found
    assert list(found[runs[1]]) == ["rmse"] and found[runs[1]]["rmse"] != found[runs[1]]["rmse"]  # NaN
    assert t.get_latest_metrics([]) == {}


def test_a_transition_s_alias_warnings_cost_nothing_per_alias(registry, count_statements):
    """The aliases left on versions a transition archives are read in its own transaction, once, not
    per aliased version around it."""
    for name, aliases in (("plain", {}), ("aliased", {"champion": 1, "old": 2, "canary": 3})):
        registry.create_registered_model(name)
        for _ in range(3):
            registry.registry.create_model_version(name, "/x")
        registry.transition_model_version_stage(name, 1, "Production")
        registry.transition_model_version_stage(name, 2, "Production")  # 1 and 2 both in Production
        for alias, version in aliases.items():
            registry.set_registered_model_alias(name, alias, version)
    warned = {}

    def transition(name):
        warned[name] = registry.transition_model_version_stage_with_warnings(name, 3, "Production", True)[1]

    plain = _statements(count_statements, lambda: transition("plain"))
    aliased = _statements(count_statements, lambda: transition("aliased"))
    assert aliased == plain
    assert warned == {"plain": [], "aliased": ["alias 'champion' points at version 1, now Archived",
                                               "alias 'old' points at version 2, now Archived"]}
