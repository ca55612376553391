"""Parsing Podium's and MLflow's URI forms. Standard library only.

=============================== ============================================================
``runs:/<run_id>/<path>``       an artifact path in a run (or the logged model of that name)
``models:/<name>/<version>``    a model version by number
``models:/<name>/<stage>``      the latest version in a stage (None/Staging/Production/Archived)
``models:/<name>/latest``       the latest version of the model
``models:/<name>@<alias>``      the version an alias points to
``models:/<model_id>``          an MLflow 3 logged model (``m-<32 hex>``)
=============================== ============================================================
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from podium.domain.entities import STAGES
from podium.errors import InvalidParameterValue

__all__ = ["ModelsUri", "RunsUri", "is_local_path", "parse_models_uri", "parse_runs_uri", "local_path_of"]


@dataclass(frozen=True, slots=True)
class RunsUri:
    run_id: str
    path: str  # relative artifact path inside the run, "" for the root


@dataclass(frozen=True, slots=True)
class ModelsUri:
    """Exactly one of version / stage / alias / latest / model_id is set."""

    name: str | None = None
    version: int | None = None
    stage: str | None = None
    alias: str | None = None
    latest: bool = False
    model_id: str | None = None
    sub_path: str = ""


def _bad(uri: str, why: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Invalid model URI '{uri}': {why}")


def parse_runs_uri(uri: str) -> RunsUri:
    if not uri.startswith("runs:/"):
        raise InvalidParameterValue(f"Not a runs:/ URI: '{uri}'")
    rest = uri[len("runs:/") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidParameterValue(
            f"Invalid runs URI '{uri}'. Expected 'runs:/<run_id>/<artifact path>'."
        )
    path = path.strip("/")
    if path and (posixpath.normpath(path).startswith("..") or "\x00" in path):
        raise InvalidParameterValue(f"Invalid artifact path in URI '{uri}'.")
    return RunsUri(run_id=run_id, path=path)


def parse_models_uri(uri: str) -> ModelsUri:
    if not uri.startswith("models:/"):
        raise InvalidParameterValue(f"Not a models:/ URI: '{uri}'")
    rest = uri[len("models:/") :].lstrip("/")
    if not rest:
        raise _bad(uri, "expected models:/<name>/<version|stage|latest>, models:/<name>@<alias> or models:/<model_id>")
    head, _, sub_path = rest.partition("/")
    if "@" in head:
        name, _, alias = head.partition("@")
        if not name or not alias:
            raise _bad(uri, "expected models:/<name>@<alias>")
        return ModelsUri(name=unquote(name), alias=alias, sub_path=sub_path)
    if not sub_path:
        # a single segment is a logged model id (MLflow 3)
        return ModelsUri(model_id=head)
    name = unquote(head)
    selector, _, deeper = sub_path.partition("/")
    if re.fullmatch(r"\d+", selector):
        return ModelsUri(name=name, version=int(selector), sub_path=deeper)
    if selector.lower() == "latest":
        return ModelsUri(name=name, latest=True, sub_path=deeper)
    for stage in STAGES:
        if selector.lower() == stage.lower():
            return ModelsUri(name=name, stage=stage, sub_path=deeper)
    raise _bad(
        uri,
        f"'{selector}' is neither a version number, 'latest', nor a stage ({', '.join(STAGES)})",
    )


def is_local_path(uri: str) -> bool:
    """True for plain paths and ``file:`` URIs."""
    if uri.startswith("file:"):
        return True
    scheme = urlparse(uri).scheme
    return scheme == "" or (len(scheme) == 1 and uri[1:3] in (":\\", ":/"))  # windows drive letters


def local_path_of(uri: str) -> str:
    """The filesystem path of a local path or ``file:`` URI."""
    if uri.startswith("file:"):
        parsed = urlparse(uri)
        return unquote(parsed.path)
    return uri
