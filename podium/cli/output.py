"""How the CLI prints: rich tables for people, ``--json`` for scripts, one line per error.

Tables
    Built with :func:`table` and printed with :func:`print_renderable`. User data is never read as
    rich markup (a description containing ``[red]`` prints as written). When stdout is not a
    terminal and ``COLUMNS`` is unset, tables are laid out 160 columns wide so ids are not cut.
    Timestamps show as local time (:func:`format_time`), durations as ``1m 05s``.

JSON (``--json``)
    :func:`print_json` writes one JSON document to stdout. Entities become objects with MLflow's
    field names (:func:`entity_dict`): version numbers are integers, timestamps are integers in
    milliseconds since the epoch (and nothing else), non-finite metrics are the strings ``"NaN"``,
    ``"Infinity"`` and ``"-Infinity"``.

Errors and exit codes
    Every :class:`~podium.errors.PodiumError` goes through :func:`fail`: one line
    ``Error: <ERROR_CODE>: <message>`` on stderr, no traceback, and an exit code from this table:

    ====  =========================================================================
    code  meaning
    ====  =========================================================================
    0     success
    1     any other Podium error (``INVALID_PARAMETER_VALUE``, ...) or other failure
    2     usage error: unknown option, missing or malformed argument (click's)
    3     not found: ``RESOURCE_DOES_NOT_EXIST`` (model, version, alias, run, ...)
    4     integrity: ``DATA_LOSS`` (a version's files differ from its manifest)
    130   interrupted (Ctrl-C), as shells report a process ended by SIGINT
    ====  =========================================================================
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from datetime import datetime
from typing import Any, NoReturn

import click

from podium import settings

__all__ = [
    "EXIT_DATA_LOSS",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "console",
    "entity_dict",
    "exit_code_for",
    "fail",
    "format_duration",
    "format_time",
    "format_value",
    "json_option",
    "print_json",
    "print_renderable",
    "table",
    "text",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2  # click's own code for usage errors
EXIT_NOT_FOUND = 3
EXIT_DATA_LOSS = 4
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, what a shell reports

#: error codes with an exit code of their own; every other PodiumError exits with EXIT_ERROR
EXIT_CODES: dict[str, int] = {
    "RESOURCE_DOES_NOT_EXIST": EXIT_NOT_FOUND,
    "NOT_FOUND": EXIT_NOT_FOUND,
    "DATA_LOSS": EXIT_DATA_LOSS,
}

#: fields of Podium's entities that are not part of MLflow's shape (kept out of --json)
_PODIUM_ONLY_FIELDS = frozenset({"metric_objects"})

_PIPE_WIDTH = 160


# ------------------------------------------------------------------------------------ errors
def exit_code_for(error: Exception) -> int:
    """The process exit code for a Podium error (see the module docstring's table)."""
    return EXIT_CODES.get(getattr(error, "error_code", ""), EXIT_ERROR)


def fail(error: Exception, hint: str | None = None) -> NoReturn:
    """Print ``Error: <ERROR_CODE>: <message> [hint]`` on stderr (one line) and exit with its code."""
    code = getattr(error, "error_code", "INTERNAL_ERROR")
    message = " ".join(str(getattr(error, "message", error)).split())
    if hint:
        message = f"{message.rstrip('.')}. {hint}"
    click.echo(f"Error: {code}: {message}", err=True)
    raise click.exceptions.Exit(exit_code_for(error))


# ------------------------------------------------------------------------------------ JSON
def json_option(command):
    """The ``--json`` flag: print a JSON document for scripts instead of a table."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of a table.")(command)


def entity_dict(entity: Any) -> Any:
    """An entity (or a list/dict of them) as plain JSON values with MLflow's field names."""
    if dataclasses.is_dataclass(entity) and not isinstance(entity, type):
        return {
            f.name: entity_dict(getattr(entity, f.name))
            for f in dataclasses.fields(entity)
            if f.name not in _PODIUM_ONLY_FIELDS
        }
    if isinstance(entity, dict):
        return {str(key): entity_dict(value) for key, value in entity.items()}
    if isinstance(entity, (list, tuple)):
        return [entity_dict(item) for item in entity]
    if isinstance(entity, float) and not math.isfinite(entity):
        return "NaN" if math.isnan(entity) else ("Infinity" if entity > 0 else "-Infinity")
    if entity is None or isinstance(entity, (str, int, float, bool)):
        return entity
    return str(entity)


def print_json(payload: Any) -> None:
    """Write ``payload`` (converted with :func:`entity_dict`) to stdout as indented JSON."""
    click.echo(json.dumps(entity_dict(payload), indent=2))


# ------------------------------------------------------------------------------------ tables
def console():
    """A rich console on the current stdout (created per call, so test runners can capture it)."""
    from rich.console import Console

    width = None
    if not sys.stdout.isatty() and not settings.columns_set():
        width = _PIPE_WIDTH
    return Console(width=width, markup=False, emoji=False, highlight=False)


def table(title: str | None, *columns: str | tuple[str, dict[str, Any]]):
    """A rich table; each column is a header, or ``(header, column options)``.

    Cells that do not fit wrap, and words longer than the column fold onto the next line: a table
    never hides data behind an ellipsis.
    """
    from rich import box
    from rich.table import Table

    result = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", title_style="bold",
                   collapse_padding=True, pad_edge=False)
    for column in columns:
        header, options = (column, {}) if isinstance(column, str) else column
        result.add_column(header, **{"overflow": "fold", **options})
    return result


def text(value: Any, style: str | None = None):
    """User data as a rich ``Text`` (never parsed as markup); ``None`` and ``""`` print as ``-``."""
    from rich.text import Text

    if value is None or value == "":
        return Text("-", style="dim")
    return Text(str(value), style=style or "")


def print_renderable(*renderables: Any) -> None:
    """Print rich renderables (tables, texts) to stdout."""
    out = console()
    for renderable in renderables:
        out.print(renderable)


# ------------------------------------------------------------------------------------ values
def format_time(ms: int | None) -> str:
    """Milliseconds since the epoch as local time, ``2025-01-31 14:05:09``; ``-`` when unknown."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(start_ms: int | None, end_ms: int | None) -> str:
    """The time between two timestamps: ``850ms``, ``12.3s``, ``4m 05s``, ``2h 03m``; ``-`` if open."""
    if start_ms is None or end_ms is None:
        return "-"
    ms = max(0, end_ms - start_ms)
    if ms < 1000:
        return f"{ms}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def format_value(value: Any) -> str:
    """A metric or param value, short: floats with 4 significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
