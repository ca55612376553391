"""Verified downloads of registered versions: what ``load_model("models:/...")`` gets is what was registered.

:func:`download_model_version` is ``download_artifacts`` for ``models:/<name>/<version|stage|latest>``
and ``models:/<name>@<alias>`` URIs (so for every flavor's ``load_model``). It resolves the version
once, downloads its files, hashes them (streaming, 1 MiB at a time) and compares them with the
version's manifest, fetched through the client (the embedded store, or
``GET /api/podium/v1/model-versions/manifest``):

* a file missing, truncated, modified or added -> ``IntegrityCheckFailed`` (``DATA_LOSS``) naming
  it, and a temporary download directory is removed again;
* a version without a manifest (registered before Podium recorded them, or from a location the
  registry could not read) -> a ``UserWarning``, and the files are used as they are;
* a server without the manifest API (MLflow, an older Podium) -> one warning per server, unverified.

With a ``models:/.../<sub path>`` URI only the files below the sub path are compared. Files added
to a ``dst_path`` that already held files are not reported (they may be the caller's own).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import warnings
from pathlib import Path

from podium.domain.manifests import ManifestFile, compare_files, hash_chunks, integrity_error
from podium.errors import EndpointNotFound, IntegrityCheckFailed, InvalidState
from podium.uris import parse_models_uri

__all__ = ["download_model_version", "hash_local_files", "raise_for_report", "verify_local_files"]

_CHUNK = 1 << 20
_warned_servers: set[str] = set()
_warned_lock = threading.Lock()


def _file_chunks(path: str):
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            yield block


def hash_local_files(local_path: str, prefix: str = "") -> list[ManifestFile]:
    """Manifest entries for a downloaded file or tree; paths are ``prefix/<relative path>``."""
    prefix = prefix.strip("/")
    if os.path.isfile(local_path):
        size, digest = hash_chunks(_file_chunks(local_path))
        return [ManifestFile(prefix or os.path.basename(local_path), size, digest)]
    out = []
    for root, _dirs, names in os.walk(local_path):
        for name in names:
            if name.startswith(".podium-tmp-"):
                continue
            full = os.path.join(root, name)
            rel = Path(os.path.relpath(full, local_path)).as_posix()
            size, digest = hash_chunks(_file_chunks(full))
            out.append(ManifestFile(f"{prefix}/{rel}" if prefix else rel, size, digest))
    return out


def verify_local_files(client, name: str, version, local_path: str, sub_path: str = "", *,
                       report_added: bool = True) -> bool:
    """Compare downloaded files with the version's manifest; True when verified, False when there
    was nothing to verify against (warned). Raises ``IntegrityCheckFailed`` on any difference."""
    try:
        manifest = client.get_model_version_manifest(name, version)
    except EndpointNotFound:
        _warn_once(client.tracking_uri)
        return False
    if manifest is None:
        warnings.warn(
            f"Model version '{name}' {version} has no manifest (it was registered before Podium recorded "
            "file hashes, or from a location the registry could not read): its files were not verified.",
            UserWarning, stacklevel=4)
        return False
    sub = sub_path.strip("/")
    expected = [f for f in manifest.files if not sub or f.path == sub or f.path.startswith(sub + "/")]
    problems = compare_files(expected, hash_local_files(local_path, sub), report_added=report_added)
    if problems:
        raise integrity_error(f"model version '{name}' {version}", problems, manifest.digest)
    return True


def _warn_once(server: str) -> None:
    with _warned_lock:
        if server in _warned_servers:
            return
        _warned_servers.add(server)
    warnings.warn(f"The registry at {server} serves no manifests (an MLflow or older Podium server): "
                  "downloaded model files are not verified.", UserWarning, stacklevel=5)


def download_model_version(client, uri: str, dst_path: str | None, tracking_uri: str | None) -> str:
    """Download a registered version named by a ``models:/`` URI and verify it (module docstring)."""
    from podium.artifacts import _resolve_version, _store, resolve_artifact_location

    parsed = parse_models_uri(uri)
    version = _resolve_version(client, parsed)
    location = client.get_model_version_download_uri(version.name, version.version)
    sub = parsed.sub_path or ""
    if location.startswith(("runs:/", "models:/")):
        root, rel = resolve_artifact_location(location, tracking_uri)
        rel = "/".join(p for p in (rel, sub) if p)
    else:
        root, rel = location, sub
    created = dst_path is None
    target = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="podium-artifacts-"))
    report_added = created or not target.exists() or not any(target.iterdir())
    target.mkdir(parents=True, exist_ok=True)
    local = _store(client, root).download_artifacts(rel, str(target))
    try:
        verify_local_files(client, version.name, version.version, local, sub, report_added=report_added)
    except IntegrityCheckFailed:
        if created:
            shutil.rmtree(target, ignore_errors=True)
        raise
    return local


def raise_for_report(report: dict) -> None:
    """Raise for a verification report that is not ``intact`` (see ``PodiumClient.verify_model_version``)."""
    status = report.get("status")
    what = f"model version '{report.get('name')}' {report.get('version')}"
    if status == "intact":
        return
    if status == "no_manifest":
        raise InvalidState(
            f"The {what} has no manifest to verify against (registered before Podium recorded file hashes, "
            "or from a location the registry could not read).")
    problems = report.get("problems") or []
    first = problems[0]["message"] if problems else "its files differ"
    more = f" (and {len(problems) - 1} more file{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
    digest = report.get("manifest_digest") or ""
    raise IntegrityCheckFailed(
        f"The files of {what} do not match the manifest{' ' + digest[:12] + '...' if digest else ''} "
        f"recorded at registration: {first}{more}."
    )
