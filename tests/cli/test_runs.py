"""``podium runs list``: choose the experiment, filter, order, limit; table and --json."""

from __future__ import annotations

import json

import pytest

from podium.cli.output import format_time
from podium.domain.entities import Metric

from .helpers import assert_one_line_error

START = 1_700_000_000_000


@pytest.fixture
def experiment(seed) -> dict:
    """Experiment ``tuning`` with three runs (accuracy 0.81 / 0.88 / 0.95), one run in Default."""
    experiment_id = seed.create_experiment("tuning")
    ids = {}
    for i, (name, accuracy, status) in enumerate(
        [("slow", 0.81, "FAILED"), ("mid", 0.88, "FINISHED"), ("best", 0.95, "FINISHED")]
    ):
        run = seed.create_run(experiment_id, start_time=START + i * 1000, run_name=name)
        seed.log_metric(run.info.run_id, "accuracy", accuracy)
        seed.log_param(run.info.run_id, "C", str(10 ** -i))
        seed.set_terminated(run.info.run_id, status, end_time=START + i * 1000 + 65_000)
        ids[name] = run.info.run_id
    default_run = seed.create_run("0", run_name="in-default")
    ids["in-default"] = default_run.info.run_id
    return {"experiment_id": experiment_id, "run_ids": ids}


def _names(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [r["info"]["run_name"] for r in json.loads(result.stdout)["runs"]]


def test_list_shows_id_name_status_start_duration_metrics_and_params(podium_cli, experiment):
    result = podium_cli("runs", "list", "--experiment-name", "tuning")
    assert result.exit_code == 0
    assert f"Runs in experiment 'tuning' (id {experiment['experiment_id']}): 3" in result.stdout
    best = next(line for line in result.stdout.splitlines() if experiment["run_ids"]["best"] in line)
    for cell in ("best", "FINISHED", format_time(START + 2000), "1m 05s", "accuracy=0.95", "C=0.01"):
        assert cell in best
    assert "FAILED" in next(line for line in result.stdout.splitlines() if experiment["run_ids"]["slow"] in line)


def test_list_json_has_mlflow_run_shape(podium_cli, experiment):
    result = podium_cli("runs", "list", "--experiment-id", experiment["experiment_id"], "--json")
    runs = json.loads(result.stdout)["runs"]
    assert len(runs) == 3
    best = next(r for r in runs if r["info"]["run_name"] == "best")
    assert set(best) == {"info", "data", "inputs", "outputs"}
    assert best["info"]["run_id"] == experiment["run_ids"]["best"]
    assert best["info"]["start_time"] == START + 2000 and best["info"]["end_time"] == START + 67_000
    assert best["info"]["status"] == "FINISHED"
    assert best["data"]["metrics"] == {"accuracy": 0.95}
    assert best["data"]["params"] == {"C": "0.01"}
    assert "metric_objects" not in best["data"]


def test_list_defaults_to_the_default_experiment(podium_cli, experiment):
    assert _names(podium_cli("runs", "list", "--json")) == ["in-default"]


def test_list_filter_order_by_and_max_results(podium_cli, experiment):
    base = ("runs", "list", "--experiment-name", "tuning", "--json")
    assert sorted(_names(podium_cli(*base, "--filter", "metrics.accuracy > 0.85"))) == ["best", "mid"]
    assert _names(podium_cli(*base, "--order-by", "metrics.accuracy ASC")) == ["slow", "mid", "best"]
    assert _names(podium_cli(*base, "--order-by", "attributes.status ASC", "--order-by", "metrics.accuracy DESC")) \
        == ["slow", "best", "mid"]
    assert _names(podium_cli(*base, "--order-by", "metrics.accuracy DESC", "--max-results", "1")) == ["best"]


def test_list_shows_at_most_six_metrics_per_run(podium_cli, seed):
    run = seed.create_run("0", run_name="many")
    seed.log_batch(run.info.run_id, metrics=[Metric(f"m{i}", float(i), START) for i in range(8)])
    result = podium_cli("runs", "list")
    assert "m5=5" in result.stdout and "m6=6" not in result.stdout and "(+2 more)" in result.stdout


def test_list_unknown_experiment_name_exits_3(podium_cli, experiment):
    result = podium_cli("runs", "list", "--experiment-name", "nope")
    assert_one_line_error(result, 3, "RESOURCE_DOES_NOT_EXIST")
    assert "nope" in result.stderr


def test_list_unknown_experiment_id_exits_3(podium_cli, experiment):
    assert_one_line_error(podium_cli("runs", "list", "--experiment-id", "999"), 3, "RESOURCE_DOES_NOT_EXIST")


def test_list_experiment_id_and_name_together_is_a_usage_error(podium_cli, experiment):
    result = podium_cli("runs", "list", "--experiment-id", "0", "--experiment-name", "tuning")
    assert result.exit_code == 2 and "not both" in result.stderr


def test_list_bad_filter_is_invalid_parameter_value(podium_cli, experiment):
    result = podium_cli("runs", "list", "--filter", "metrics.accuracy >>> 1")
    assert_one_line_error(result, 1, "INVALID_PARAMETER_VALUE")
