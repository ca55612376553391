"""Resolving artifact URIs to files: ``download_artifacts`` and run listings (``mlflow.artifacts``).

``runs:/<run_id>/<path>`` looks in the run's own artifacts first and then, as MLflow 3 does, at the
logged model named by the path's first segment that the run produced. ``models:/...`` resolves
through the registry (or the logged model) to the version's storage location; a registered
version's download is verified against its manifest (:mod:`podium.model_integrity`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from podium.domain.entities import FileInfo
from podium.errors import ResourceDoesNotExist
from podium.uris import is_local_path, local_path_of, parse_models_uri, parse_runs_uri

__all__ = ["download_artifacts", "list_run_artifacts", "resolve_artifact_location"]


def _client(tracking_uri: str | None):
    from podium.client.client import PodiumClient

    return PodiumClient(tracking_uri)


def _store(client, root_uri: str):
    from podium.compose import artifact_store_for

    return artifact_store_for(root_uri, client.tracking_uri)


def resolve_artifact_location(uri: str, tracking_uri: str | None = None) -> tuple[str, str]:
    """``(root URI of an artifact store, relative path below it)`` for any supported URI."""
    client = _client(tracking_uri)
    if uri.startswith("runs:/"):
        parsed = parse_runs_uri(uri)
        return _resolve_run_path(client, parsed.run_id, parsed.path)
    if uri.startswith("models:/"):
        parsed = parse_models_uri(uri)
        if parsed.model_id:
            return client.get_logged_model(parsed.model_id).artifact_location, parsed.sub_path
        version = _resolve_version(client, parsed)
        location = client.get_model_version_download_uri(version.name, version.version)
        if location.startswith(("runs:/", "models:/")):
            root, rel = resolve_artifact_location(location, tracking_uri)
            return root, "/".join(p for p in (rel, parsed.sub_path) if p)
        return location, parsed.sub_path
    return uri, ""


def _resolve_version(client, parsed):
    if parsed.alias:
        return client.get_model_version_by_alias(parsed.name, parsed.alias)
    if parsed.version is not None:
        return client.get_model_version(parsed.name, parsed.version)
    registry = client._registry
    if parsed.stage:
        found = registry.get_latest_versions(parsed.name, [parsed.stage])
        if not found:
            raise ResourceDoesNotExist(f"No versions of model with name '{parsed.name}' and stage '{parsed.stage}' found")
        return found[0]
    found = registry.get_latest_versions(parsed.name)
    if not found:
        raise ResourceDoesNotExist(f"No versions of model with name '{parsed.name}' found")
    return max(found, key=lambda v: int(v.version))


def _resolve_run_path(client, run_id: str, path: str) -> tuple[str, str]:
    run = client.get_run(run_id)
    root = run.info.artifact_uri
    if not path or _store(client, root).exists(path):
        return root, path
    logged = _logged_model_for(client, run, path.split("/", 1)[0])
    if logged is not None:
        rest = path.split("/", 1)[1] if "/" in path else ""
        return logged.artifact_location, rest
    raise ResourceDoesNotExist(f"No such artifact '{path}' in run {run_id}.")


def _logged_model_for(client, run, name: str):
    found = client.search_logged_models(
        [run.info.experiment_id],
        filter_string=f"name = '{_quoted(name)}' AND source_run_id = '{_quoted(run.info.run_id)}'",
        max_results=1,
    )
    return found[0] if found else None


def _quoted(text: str) -> str:
    """A value safe inside a single-quoted filter literal."""
    return text.replace("'", "''")


def download_artifacts(artifact_uri: str | None = None, run_id: str | None = None,
                       artifact_path: str | None = None, dst_path: str | None = None,
                       tracking_uri: str | None = None, registry_uri: str | None = None) -> str:
    """Download a file or directory to ``dst_path`` (a new temp dir when None); returns the local path.

    As MLflow: ``runs:/<run>/<path>`` lands at ``<dst>/<path>`` (also when ``<path>`` names a logged
    model), ``models:/...`` lands in ``<dst>`` itself, any other URI at ``<dst>/<its last segment>``.
    A local path or ``file:`` URI with no ``dst_path`` is returned as it is, without copying.
    """
    if run_id is not None:
        uri = f"runs:/{run_id}/{(artifact_path or '').lstrip('/')}"
    elif artifact_uri is not None:
        uri = str(artifact_uri)
    else:
        raise ResourceDoesNotExist("Give either artifact_uri or run_id.")
    if is_local_path(uri) and not uri.startswith(("runs:", "models:")):
        local = Path(local_path_of(uri))
        if not local.exists():
            raise ResourceDoesNotExist(f"No such file or directory: '{local}'")
        if dst_path is None:
            return str(local)
    client = _client(tracking_uri)
    if uri.startswith("models:/") and not parse_models_uri(uri).model_id:
        # a registered version: downloaded and checked against its manifest (DATA_LOSS if it differs)
        from podium.model_integrity import download_model_version

        return download_model_version(client, uri, dst_path, tracking_uri)
    root, rel = resolve_artifact_location(uri, tracking_uri)
    target = Path(dst_path or tempfile.mkdtemp(prefix="podium-artifacts-"))
    target.mkdir(parents=True, exist_ok=True)
    if uri.startswith("runs:/"):
        # what the user asked for, minus what the store knows it as: "model/MLmodel" -> "model"
        asked = parse_runs_uri(uri).path
        prefix = (asked[: len(asked) - len(rel)] if rel else asked).rstrip("/")  # rel is a suffix of asked
        return _store(client, root).download_artifacts(rel, str(target / prefix) if prefix else str(target))
    if uri.startswith("models:/") or rel:
        return _store(client, root).download_artifacts(rel, str(target))
    parent, _, name = root.rstrip("/").rpartition("/")
    return _store(client, parent).download_artifacts(name, str(target))


def list_run_artifacts(client, run_id: str, path: str | None = None) -> list[FileInfo]:
    """A run's artifacts at ``path``; a path naming one of the run's logged models lists that model."""
    run = client.get_run(run_id)
    files = _store(client, run.info.artifact_uri).list_artifacts(path)
    if files or not path:
        return files
    first, _, rest = path.strip("/").partition("/")
    logged = _logged_model_for(client, run, first)
    if logged is None:
        return []
    prefix = first
    return [
        FileInfo(f"{prefix}/{f.path}", f.is_dir, f.file_size)
        for f in _store(client, logged.artifact_location).list_artifacts(rest or None)
    ]
