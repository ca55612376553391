"""Integrity of registered versions: manifests at registration, verification, and immutability.

``IntegrityService`` is built by the composition root (:mod:`podium.compose`) with

* a :class:`~podium.store.base.ManifestStore` (where manifests and protected locations live),
* the :class:`~podium.store.base.RegistryStore` (to look versions up),
* ``locate(uri) -> (ArtifactStore, relative path) | None`` (:data:`~podium.services.model_files.Locate`):
  how this process reads a storage location (a local path, ``s3://``, or on the server
  ``mlflow-artifacts:`` through its own destination); None for locations it cannot read.

What it does:

* :meth:`manifest_for_location`: at registration, walk the version's files and hash each one by
  streaming it (``open_read``; never a whole file in memory), up to 8 files at a time. Best effort:
  a location that cannot be read yields no manifest (logged), never a failed registration. Walking
  and hashing the files is :mod:`podium.services.model_files`.
* :meth:`verify_model_version`: read the stored files again and compare them with the manifest
  (files whose size already differs are not hashed). The answer is a report; ``status`` is
  ``intact``, ``tampered`` or ``no_manifest``.
* :meth:`compare_model_versions`: versions side by side (:mod:`podium.services.compare`).
* :meth:`check_writable`: refuse (``RESOURCE_CONFLICT``, 409) a write at or below a registered
  version's location, or a delete of a directory holding one. The artifact proxy and the embedded
  client's artifact writes go through it (:mod:`podium.store.artifacts.guarded`).
* :meth:`registering`: hashes a version's files (yields the manifest) and is held while the manifest
  is recorded; for files
  in a store with a commit lock (the server's local artifact destination) it excludes every upload's
  final check-and-rename, so a write that was in flight during registration cannot replace a
  registered file (:mod:`podium.store.artifacts.local`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from podium.domain import rules
from podium.domain.manifests import Manifest, ManifestFile, compare_files, key_prefixes, location_key
from podium.errors import NotImplementedByPodium, ResourceConflict
from podium.services.model_files import (Locate, hash_location, hash_store_files, list_store_files, parse_mlmodel,
                                         read_small)
from podium.store.base import ManifestStore, RegistryStore, TrackingStore

__all__ = ["INTACT", "NO_MANIFEST", "TAMPERED", "IntegrityService"]

_log = logging.getLogger(__name__)

INTACT, TAMPERED, NO_MANIFEST = "intact", "tampered", "no_manifest"


class IntegrityService:
    def __init__(self, manifests: ManifestStore, registry: RegistryStore, locate: Locate | None = None,
                 tracking: TrackingStore | None = None) -> None:
        self.manifests = manifests
        self.registry = registry
        self.locate = locate
        self.tracking = tracking  # for comparisons: the versions' runs and logged models

    # ------------------------------------------------------------------ registration
    def _located(self, location: str | None):
        """``locate(location)``, or None when there is none or this process cannot read it."""
        if not location or self.locate is None:
            return None
        try:
            return self.locate(location)
        except Exception:  # noqa: BLE001 - an unreadable location gets no manifest
            return None

    def manifest_for_location(self, location: str | None, located=None) -> Manifest | None:
        """The manifest of the files at ``location`` now; None if they cannot be read (or there are none).
        ``located``: ``locate(location)`` when the caller already has it."""
        if not location or self.locate is None:
            return None
        try:
            located = located if located is not None else self.locate(location)
            if located is None:
                _log.info("No manifest for '%s': Podium cannot read that kind of location here.", location)
                return None
            store, root = located
            files = hash_location(store, root)
            if not files:
                # a run that logged nothing there (common: benchmarks, tests, metadata-only versions);
                # DEBUG, or a server registering such versions writes a line per request
                _log.debug("No manifest for '%s': no files there.", location)
                return None
        except Exception as exc:  # noqa: BLE001 - registration never fails because hashing did
            _log.warning("No manifest for '%s': its files could not be read (%s: %s).", location,
                         type(exc).__name__, exc)
            return None
        return Manifest.of(files, location_key(location), int(time.time() * 1000))

    @contextlib.contextmanager
    def registering(self, location: str | None):
        """Hash the files at ``location`` and yield their manifest (None: none could be made), holding
        the commit lock of the store holding them (if it has one) exclusively for the whole block: no
        upload to that store can commit while the manifest is made and recorded."""
        located = self._located(location)
        lock = getattr(located[0], "commit_lock", None) if located is not None else None
        if lock is None:
            # not located: asked again, so the reason is logged
            yield self.manifest_for_location(location, located)
            return
        with lock(exclusive=True):
            yield self.manifest_for_location(location, located)

    # ------------------------------------------------------------------ reading and verifying
    def get_model_version_manifest(self, name, version) -> Manifest | None:
        """The manifest recorded when the version was registered (None if it has none)."""
        name, version = rules.validate_model_name(name), rules.validate_version(version)
        self.registry.get_model_version(name, version)  # RESOURCE_DOES_NOT_EXIST for a missing version
        return self.manifests.get_manifest(name, version)

    def verify_model_version(self, name, version) -> dict[str, Any]:
        """Read the version's stored files again and compare them with its manifest (a report)."""
        name, version = rules.validate_model_name(name), rules.validate_version(version)
        mv = self.registry.get_model_version(name, version)
        location = mv.storage_location or mv.source
        report: dict[str, Any] = {"name": name, "version": int(version), "storage_location": location,
                                  "manifest_digest": None, "files_checked": 0, "problems": []}
        manifest = self.manifests.get_manifest(name, version)
        if manifest is None:
            return {**report, "status": NO_MANIFEST}
        located = self.locate(location) if self.locate is not None and location else None
        if located is None:
            raise NotImplementedByPodium(f"Cannot read the files of model version '{name}' {version} at '{location}' from here.")
        store, root = located
        listed = dict(list_store_files(store, root))
        expected = {f.path: f for f in manifest.files}
        same_size = [p for p, size in listed.items() if p in expected and (size is None or size == expected[p].size)]
        hashed = {f.path: f for f in hash_store_files(store, root, same_size)}
        actual = [hashed.get(p) or ManifestFile(p, int(size or 0), "") for p, size in listed.items()]
        problems = compare_files(manifest.files, actual)
        return {**report, "status": TAMPERED if problems else INTACT, "manifest_digest": manifest.digest,
                "files_checked": len(actual), "problems": [p.to_dict() for p in problems]}

    def get_model_version_spec(self, mv) -> dict[str, Any]:
        """What a version's ``MLmodel`` and ``requirements.txt`` say (version ``mv``, already read):
        ``{"readable": bool, "signature": {"inputs.<col>": type, ...} | None, "requirements": {package:
        pin} | None}`` (:mod:`podium.services.compare`'s entries). Reads two small files, hashes nothing;
        ``readable`` is false when Podium cannot read the version's location here."""
        from podium.services.compare import requirement_entries, signature_entries

        location = mv.storage_location or mv.source
        out: dict[str, Any] = {"readable": False, "signature": None, "requirements": None}
        try:
            located = self.locate(location) if self.locate is not None and location else None
            if located is None:
                return out
            store, root = located
            mlmodel = parse_mlmodel(read_small(store, "MLmodel", root))
            raw = read_small(store, "requirements.txt", root)
        except Exception:  # noqa: BLE001 - an unreadable location is shown as such, never a failed page
            return out
        requirements = requirement_entries(raw.decode("utf-8", "replace") if raw is not None else None)
        return {"readable": True, "signature": signature_entries(mlmodel), "requirements": requirements}

    def compare_model_versions(self, name, versions) -> dict[str, Any]:
        """Versions side by side (:mod:`podium.services.compare`)."""
        from podium.services.compare import ModelComparer

        return ModelComparer(self.registry, self.tracking, self).compare_model_versions(name, versions)

    # ------------------------------------------------------------------ immutability
    def protecting_version(self, locations: Sequence[str], *, deleting: bool = False) -> tuple[str, int, str] | None:
        """The registered version whose files a write to (or delete of) any of ``locations`` would change."""
        keys: set[str] = set()
        below: list[str] = []
        for location in locations:
            key = location_key(location)
            keys.update(key_prefixes(key))
            if deleting:
                below.append(key)
        return self.manifests.protecting_version(sorted(keys), below)

    def check_writable(self, locations: Sequence[str], *, deleting: bool = False) -> None:
        """Raise ``RESOURCE_CONFLICT`` if writing (or deleting) ``locations`` would change a registered version."""
        found = self.protecting_version(locations, deleting=deleting)
        if found is not None:
            name, version, where = found
            action = "delete" if deleting else "overwrite or add"
            raise ResourceConflict(
                f"Cannot {action} files below '{where}': they belong to model version '{name}' {version}, "
                "and a registered version's files are immutable. Register a new version instead."
            )
