"""``podium models verify`` and ``podium models compare``: is a version intact, and what changed?

Registered on the ``models`` group (imported at the end of :mod:`podium.cli.models`). Both go
through :class:`~podium.client.PodiumClient` (``verify_model_version``, ``compare_model_versions``),
so they work against the embedded store and against a Podium server alike.
"""

from __future__ import annotations

import json
from typing import Any

import click

from podium.cli import VERSION, CliState, pass_state
from podium.cli.models import models
from podium.cli.output import format_time, format_value, json_option, print_json, print_renderable, table, text

__all__ = ["compare", "verify"]

#: the mark of a row whose values differ between versions
DIFFERENT = "≠"


@models.command("verify")
@click.argument("name")
@click.argument("version", type=VERSION)
@json_option
@pass_state
def verify(state: CliState, name: str, version: int, as_json: bool) -> None:
    """Check that VERSION of model NAME still has exactly the files it was registered with.

    The registry re-reads the version's stored files and compares their sizes and SHA-256 hashes
    with the manifest recorded at registration. Exit code 0: intact; 4 (DATA_LOSS): a file is
    missing, truncated, modified or was added; 1 (INVALID_STATE): the version has no manifest.

    \b
    Examples:
      podium models verify wine-quality-classifier 3
      podium models verify wine-quality-classifier 3 --json
    """
    from podium.model_integrity import raise_for_report

    report = state.client().verify_model_version(name, version, raise_on_failure=False)
    if as_json:
        print_json({"verification": report})
    else:
        _print_report(report)
    raise_for_report(report)


def _print_report(report: dict[str, Any]) -> None:
    from rich.text import Text

    status = report["status"]
    head = f"{report['name']} version {report['version']}: "
    if status == "intact":
        digest = (report.get("manifest_digest") or "")[:12]
        print_renderable(Text.assemble((head, "bold"), ("intact", "bold green"),
                                       f" ({report['files_checked']} files match manifest {digest}...)"))
        return
    if status == "no_manifest":
        print_renderable(Text.assemble((head, "bold"), ("no manifest", "bold yellow"),
                                       " (registered before Podium recorded file hashes, or from a location "
                                       "the registry could not read)"))
        return
    print_renderable(Text.assemble((head, "bold"), ("tampered", "bold red"),
                                   f": {len(report['problems'])} file(s) differ from the manifest recorded at "
                                   "registration"))
    problems = table(None, "Path", "Problem", ("Registered", {"no_wrap": True}), ("Now", {"no_wrap": True}))
    for p in report["problems"]:
        problems.add_row(text(p["path"], "bold"), text(p["problem"], "bold red"),
                         text(_size_hash(p["expected_size"], p["expected_sha256"])),
                         text(_size_hash(p["actual_size"], p["actual_sha256"])))
    print_renderable(problems)


def _size_hash(size, sha256) -> str | None:
    if size is None:
        return None
    return f"{size} B {sha256[:12]}" if sha256 else f"{size} B"


@models.command("compare")
@click.argument("name")
@click.argument("versions", nargs=-1, required=True, type=VERSION)
@click.option("--all", "show_all", is_flag=True, help="Also show rows that are the same in every version.")
@json_option
@pass_state
def compare(state: CliState, name: str, versions: tuple[int, ...], show_all: bool, as_json: bool) -> None:
    """Compare two or more VERSIONS of model NAME side by side.

    Metadata (description, stage, aliases, source), tags, the source runs' params and metrics, the
    logged models' params and metrics, the signature (columns / tensors added, removed, changed),
    requirements.txt pins and the files (size and SHA-256). Rows that differ are marked with ≠;
    only those are shown unless --all. The first version is the base of "added/removed/changed".

    \b
    Examples:
      podium models compare wine-quality-classifier 3 4
      podium models compare wine-quality-classifier 1 2 3 --all
      podium models compare wine-quality-classifier 3 4 --json
    """
    if len(set(versions)) < 2:
        raise click.UsageError("Give at least two different versions to compare.")
    comparison = state.client().compare_model_versions(name, list(versions))
    if as_json:
        print_json({"comparison": comparison})
        return
    print_renderable(*render_comparison(comparison, show_all=show_all))


def render_comparison(comparison: dict[str, Any], *, show_all: bool = False) -> list:
    """Rich renderables for a comparison: a header table, then one table (or line) per section."""
    from rich.text import Text

    numbers = comparison["versions"]
    labels = [f"v{v}" for v in numbers]
    header = table(f"{comparison['name']}: versions {', '.join(map(str, numbers))}", "Version", "Stage", "Aliases",
                   ("Created", {"no_wrap": True}), "Run ID", "Logged model")
    for h in comparison["headers"]:
        aliases = text(" ".join(f"@{a}" for a in h["aliases"]), "cyan")
        header.add_row(f"v{h['version']}", text(h["current_stage"]), aliases,
                       format_time(h["creation_timestamp"]), text(h["run_id"]), text(h["model_id"]))
    out: list = [header]
    for section in comparison["sections"]:
        rows = section["rows"]
        differing = [r for r in rows if r["different"]]
        shown = rows if show_all else differing
        available = section["available"]
        summary = f"{len(differing)} of {len(rows)} differ" if rows else "none"
        if not shown:
            note = "" if all(available) else "  (? = could not be read for some versions)"
            same = f": {summary}, the same in every version" if rows else ": none"
            out.append(Text.assemble((section["title"], "bold"), same, (note, "dim")))
            continue
        out.append(Text(f"{section['title']}: {summary}", style="bold"))  # above the table: never wrapped
        result = table(None, ("", {"no_wrap": True, "width": 1}), "Key", *((label, {"ratio": 1}) for label in labels))
        if not all(available):
            result.caption = "? = could not be read for that version"
        for row in shown:
            style = "bold yellow" if row["different"] else ""
            cells = [_cell(value, ok, section["name"]) for value, ok in zip(row["values"], available)]
            result.add_row(text(DIFFERENT if row["different"] else " ", style), text(row["key"], style or None), *cells)
        out.append(result)
        changes = _changes(section) if section["name"] in ("signature", "requirements", "files") else None
        if changes:
            out.append(changes)
    return out


def _cell(value: Any, available: bool, section: str):
    from rich.text import Text

    if not available:
        return Text("?", style="dim")
    if value is None:
        return text(None)
    if section == "files" and isinstance(value, dict):
        return text(f"{value.get('size')} B {str(value.get('sha256', ''))[:12]}")
    if section in ("metrics", "model_metrics"):
        return text(format_value(value))
    if isinstance(value, (dict, list)):
        return text(json.dumps(value, sort_keys=True))
    return text(value)


def _changes(section: dict[str, Any]):
    from rich.text import Text

    lines = []
    for change in section["changes"]:
        parts = []
        for kind, mark in (("added", "+"), ("removed", "-"), ("changed", "~")):
            if change[kind]:
                parts.append(f"{kind} {', '.join(mark + k for k in change[kind])}")
        if parts:
            lines.append(f"  v{change['version']} vs v{change['base']}: " + "; ".join(parts))
    return Text("\n".join(lines), style="dim") if lines else None
