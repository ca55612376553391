"""Parsing Podium's and MLflow's URI forms. Standard library only.

=============================== ============================================================
``runs:/<run_id>/<path>``       an artifact path in a run (or the logged model of that name)
``models:/<name>/<version>``    a model version by number
``models:/<name>/<stage>``      the latest version in a stage (None/Staging/Production/Archived)
``models:/<name>/latest``       the latest version of the model
``models:/<name>@<alias>``      the version an alias points to
``models:/<model_id>``          an MLflow 3 logged model (``m-<32 hex>``)
=============================== ============================================================

:func:`check_store_uri` refuses, with a hint, a tracking URI or database URL that is a
common slip (``sqlite://x``, a plain path, ``localhost:5000``, a misspelt scheme).
"""

from __future__ import annotations

import difflib
import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from podium.domain.entities import STAGES
from podium.errors import InvalidParameterValue

__all__ = [
    "ModelsUri",
    "RunsUri",
    "check_store_uri",
    "is_local_path",
    "local_path_of",
    "parse_models_uri",
    "parse_runs_uri",
    "sqlite_path_of",
    "without_password",
]


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


_DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql")
_SERVER_SCHEMES = ("http", "https")
_HOST_PORT = re.compile(r"[A-Za-z0-9.-]+:\d{1,5}(/.*)?")
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def check_store_uri(uri: str, *, database_only: bool = False) -> None:
    """Refuse, as :class:`~podium.errors.InvalidParameterValue` with the URI to use instead, a
    tracking URI (with ``database_only``: a database URL) that is a common slip.

    ==========================  ===================================================================
    given                       hint
    ==========================  ===================================================================
    ``sqlite://dir/podium.db``  ``sqlite:///dir/podium.db`` (two slashes read ``dir`` as a host)
    ``dir/podium.db``           ``sqlite:///dir/podium.db`` (a plain path, or ``file:``)
    ``dir``                     ``sqlite:///dir/podium.db``
    ``localhost:5000``          ``http://localhost:5000`` (a server; refused as a database)
    ``user@host/db``            ``postgresql://user@host/db`` or ``mysql://…``
    ``http://…``                refused as a database (``database_only``)
    ``postgresq://…``           ``postgresql://…`` (a misspelt scheme)
    ==========================  ===================================================================

    Anything else passes; an unknown scheme that resembles none is left to the caller.
    """
    what = "Database URL" if database_only else "Tracking URI"
    shown = without_password(uri)
    scheme, sep, rest = uri.partition("://")
    base = scheme.split("+", 1)[0].lower()
    if not sep and _HOST_PORT.fullmatch(uri):
        if database_only:
            raise InvalidParameterValue(f"{what} '{uri}' is a server address, not a database; a database URL "
                                        "is sqlite:///path.db, postgresql://user@host/db or mysql://user@host/db.")
        raise InvalidParameterValue(f"{what} '{uri}' has no scheme; for a server use 'http://{uri}'.")
    if not sep and "@" in uri:
        raise InvalidParameterValue(f"{what} '{shown}' has no scheme; for a database use 'postgresql://{shown}' "
                                    f"or 'mysql://{shown}'.")
    if not sep or uri.startswith("file:"):
        path = local_path_of(uri).rstrip("/") or "/"
        target = path if path.lower().endswith(_SQLITE_SUFFIXES) else f"{path.rstrip('/')}/podium.db"
        raise InvalidParameterValue(f"{what} '{uri}' is a plain path. Podium keeps metadata in a database: "
                                    f"use 'sqlite:///{target}'.")
    if base == "sqlite" and rest and not rest.startswith(("/", "?")):
        raise InvalidParameterValue(
            f"{what} '{uri}' has two slashes, so '{rest.split('/', 1)[0]}' would be read as a host: use "
            f"'sqlite:///{rest}' (relative to the working directory) or 'sqlite:////{rest}' (absolute).")
    if base in _SERVER_SCHEMES and database_only:
        raise InvalidParameterValue(f"{what} '{shown}' is a server, not a database; give a database URL "
                                    "(sqlite:///path.db, postgresql://…, mysql://…).")
    known = _DATABASE_SCHEMES + (() if database_only else _SERVER_SCHEMES)
    if base not in _DATABASE_SCHEMES + _SERVER_SCHEMES:
        close = difflib.get_close_matches(base, known, n=1, cutoff=0.6)
        if close:
            raise InvalidParameterValue(f"{what} '{shown}' has an unknown scheme '{scheme}://': did you mean "
                                        f"'{close[0]}://'?")


def without_password(uri: str) -> str:
    """A URI fit for a message or a log line: ``user:secret@`` becomes ``user:***@``."""
    return re.sub(r"(^|://)([^:/@]*):[^@/]*@", r"\1\2:***@", uri)


def sqlite_path_of(uri: str) -> str | None:
    """The file a ``sqlite:///`` URI names (``None`` for other URIs and in-memory databases)."""
    if not uri.startswith("sqlite") or ":///" not in uri:
        return None
    path = uri.split(":///", 1)[1].split("?", 1)[0]
    return path if path and path != ":memory:" else None
