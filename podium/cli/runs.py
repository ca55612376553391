"""``podium runs``: list tracked runs with their status, timing, metrics and params.

Thin over :meth:`~podium.client.PodiumClient.search_runs`: the filter and order-by strings are
MLflow's search grammar, passed through unchanged.
"""

from __future__ import annotations

import click

from podium.cli import CliState, collect, pass_state
from podium.cli.output import (
    format_duration,
    format_time,
    format_value,
    json_option,
    print_json,
    print_renderable,
    table,
    text,
)

__all__ = ["runs"]

#: the experiment MLflow and Podium log to when none is chosen
DEFAULT_EXPERIMENT_ID = "0"


@click.group()
def runs() -> None:
    """List tracked runs with their metrics and params."""


@runs.command("list")
@click.option("--experiment-id", metavar="ID", help="Experiment to list (default: 0, the Default experiment).")
@click.option("--experiment-name", metavar="NAME", help="Experiment to list, by name.")
@click.option("--filter", "filter_string", metavar="FILTER",
              help="MLflow search filter, e.g. \"metrics.accuracy > 0.9 and params.C = '1.0'\".")
@click.option("--order-by", multiple=True, metavar="CLAUSE",
              help="Sort clause, e.g. 'metrics.accuracy DESC'; repeat for more. Default: newest first.")
@click.option("--max-results", type=click.IntRange(min=1), default=100, show_default=True,
              help="Stop after this many runs.")
@json_option
@pass_state
def list_runs(state: CliState, experiment_id: str | None, experiment_name: str | None, filter_string: str | None,
              order_by: tuple[str, ...], max_results: int, as_json: bool) -> None:
    """List the runs of one experiment."""
    if experiment_id is not None and experiment_name is not None:
        raise click.UsageError("Give --experiment-id or --experiment-name, not both.")
    client = state.client()
    experiment = _experiment(client, experiment_id, experiment_name)
    found = collect(
        lambda token, n: client.search_runs([experiment.experiment_id], filter_string or "", max_results=n,
                                            order_by=list(order_by) or None, page_token=token),
        max_results,
    )
    if as_json:
        print_json({"runs": found})
        return
    result = table(f"Runs in experiment {experiment.name!r} (id {experiment.experiment_id}): {len(found)}",
                   ("Run ID", {"no_wrap": True}), ("Name", {"min_width": 8}), ("Status", {"no_wrap": True}),
                   ("Start", {"no_wrap": True}), ("Duration", {"justify": "right", "no_wrap": True}),
                   ("Metrics", {"min_width": 12}), ("Params", {"min_width": 8}))
    for run in found:
        info, data = run.info, run.data
        result.add_row(text(info.run_id), text(info.run_name), text(info.status, _status_style(info.status)),
                       format_time(info.start_time), format_duration(info.start_time, info.end_time),
                       text(_key_values(data.metrics)), text(_key_values(data.params)))
    print_renderable(result)


def _experiment(client, experiment_id: str | None, experiment_name: str | None):
    from podium.errors import ResourceDoesNotExist

    if experiment_name is not None:
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None:
            raise ResourceDoesNotExist(f"Experiment with name '{experiment_name}' does not exist.")
        return experiment
    return client.get_experiment(experiment_id or DEFAULT_EXPERIMENT_ID)


#: metrics or params shown per run in the table (all of them with --json)
_SHOWN_VALUES = 6


def _key_values(values: dict) -> str:
    items = sorted(values.items())
    lines = [f"{key}={format_value(value)}" for key, value in items[:_SHOWN_VALUES]]
    if len(items) > _SHOWN_VALUES:
        lines.append(f"(+{len(items) - _SHOWN_VALUES} more)")
    return "\n".join(lines)


def _status_style(status: str) -> str:
    return {"FINISHED": "green", "FAILED": "red", "KILLED": "red", "RUNNING": "yellow"}.get(status, "")
