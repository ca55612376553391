"""``guarded(store, check, roots)``: an artifact store that refuses to change registered versions' files.

Every write (``write_stream``, ``log_artifact(s)``, S3 multipart ``create``/``complete``) and every
delete asks ``check(locations, deleting=...)`` first, with the locations the path has under each of
``roots`` (the URIs that name the store's root: for the server's proxy both its destination and
``mlflow-artifacts:/``). ``check`` raises (``RESOURCE_CONFLICT``) when a registered version's
location is at or above a written path, or below a deleted one
(:meth:`podium.services.integrity.IntegrityService.check_writable`). Reads pass straight through.

``write_stream`` checks twice: before reading the stream (to refuse early) and again once the bytes
are stored, right before they become visible (``before_commit``), since a version may have been
registered while they were streaming. The local store makes that second check and its rename
exclusive with registration (:mod:`podium.store.artifacts.local`); on S3 the second check runs just
before the object is put or the multipart upload completed, which narrows the window to that call.

A store that implements :class:`~podium.store.artifacts.base.PresignedTransfers` stays one (the
server's ``server-info`` and multipart routes test ``isinstance``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from podium.store.artifacts.base import PresignedTransfers, clean_relative_path

__all__ = ["GuardedArtifactStore", "guarded"]

Check = Callable[..., None]


class GuardedArtifactStore:
    """Delegates everything to ``inner``; writes and deletes are checked first."""

    def __init__(self, inner, check: Check, roots: Sequence[str]) -> None:
        self.inner = inner
        self.root_uri = inner.root_uri
        self._check = check
        self._roots = [r for r in dict.fromkeys(roots) if r]

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def _locations(self, paths: Sequence[str]) -> list[str]:
        out = []
        for path in paths:
            rel = clean_relative_path(path)
            out.extend(f"{root.rstrip('/')}/{rel}" if rel else root for root in self._roots)
        return out

    def check_write(self, *paths: str) -> None:
        self._check(self._locations(paths), deleting=False)

    # -- writes
    def write_stream(self, path, chunks, *, overwrite: bool = True) -> int:
        self.check_write(path)
        return self.inner.write_stream(path, chunks, overwrite=overwrite, before_commit=lambda: self.check_write(path))

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        prefix = clean_relative_path(artifact_path)
        name = Path(local_file).name
        self.check_write(f"{prefix}/{name}" if prefix else name)
        self.inner.log_artifact(local_file, artifact_path)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        prefix = clean_relative_path(artifact_path)
        base = Path(local_dir)
        rels = [p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()] if base.is_dir() else []
        if rels:
            self.check_write(*(f"{prefix}/{r}" if prefix else r for r in rels))
        self.inner.log_artifacts(local_dir, artifact_path)

    def delete_artifacts(self, path: str | None = None) -> None:
        self._check(self._locations([path or ""]), deleting=True)
        self.inner.delete_artifacts(path)


class _GuardedPresignedStore(GuardedArtifactStore):
    def create_multipart_upload(self, path: str, num_parts: int):
        self.check_write(path)
        return self.inner.create_multipart_upload(path, num_parts)

    def complete_multipart_upload(self, path: str, upload_id: str, parts):
        self.check_write(path)
        return self.inner.complete_multipart_upload(path, upload_id, parts)

    def abort_multipart_upload(self, path: str, upload_id: str) -> None:
        return self.inner.abort_multipart_upload(path, upload_id)

    def presigned_download_url(self, path: str):
        return self.inner.presigned_download_url(path)


def guarded(store, check: Check, roots: Sequence[str] | None = None):
    """``store`` with its writes and deletes checked by ``check`` (see the module docstring)."""
    cls = _GuardedPresignedStore if isinstance(store, PresignedTransfers) else GuardedArtifactStore
    return cls(store, check, roots or [store.root_uri])
