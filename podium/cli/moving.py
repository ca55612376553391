"""``podium import-mlflow``: move an MLflow store into Podium (docs/migration.md, decision 0019).

The destination is the store named by the global ``--tracking-uri`` (``PODIUM_TRACKING_URI``, the
embedded default): a database, since the loader writes rows. Progress bars (objects and bytes) go to
stderr unless ``PODIUM_NO_PROGRESS`` is set or stderr is not a terminal; the summary goes to stdout
(``--json`` for a machine), one line per object that could not be imported. The exit code is 0 when
everything was imported, 1 when something could not be.
"""

from __future__ import annotations

import contextlib
import sys

import click

from podium.cli import CliState, pass_state
from podium.cli.output import console, json_option, print_json, table

__all__ = ["export", "import_archive", "import_mlflow"]

_KIND_LABELS = {"experiment": "experiments", "run": "runs", "logged_model": "logged models",
                "registered_model": "registered models", "model_version": "model versions"}


class _Bars:
    """The import's progress on stderr: objects (with a total when the source knows it) and bytes."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                                 DownloadColumn(), console=Console(stderr=True), transient=True)
        self.objects = self.progress.add_task("objects", total=None)
        self.bytes = self.progress.add_task("bytes", total=None)

    def start(self, total_objects: int | None) -> None:
        self.progress.update(self.objects, total=total_objects)

    def advance(self, objects: int = 0, nbytes: int = 0, what: str | None = None) -> None:
        if objects:
            self.progress.advance(self.objects, objects)
        if nbytes:
            self.progress.advance(self.bytes, nbytes)


@contextlib.contextmanager
def progress_bars():
    from podium import settings

    if settings.progress_disabled() or not sys.stderr.isatty():
        yield None
        return
    bars = _Bars()
    with bars.progress:
        yield bars


def report(summary, as_json: bool, title: str) -> None:
    """The summary (a table, or JSON) and the one-line errors; exit 1 if anything failed."""
    if as_json:
        print_json(summary.to_dict())
    else:
        out = console()
        grid = table(title, "", "created", "updated", "unchanged", "failed")
        for kind, counts in summary.counts.items():
            grid.add_row(_KIND_LABELS[kind], *(str(counts[k]) for k in ("created", "updated", "unchanged", "failed")))
        out.print(grid)
        verb = "would copy" if summary.dry_run else "copied"
        out.print(f"Files {verb}: {summary.files_copied} ({summary.bytes_copied} bytes) in {summary.seconds:.1f} s.")
        for line in summary.errors:
            click.echo(f"Error: {line}", err=True)
    if any(c["failed"] for c in summary.counts.values()):
        raise click.exceptions.Exit(1)


#: where imported files go when a podium server will serve the store
_destination_option = click.option(
    "--artifacts-destination", metavar="URI",
    help="The --artifacts-destination of the podium server that will serve this store: files go there and "
    "are recorded as mlflow-artifacts:/ locations. Default: the store's artifact root (paths or s3://).")


@click.command("import-mlflow")
@click.argument("source", metavar="SOURCE")
@click.option("--experiments", "experiments", multiple=True, metavar="NAME|ID",
              help="Import only these experiments (repeat, or separate with commas).")
@click.option("--models", "models", multiple=True, metavar="NAME",
              help="Import only these registered models (repeat, or separate with commas).")
@click.option("--source-artifacts", metavar="URI",
              help="Where the MLflow server keeps its mlflow-artifacts:/ files (its --artifacts-destination).")
@_destination_option
@click.option("--dry-run", is_flag=True, help="Report what would move; change nothing.")
@json_option
@pass_state
def import_mlflow(state: CliState, source: str, experiments: tuple[str, ...], models: tuple[str, ...],
                  source_artifacts: str | None, artifacts_destination: str | None, dry_run: bool,
                  as_json: bool) -> None:
    """Import an MLflow store (its database URI, or its server's URL) into the store of --tracking-uri.

    Experiments, runs (metric histories, params, tags, datasets, deleted runs), logged models,
    registered models and versions (same numbers, stages, aliases, tags, timestamps) and their
    artifacts. Safe to run again: what is already imported and unchanged is skipped.

    \b
    Examples:
      podium import-mlflow sqlite:///mlflow.db --dry-run
      podium import-mlflow https://mlflow.example.com --artifacts-destination ./podium-data/artifacts
      podium --tracking-uri postgresql://db/podium import-mlflow postgresql://db/mlflow \\
          --source-artifacts s3://mlflow-artifacts --artifacts-destination s3://podium-artifacts
    """
    from podium import compose

    backend = compose.build(state.tracking_uri)
    try:
        service = compose.importer_for(backend, artifacts_destination)
        if source.startswith(("http://", "https://")):
            mlflow, locate = compose.mlflow_server_source(source)
        else:
            mlflow, locate = compose.mlflow_database_source(source, source_artifacts)
        try:
            with progress_bars() as bars:
                summary = service.run(mlflow, locate, experiments=_split(experiments), models=_split(models),
                                      dry_run=dry_run, progress=bars)
        finally:
            mlflow.close()
    finally:
        backend.close()
    report(summary, as_json, f"Import from {mlflow.description}" + (" (dry run)" if dry_run else ""))


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


_filters = [
    click.option("--experiments", "experiments", multiple=True, metavar="NAME|ID",
                 help="Only these experiments (repeat, or separate with commas)."),
    click.option("--models", "models", multiple=True, metavar="NAME",
                 help="Only these registered models (repeat, or separate with commas)."),
]


def _with_filters(command):
    for option in reversed(_filters):
        command = option(command)
    return command


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@_with_filters
@click.option("--artifacts-destination", metavar="URI",
              help="Where the server keeps mlflow-artifacts:/ files (default: artifacts beside a SQLite store).")
@json_option
@pass_state
def export(state: CliState, directory: str, experiments: tuple[str, ...], models: tuple[str, ...],
           artifacts_destination: str | None, as_json: bool) -> None:
    """Export the store of --tracking-uri into DIRECTORY, a new archive (docs/archive-format.md).

    Experiments, runs, logged models, registered models and versions with their history, and every
    file behind them, with a SHA-256 manifest per version. `podium import DIRECTORY` loads it into
    another Podium, on any database.

    \b
    Examples:
      podium export ./registry-archive
      podium export ./clf-only --models clf
    """
    from podium import compose
    from podium.version import __version__

    backend = compose.build(state.tracking_uri)
    try:
        source, locate = compose.store_source(backend, artifacts_destination)
        writer, service = compose.archive_writer(directory, backend)
        try:
            with progress_bars() as bars:
                summary = service.run(source, locate, experiments=_split(experiments), models=_split(models),
                                      progress=bars)
        except BaseException:
            writer.abandon()
            raise
        writer.finish(__version__)
    finally:
        backend.close()
    report(summary, as_json, f"Export to {directory}")


@click.command("import")
@click.argument("directory", type=click.Path(file_okay=False))
@_with_filters
@_destination_option
@click.option("--dry-run", is_flag=True, help="Report what would move; change nothing.")
@json_option
@pass_state
def import_archive(state: CliState, directory: str, experiments: tuple[str, ...], models: tuple[str, ...],
                   artifacts_destination: str | None, dry_run: bool, as_json: bool) -> None:
    """Import a Podium archive (made by `podium export`) into the store of --tracking-uri.

    Ids, version numbers, timestamps and history are kept; every version's files are checked against
    the archive's manifest. Safe to run again: what is already imported and unchanged is skipped.
    """
    from podium import compose

    backend = compose.build(state.tracking_uri)
    try:
        service = compose.importer_for(backend, artifacts_destination)
        source, locate = compose.archive_source(directory)
        with progress_bars() as bars:
            summary = service.run(source, locate, experiments=_split(experiments), models=_split(models),
                                  dry_run=dry_run, progress=bars)
    finally:
        backend.close()
    report(summary, as_json, f"Import from {directory}" + (" (dry run)" if dry_run else ""))
