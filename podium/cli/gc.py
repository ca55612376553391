"""``podium gc``: permanently remove deleted experiments, runs, logged models and the files of
deleted model versions, once deleted longer than ``--older-than`` (on the database, like ``podium db``).

The work is :class:`podium.services.gc.GcService`'s; this module parses the flags and prints the
report. The database is ``--backend-store-uri``, else ``PODIUM_BACKEND_STORE_URI``, else the tracking
URI. Files a server keeps (``mlflow-artifacts:/`` locations) are found through
``--artifacts-destination`` (``PODIUM_ARTIFACTS_DESTINATION``; default: ``artifacts/`` beside a SQLite
file, where ``podium server`` keeps them when it serves that file).
"""

from __future__ import annotations

import click

from podium.cli import CliState, pass_state, warn_if_new_store
from podium.cli.admin import uri_option
from podium.cli.output import fail, format_time, json_option, print_json, print_renderable, table, text

__all__ = ["gc"]


def _ids(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


@click.command()
@click.option("--older-than", default="30d", show_default=True, metavar="DURATION",
              help="Only what was deleted at least this long ago: 30d, 12h, 2d8h5m20s, 90s; 0 for everything deleted.")
@click.option("--dry-run", is_flag=True, help="Report the rows and bytes that would go; change nothing.")
@click.option("--run-ids", metavar="ID,ID", help="Only these deleted runs (comma-separated).")
@click.option("--experiment-ids", metavar="ID,ID",
              help="Only these deleted experiments, with all their runs and logged models (comma-separated).")
@click.option("--logged-model-ids", metavar="ID,ID", help="Only these deleted logged models (comma-separated).")
@click.option("--artifacts-destination", envvar="PODIUM_ARTIFACTS_DESTINATION", metavar="DIR|s3://…",
              help="Where the server keeps mlflow-artifacts:/ files (its --artifacts-destination). "
                   "Default: artifacts/ beside a SQLite database.")
@click.option("--history", "show_history", is_flag=True,
              help="Show the purge history (newest first) instead of collecting.")
@click.option("--max-results", default=50, show_default=True, type=click.IntRange(1, 100_000),
              help="With --history: how many records.")
@uri_option
@json_option
@pass_state
def gc(state: CliState, older_than: str, dry_run: bool, run_ids: str | None, experiment_ids: str | None,
       logged_model_ids: str | None, artifacts_destination: str | None, show_history: bool, max_results: int, backend_store_uri: str | None,
       as_json: bool) -> None:
    """Permanently remove what was deleted: experiments, runs, logged models, their rows and artifacts,
    and the files of deleted model versions. Nothing a remaining run, logged model or version uses is
    ever removed. Safe to interrupt and run again.

    \b
    Examples:
      podium gc --dry-run
      podium gc --older-than 7d
      podium gc --older-than 0 --run-ids 4f1c9a…,9b2e71…
      podium gc --history
    """
    from podium import settings
    from podium.compose import open_gc
    from podium.domain.gc import parse_duration
    from podium.errors import InvalidParameterValue, PodiumError, TemporarilyUnavailable
    from podium.uris import sqlite_path_of

    try:
        older_than_ms = parse_duration(older_than)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    url = backend_store_uri or settings.tracking_uri(state.tracking_uri)
    if url.startswith(("http://", "https://")):
        fail(InvalidParameterValue(f"'{url}' is a server, not a database; give --backend-store-uri (podium gc "
                                   "works on the database; a server collects by itself with --gc-interval)."))
    warn_if_new_store(url)
    if artifacts_destination is None and sqlite_path_of(url):
        import os.path

        artifacts_destination = os.path.join(os.path.dirname(os.path.abspath(os.path.expanduser(sqlite_path_of(url)))),
                                             "artifacts")
    database = None
    try:
        service, database = open_gc(url, artifacts_destination)
        if show_history:
            _print_history(service.history(max_results), as_json)
            return
        report = service.collect(older_than_ms, run_ids=_ids(run_ids), experiment_ids=_ids(experiment_ids),
                                 logged_model_ids=_ids(logged_model_ids), dry_run=dry_run)
    except PodiumError:
        raise
    except Exception as exc:  # noqa: BLE001 - driver errors vary by backend
        fail(TemporarilyUnavailable(f"Cannot use the database: {type(exc).__name__}: {str(exc).splitlines()[0]}"))
    finally:
        if database is not None:
            database.dispose()
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if as_json:
        print_json(report.to_dict())
        return
    _print_report(report)


def _print_report(report) -> None:
    verb = "Would purge" if report.dry_run else "Purged"
    if report.purged:
        result = table(f"{verb} ({len(report.purged)})", "Kind", "Id", "Name", "Rows")
        for p in report.purged:
            result.add_row(p["kind"], text(p["id"], "bold"), text(p["name"] or ""), str(sum(p["rows"].values())))
        print_renderable(result)
    if report.artifacts:
        result = table("Artifacts", "Kind", "Id", "Action", "Files", "Bytes", "Location / reason")
        for a in report.artifacts:
            result.add_row(a["kind"], text(a["object_id"]), a["action"].replace("_", " "),
                           str(a.get("files", "")), str(a.get("bytes", "")),
                           text(a["location"] + (f" ({a['reason']})" if a.get("reason") else "")))
        print_renderable(result)
    kinds = {}
    for p in report.purged:
        kinds[p["kind"]] = kinds.get(p["kind"], 0) + 1
    objects = ", ".join(f"{n} {k.replace('_', ' ')}{'s' if n != 1 else ''}" for k, n in sorted(kinds.items()))
    deleted = [a for a in report.artifacts if a["action"] in ("deleted", "would_delete")]
    kept = sum(1 for a in report.artifacts if a["action"] in ("kept", "unreachable"))
    files = sum(a.get("files") or 0 for a in deleted)
    line = (f"{verb} {objects or 'nothing'} ({report.rows} rows); "
            f"{'would delete' if report.dry_run else 'deleted'} {files} files ({_size(report.bytes)})")
    if kept:
        line += f"; kept {kept} location(s) still in use or unreachable"
    click.echo(line + (" (dry run: nothing changed)." if report.dry_run else "."))


def _print_history(records, as_json: bool) -> None:
    if as_json:
        print_json({"purges": [r.to_dict() for r in records]})
        return
    result = table(f"Purge history ({len(records)})", "Time", "Action", "Kind", "Id", "By", "Detail")
    for r in records:
        detail = r.detail
        summary = (f"{sum(detail['rows'].values())} rows" if "rows" in detail else
                   f"{detail.get('files', 0)} files, {_size(detail.get('bytes', 0))}" if "bytes" in detail else
                   detail.get("reason", ""))
        result.add_row(format_time(r.timestamp), r.action.replace("_", " "), r.kind, text(r.object_id, "bold"),
                       text(r.actor or ""), text(summary))
    print_renderable(result)
