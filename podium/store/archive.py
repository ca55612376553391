"""A Podium archive on disk: ``ArchiveWriter`` (``podium export``) and ``ArchiveSource`` (``podium import``).

The format is documented in docs/archive-format.md (decision 0019). In short, a directory::

    podium-archive.json                 what this is: format, format_version, exported_at, counts
    experiments.jsonl                   one portable record per line (podium.domain.portable)
    runs/<experiment id>.jsonl
    logged_models/<experiment id>.jsonl
    registered_models.jsonl
    model_versions.jsonl                each with its "manifest" (files, sizes, SHA-256, digest)
    events.jsonl                        the models' audit history, oldest first ("model": its name)
    artifacts/...                       the files, with MLflow's layout

Locations in the records are relative to the archive (``artifacts/1/<run id>/artifacts``).
``podium-archive.json`` is written last: a directory without it is an unfinished export, which
``podium import`` refuses. Lines are canonical JSON (sorted keys), so the same contents give the
same bytes.

The writer is a loader (:class:`podium.store.base.ImportStore`) and the reader a record source
(:class:`podium.services.moving.RecordSource`), so ``podium export`` is an import into an archive
and ``podium import`` an import from one: one code path for copying, relocating and manifests.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from podium import clock
from podium.domain.manifests import Manifest
from podium.domain.portable import (
    ExperimentRecord,
    LoggedModelRecord,
    ModelVersionRecord,
    RegisteredModelRecord,
    RunRecord,
    record_from_dict,
)
from podium.errors import InvalidParameterValue

__all__ = ["ARCHIVE_FORMAT", "ARCHIVE_VERSION", "ArchiveSource", "ArchiveWriter", "HEADER"]

ARCHIVE_FORMAT = "podium-archive"
ARCHIVE_VERSION = 1
HEADER = "podium-archive.json"
ARTIFACTS = "artifacts"


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


class ArchiveWriter:
    """Writes records into a new archive directory (the loader of ``podium export``)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory).resolve()
        if (self.directory / HEADER).exists() or (self.directory.exists() and any(self.directory.iterdir())):
            raise InvalidParameterValue(f"'{directory}' is not empty; export into a new or empty directory.")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.artifact_root = str(self.directory / ARTIFACTS)
        self.counts: dict[str, int] = defaultdict(int)
        self._files: dict[str, Any] = {}

    # ------------------------------------------------------------------ relative locations
    def _relative(self, uri: str | None) -> str | None:
        if uri and (uri == self.artifact_root or uri.startswith(self.artifact_root + "/")):
            return ARTIFACTS + uri[len(self.artifact_root):]
        return uri

    def _append(self, name: str, data: dict[str, Any]) -> None:
        handle = self._files.get(name)
        if handle is None:
            path = self.directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = self._files[name] = open(path, "a", encoding="utf-8")
        handle.write(_line(data))

    # ------------------------------------------------------------------ the loader's methods
    def imported_digests(self, kind: str) -> dict[str, str]:
        return {}  # a new archive holds nothing yet

    def load_experiment(self, record: ExperimentRecord, digest: str) -> str:
        data = record.to_dict()
        data["artifact_location"] = self._relative(record.artifact_location)
        self._append("experiments.jsonl", data)
        self.counts["experiments"] += 1
        return "created"

    def load_run(self, record: RunRecord, digest: str) -> str:
        data = record.to_dict()
        data["artifact_uri"] = self._relative(record.artifact_uri)
        self._append(f"runs/{record.experiment_id}.jsonl", data)
        self.counts["runs"] += 1
        return "created"

    def load_logged_model(self, record: LoggedModelRecord, digest: str) -> str:
        data = record.to_dict()
        data["artifact_location"] = self._relative(record.artifact_location)
        self._append(f"logged_models/{record.experiment_id}.jsonl", data)
        self.counts["logged_models"] += 1
        return "created"

    def load_registered_model(self, record: RegisteredModelRecord, digest: str,
                              versions: Sequence[tuple[ModelVersionRecord, str, Manifest | None]] = (),
                              events: Sequence[dict] | None = None) -> dict[str, int]:
        self._append("registered_models.jsonl", record.to_dict())
        self.counts["registered_models"] += 1
        for version, _digest, manifest in versions:
            data = version.to_dict()
            data["source"] = self._relative(version.source)
            data["storage_location"] = self._relative(version.storage_location)
            data["manifest"] = None if manifest is None else {
                "digest": manifest.digest, "files": [f.to_dict() for f in manifest.files]}
            self._append("model_versions.jsonl", data)
            self.counts["model_versions"] += 1
        for event in events or ():
            self._append("events.jsonl", {"model": record.name, **event})
            self.counts["events"] += 1
        return {"model": "created", "created": len(versions), "updated": 0, "unchanged": 0}

    # ------------------------------------------------------------------ finishing
    def finish(self, podium_version: str) -> None:
        """Close the files and write the header: the archive is complete."""
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        header = {"format": ARCHIVE_FORMAT, "format_version": ARCHIVE_VERSION, "exported_at": clock.now_ms(),
                  "podium_version": podium_version, "counts": dict(sorted(self.counts.items()))}
        tmp = self.directory / (HEADER + ".tmp")
        tmp.write_text(json.dumps(header, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(self.directory / HEADER)

    def abandon(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()


class ArchiveSource:
    """Records from an archive directory (the source of ``podium import``)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory).resolve()
        self.description = str(directory)
        try:
            header = json.loads((self.directory / HEADER).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidParameterValue(f"'{directory}' is not a Podium archive (no {HEADER}; an unfinished "
                                        "export has none).") from None
        except (OSError, ValueError) as exc:
            raise InvalidParameterValue(f"'{directory}/{HEADER}' cannot be read: {exc}") from None
        if header.get("format") != ARCHIVE_FORMAT:
            raise InvalidParameterValue(f"'{directory}' is not a Podium archive (format {header.get('format')!r}).")
        if not isinstance(header.get("format_version"), int) or header["format_version"] > ARCHIVE_VERSION:
            raise InvalidParameterValue(f"'{directory}' has archive format version {header.get('format_version')}; "
                                        f"this Podium reads up to {ARCHIVE_VERSION}: upgrade Podium.")
        self.header = header
        self._versions: dict[str, list[ModelVersionRecord]] | None = None
        self._manifests: dict[tuple[str, int], dict | None] = {}
        self._events: dict[str, list[dict]] | None = None

    def close(self) -> None:
        pass

    def _lines(self, name: str) -> Iterator[dict[str, Any]]:
        path = self.directory / name
        if not path.exists():
            return
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError as exc:
                        raise InvalidParameterValue(f"{name} line {number} is not JSON: {exc}") from None

    def _records(self, name: str) -> Iterator[Any]:
        for data in self._lines(name):
            try:
                yield record_from_dict(data)
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidParameterValue(f"{name}: a record cannot be read ({exc}).") from None

    # ------------------------------------------------------------------ the source's methods
    def experiments(self, only: Sequence[str] = ()) -> list[ExperimentRecord]:
        wanted = set(only)
        return [e for e in self._records("experiments.jsonl")
                if not wanted or e.name in wanted or e.experiment_id in wanted]

    def count_runs(self, experiment_ids: Sequence[str]) -> int:
        total = 0
        for e in experiment_ids:
            path = self.directory / "runs" / f"{e}.jsonl"
            if path.exists():
                with open(path, "rb") as f:
                    total += sum(1 for line in f if line.strip())
        return total

    def runs(self, experiment_id: str) -> Iterator[RunRecord]:
        yield from self._records(f"runs/{experiment_id}.jsonl")

    def logged_models(self, experiment_id: str) -> Iterator[LoggedModelRecord]:
        yield from self._records(f"logged_models/{experiment_id}.jsonl")

    def registered_models(self, only: Sequence[str] = ()) -> list[RegisteredModelRecord]:
        wanted = set(only)
        return [m for m in self._records("registered_models.jsonl") if not wanted or m.name in wanted]

    def model_versions(self, name: str) -> list[ModelVersionRecord]:
        if self._versions is None:
            self._versions = defaultdict(list)
            for data in self._lines("model_versions.jsonl"):
                manifest = data.pop("manifest", None)
                record = record_from_dict(data)
                self._versions[record.name].append(record)
                self._manifests[(record.name, record.version)] = manifest
        return list(self._versions.get(name, ()))

    def version_manifest_digest(self, name: str, version: int) -> str | None:
        """The digest of the version's files when they were exported (checked after copying them)."""
        self.model_versions(name)
        manifest = self._manifests.get((name, version))
        return manifest.get("digest") if manifest else None

    def model_events(self, name: str) -> list[dict]:
        if self._events is None:
            self._events = defaultdict(list)
            for data in self._lines("events.jsonl"):
                self._events[data.pop("model")].append(data)
        return list(self._events.get(name, ()))
