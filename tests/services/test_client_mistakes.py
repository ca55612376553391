"""A caller's mistake is always a PodiumError with a 4xx status, never a raw exception (which the server
would answer with 500, and which the mlflow client retries for minutes)."""

from __future__ import annotations

import pytest

from podium.domain.entities import LoggedModelOutput, Metric
from podium.domain.paging import encode_page_token
from podium.domain.rules import MAX_NAME_LENGTH
from podium.errors import PodiumError

#: on every backend: PostgreSQL and MariaDB raised raw DataErrors (a 500) for mistakes SQLite took quietly
pytestmark = pytest.mark.all_backends

HUGE_OFFSET_TOKEN = encode_page_token({"offset": 2**70})


def assert_client_error(call) -> PodiumError:
    """``call`` must fail with a PodiumError whose status is 4xx (and nothing else may escape)."""
    try:
        call()
    except PodiumError as error:
        assert 400 <= error.http_status < 500, f"{error.error_code} answers {error.http_status}"
        return error
    except Exception as error:  # noqa: BLE001 - the point of the test
        pytest.fail(f"raw {type(error).__name__} escaped: {error}")
    pytest.fail("no error raised")


@pytest.fixture
def world(registry, tracking):
    run_id = tracking.create_run("0").info.run_id
    registry.create_registered_model("wine")
    registry.create_model_version("wine", "/x")
    model = tracking.create_logged_model("0", name="model", source_run_id=run_id)
    return registry, tracking, run_id, model


MISTAKES = {
    "unknown experiment id": lambda r, t, run, m: t.get_experiment("424242"),
    "non-numeric experiment id": lambda r, t, run, m: t.create_run("abc"),
    "unknown run": lambda r, t, run, m: t.get_run("f" * 32),
    "log to unknown run": lambda r, t, run, m: t.log_batch("f" * 32, params=[("a", "1")]),
    "unknown logged model": lambda r, t, run, m: t.get_logged_model("m-" + "f" * 32),
    "unknown registered model": lambda r, t, run, m: r.get_registered_model("nope"),
    "version zero": lambda r, t, run, m: r.get_model_version("wine", 0),
    "version above int32": lambda r, t, run, m: r.get_model_version("wine", 2**31),
    "bad filter": lambda r, t, run, m: r.search_model_versions("name = "),
    "bad order_by": lambda r, t, run, m: t.search_runs(["0"], order_by=["nope DESC"]),
    "garbage page token": lambda r, t, run, m: t.search_runs(["0"], page_token="%%%"),
    "too deep filter": lambda r, t, run, m: r.search_registered_models("(" * 200 + "name = 'a'" + ")" * 200),
    "unknown view type name": lambda r, t, run, m: t.search_experiments(view_type="SOME"),
    "registry tag key too long": lambda r, t, run, m: r.set_registered_model_tag("wine", "k" * 251, "v"),
    "alias too long": lambda r, t, run, m: r.set_registered_model_alias("wine", "a" * (MAX_NAME_LENGTH + 1), 1),
    "copy from a runs uri": lambda r, t, run, m: r.copy_model_version("runs:/x/y", "dst"),
    "copy from a logged model uri": lambda r, t, run, m: r.copy_model_version(f"models:/{m.model_id}", "dst"),
    "source models:/ without selector": lambda r, t, run, m: r.create_model_version("wine", "models:/"),
    "logged model status None": lambda r, t, run, m: t.finalize_logged_model(m.model_id, None),
    "delete default experiment": lambda r, t, run, m: t.delete_experiment("0"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_client_mistakes_are_4xx_podium_errors(world, mistake):
    assert_client_error(lambda: MISTAKES[mistake](*world))

@pytest.mark.parametrize(
    "search",
    [
        lambda r, t, run: r.search_registered_models(page_token=HUGE_OFFSET_TOKEN),
        lambda r, t, run: r.search_model_versions(page_token=HUGE_OFFSET_TOKEN),
        lambda r, t, run: t.search_runs(["0"], page_token=HUGE_OFFSET_TOKEN),
        lambda r, t, run: t.search_experiments(page_token=HUGE_OFFSET_TOKEN),
        lambda r, t, run: t.get_metric_history(run, "m", 10, HUGE_OFFSET_TOKEN),
    ],
    ids=["registered_models", "model_versions", "runs", "experiments", "metric_history"],
)
def test_page_token_with_an_out_of_range_offset_is_a_client_error(world, search):
    registry, tracking, run_id, _ = world
    assert_client_error(lambda: search(registry, tracking, run_id))

def test_page_token_past_the_end_is_an_empty_last_page(world):
    registry, _, _, _ = world
    page = registry.search_registered_models(page_token=encode_page_token({"offset": 10_000}))
    assert page == [] and page.token is None

@pytest.mark.parametrize("field", ["timestamp", "step"])
def test_log_batch_with_a_non_numeric_timestamp_or_step_is_a_client_error(world, field):
    _, tracking, run_id, _ = world
    point = Metric("m", 1.0, "soon", 0) if field == "timestamp" else Metric("m", 1.0, 1, "first")
    assert_client_error(lambda: tracking.log_batch(run_id, metrics=[point]))
    assert tracking.get_metric_history(run_id, "m") == []

@pytest.mark.parametrize("field", ["timestamp", "step"])
def test_log_batch_with_a_timestamp_or_step_beyond_64_bits_is_a_client_error(world, field):
    _, tracking, run_id, _ = world
    point = Metric("m", 1.0, 2**70, 0) if field == "timestamp" else Metric("m", 1.0, 1, 2**70)
    assert_client_error(lambda: tracking.log_batch(run_id, metrics=[point]))

def test_run_times_must_be_integers(world):
    _, tracking, run_id, _ = world
    assert_client_error(lambda: tracking.create_run("0", start_time="abc"))
    assert_client_error(lambda: tracking.update_run_info(run_id, end_time="abc"))

@pytest.mark.parametrize("field", ["name", "model_type"])
def test_logged_model_name_and_type_longer_than_the_column_are_client_errors(world, field):
    _, tracking, _, _ = world
    kwargs = {"name": "m", field: "x" * (MAX_NAME_LENGTH + 1)}
    assert_client_error(lambda: tracking.create_logged_model("0", **kwargs))

def test_log_outputs_without_a_step_is_not_a_server_error(world):
    _, tracking, run_id, model = world
    try:
        tracking.log_outputs(run_id, [LoggedModelOutput(model.model_id, None)])
    except PodiumError as error:
        assert error.http_status < 500
    else:
        assert [(o.model_id, o.step) for o in tracking.get_run(run_id).outputs.model_outputs] == [(model.model_id, 0)]
