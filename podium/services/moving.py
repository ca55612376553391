"""Moving in: portable records from a source, artifacts copied, loaded into this store (decision 0019).

``ImportService.run(source, source_locate, ...)`` drives one import, whatever the source (an MLflow
database, an MLflow server, a Podium archive: anything with the :class:`RecordSource` methods):

1. experiments (ids kept), then per experiment its runs and logged models, then the registered
   models with their versions;
2. every artifact location is rewritten into this store's artifact root with MLflow's layout
   (``<root>/<experiment id>``, ``.../<run id>/artifacts``, ``.../models/<model id>/artifacts``); a
   version's ``source``/``storage_location`` inside a run's or logged model's artifacts follows them,
   and a version stored elsewhere gets ``<root>/registry/<model>/<version>``. Logical sources
   (``runs:/``, ``models:/``) are kept as they are;
3. an object's files are copied (a file already there with the same size is skipped: a resumed
   import copies only what is missing) *before* the object is loaded, and a version is loaded with
   the SHA-256 manifest of its copied files, so nothing is visible before its files are;
4. the loader (:class:`podium.store.base.ImportStore`) writes each object in one transaction and
   says whether it was created, updated or unchanged.

Anything that cannot be imported is one line in :attr:`ImportSummary.errors` and the import goes
on. ``dry_run`` reads the source and compares digests, and writes nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

from podium.domain.manifests import Manifest, location_key
from podium.domain.portable import (
    ExperimentRecord,
    LoggedModelRecord,
    ModelVersionRecord,
    RegisteredModelRecord,
    RunRecord,
    digest,
)
from podium.errors import IntegrityCheckFailed, PodiumError
from podium.services.model_files import Locate, hash_store_files, list_store_files
from podium.store.base import ImportStore

__all__ = ["ImportService", "ImportSummary", "Progress", "RecordSource", "version_key"]

KINDS = ("experiment", "run", "logged_model", "registered_model", "model_version")


def version_key(name: str, version: int) -> str:
    return f"{name}/{version}"


class RecordSource(Protocol):
    """Where records come from (:mod:`podium.domain.portable`); artifact locations are the source's."""

    description: str

    def experiments(self, only: Sequence[str] = ()) -> list[ExperimentRecord]: ...
    def count_runs(self, experiment_ids: Sequence[str]) -> int | None: ...
    def runs(self, experiment_id: str) -> Iterator[RunRecord]: ...
    def logged_models(self, experiment_id: str) -> Iterator[LoggedModelRecord]: ...
    def registered_models(self, only: Sequence[str] = ()) -> list[RegisteredModelRecord]: ...
    def model_versions(self, name: str) -> list[ModelVersionRecord]: ...
    def model_events(self, name: str) -> list[dict] | None:
        """The model's history to carry over (a Podium store or archive); None: the source keeps none."""
    def version_manifest_digest(self, name: str, version: int) -> str | None:
        """The digest the version's files must have once copied (an archive's manifest), if known."""


class Progress(Protocol):
    """What the CLI shows while an import runs (objects and bytes)."""

    def start(self, total_objects: int | None) -> None: ...
    def advance(self, objects: int = 0, nbytes: int = 0, what: str | None = None) -> None: ...


class _Quiet:
    def start(self, total_objects: int | None) -> None:
        pass

    def advance(self, objects: int = 0, nbytes: int = 0, what: str | None = None) -> None:
        pass


@dataclass
class ImportSummary:
    """Counts per kind (``created``/``updated``/``unchanged``/``failed``), files and bytes copied, errors."""

    dry_run: bool = False
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {k: {"created": 0, "updated": 0, "unchanged": 0, "failed": 0} for k in KINDS})
    files_copied: int = 0
    bytes_copied: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        self.counts[kind][outcome] += n

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class _Relocator:
    """Source locations -> destination locations, by the longest matching object root."""

    def __init__(self) -> None:
        self._roots: dict[str, str] = {}
        #: ``runs:/<id>`` and ``models:/<id>`` -> the destination location of that run's or model's files
        self.by_id: dict[str, str] = {}

    def add(self, old: str | None, new: str, logical: str | None = None) -> None:
        if old:
            self._roots[location_key(old)] = new
        if logical:
            self.by_id[logical] = new

    def resolve(self, source: str | None) -> str | None:
        """Where a ``runs:/<run id>/<path>`` or ``models:/<model id>`` source's files are here."""
        if not source:
            return None
        if source.startswith("models:/m-") and source[len("models:/"):].count("/") == 0:
            return self.by_id.get(source)
        if source.startswith("runs:/"):
            run_id, _, path = source[len("runs:/"):].partition("/")
            base = self.by_id.get(f"runs:/{run_id}")
            return f"{base}/{path.strip('/')}".rstrip("/") if base else None
        return None

    def relocate(self, uri: str | None) -> str | None:
        if not uri or uri.startswith(("runs:/", "models:/")):
            return None
        key = location_key(uri)
        tail: list[str] = []
        while key and "/" in key:
            new = self._roots.get(key)
            if new is not None:
                return "/".join([new, *reversed(tail)])
            key, _, last = key.rpartition("/")
            tail.append(last)
        return None


class ImportService:
    """Imports into one store: ``loader`` writes the records, files go below ``artifact_root``
    (opened with ``locate``, built by :mod:`podium.compose`)."""

    def __init__(self, loader: ImportStore, artifact_root: str, locate: Locate) -> None:
        self.loader = loader
        self.artifact_root = artifact_root.rstrip("/")
        self.locate = locate

    # ------------------------------------------------------------------ the import
    def run(self, source: RecordSource, source_locate: Locate, *, experiments: Sequence[str] = (),
            models: Sequence[str] = (), dry_run: bool = False, progress: Progress | None = None) -> ImportSummary:
        progress = progress or _Quiet()
        started = time.monotonic()
        summary = ImportSummary(dry_run=dry_run)
        seen = {kind: self.loader.imported_digests(kind) for kind in KINDS}
        relocator = _Relocator()
        want_tracking = bool(experiments) or not models
        want_registry = bool(models) or not experiments
        exps = source.experiments(experiments) if want_tracking else []
        registered = source.registered_models(models) if want_registry else []
        if experiments and not exps:
            summary.errors.append(f"No experiment named or numbered {', '.join(experiments)} in {source.description}.")
        if models:
            missing = sorted(set(models) - {m.name for m in registered})
            if missing:
                summary.errors.append(f"No registered model {', '.join(missing)} in {source.description}.")
        runs_total = source.count_runs([e.experiment_id for e in exps]) if exps else 0
        progress.start(None if runs_total is None else len(exps) + runs_total + len(registered))
        job = _Job(self, source_locate, summary, seen, relocator, dry_run, progress)
        for exp in exps:
            job.experiment(exp)
        for exp in exps:
            if exp.experiment_id not in job.failed_experiments:
                job.tracking_objects(source, exp)
        for model in registered:
            job.registered_model(model, source)
        summary.seconds = time.monotonic() - started
        return summary


class _Job:
    """One import's state: what is already there, where things move, what happened."""

    def __init__(self, service: ImportService, source_locate: Locate, summary: ImportSummary,
                 seen: dict[str, dict[str, str]], relocator: _Relocator, dry_run: bool, progress: Progress) -> None:
        self.service, self.source_locate, self.summary = service, source_locate, summary
        self.seen, self.relocator, self.dry_run, self.progress = seen, relocator, dry_run, progress
        self.root = service.artifact_root
        self.failed_experiments: set[str] = set()

    # ---------------------------------------------------------------- outcomes
    def _load(self, kind: str, key: str, record, load: Callable[[object, str], str],
              copy: Sequence[tuple[str | None, str]] = ()) -> None:
        record_digest = digest(record)
        try:
            if self.seen[kind].get(key) == record_digest:
                self.summary.count(kind, "unchanged")
                return
            if self.dry_run:
                self.summary.count(kind, "updated" if key in self.seen[kind] else "created")
                return
            for old, new in copy:
                self.copy_tree(old, new)
            self.summary.count(kind, load(record, record_digest))
        except (PodiumError, OSError) as exc:
            self.fail(kind, key, exc)
        finally:
            self.progress.advance(objects=1, what=kind)

    def fail(self, kind: str, key: str, exc: BaseException) -> None:
        self.summary.count(kind, "failed")
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        self.summary.errors.append(f"{kind.replace('_', ' ')} {key}: {message}")

    # ---------------------------------------------------------------- tracking
    def experiment(self, exp: ExperimentRecord) -> None:
        new = f"{self.root}/{exp.experiment_id}"
        moved = dataclasses.replace(exp, artifact_location=new)
        before = self.summary.counts["experiment"]["failed"]
        self._load("experiment", exp.experiment_id, moved, self.service.loader.load_experiment)
        if self.summary.counts["experiment"]["failed"] > before:
            self.failed_experiments.add(exp.experiment_id)

    def tracking_objects(self, source: RecordSource, exp: ExperimentRecord) -> None:
        base = f"{self.root}/{exp.experiment_id}"
        try:
            for model in source.logged_models(exp.experiment_id):
                new = f"{base}/models/{model.model_id}/artifacts"
                self.relocator.add(model.artifact_location, new, f"models:/{model.model_id}")
                self._load("logged_model", model.model_id, dataclasses.replace(model, artifact_location=new),
                           self.service.loader.load_logged_model, [(model.artifact_location, new)])
            for run in source.runs(exp.experiment_id):
                new = f"{base}/{run.run_id}/artifacts"
                self.relocator.add(run.artifact_uri, new, f"runs:/{run.run_id}")
                self._load("run", run.run_id, dataclasses.replace(run, artifact_uri=new),
                           self.service.loader.load_run, [(run.artifact_uri, new)])
        except (PodiumError, OSError) as exc:
            self.fail("experiment", exp.experiment_id, exc)

    # ---------------------------------------------------------------- the registry
    def registered_model(self, model: RegisteredModelRecord, source: RecordSource) -> None:
        try:
            versions = source.model_versions(model.name)
            events = source.model_events(model.name)
        except (PodiumError, OSError) as exc:
            self.fail("registered_model", model.name, exc)
            return
        loads: list[tuple[ModelVersionRecord, str, Manifest | None]] = []
        failed = 0
        for v in versions:
            key = version_key(v.name, v.version)
            try:
                moved, files_at = self._moved_version(v)
                vdigest = digest(moved)
                if self.seen["model_version"].get(key) == vdigest:
                    self.summary.count("model_version", "unchanged")
                    continue
                if self.dry_run:
                    self.summary.count("model_version", "updated" if key in self.seen["model_version"] else "created")
                    continue
                manifest = None
                if key not in self.seen["model_version"]:  # a new version: its files, then their manifest
                    if files_at is not None:
                        self.copy_tree(*files_at)
                    manifest = self.manifest(moved.storage_location or moved.source)
                    expected = source.version_manifest_digest(v.name, v.version)
                    if expected is not None and (manifest is None or manifest.digest != expected):
                        raise IntegrityCheckFailed("its files differ from the manifest they were exported with; "
                                          "not imported.")
                    if manifest is None:
                        self.summary.errors.append(
                            f"model version {key}: no files at {v.storage_location or v.source} in the source; "
                            "imported without a manifest.")
                loads.append((moved, vdigest, manifest))
            except (PodiumError, OSError) as exc:
                failed += 1
                self.fail("model_version", key, exc)
        mdigest = digest(model)
        try:
            if self.dry_run:
                if self.seen["registered_model"].get(model.name) != mdigest:
                    self.summary.count("registered_model",
                                       "updated" if model.name in self.seen["registered_model"] else "created")
                else:
                    self.summary.count("registered_model", "unchanged")
                return
            if not loads and self.seen["registered_model"].get(model.name) == mdigest:
                self.summary.count("registered_model", "unchanged")
                return
            counts = self.service.loader.load_registered_model(model, mdigest, loads, events)
            self.summary.count("registered_model", counts["model"])
            for outcome in ("created", "updated", "unchanged"):
                self.summary.count("model_version", outcome, counts[outcome])
        except (PodiumError, OSError) as exc:
            self.fail("registered_model", model.name, exc)
            self.summary.count("model_version", "failed", len(loads))
        finally:
            self.progress.advance(objects=1, what="registered_model")

    def _moved_version(self, v: ModelVersionRecord) -> tuple[ModelVersionRecord, tuple[str, str] | None]:
        """The version with its locations in this store, and ``(from, to)`` when its files must be copied
        on their own (they are not inside a run's or logged model's artifacts imported here)."""
        where = v.storage_location or v.source
        moved_location = self.relocator.relocate(where)
        if moved_location is None and not v.storage_location:  # a server that does not say where: ask the source
            moved_location = self.relocator.resolve(v.source)
        files_at = None
        if moved_location is None and where and not where.startswith(("runs:/", "models:/")):
            moved_location = f"{self.root}/registry/{quote(v.name, safe='')}/{v.version}"
            files_at = (where, moved_location)
        elif moved_location is None and v.storage_location:
            moved_location = f"{self.root}/registry/{quote(v.name, safe='')}/{v.version}"
            files_at = (v.storage_location, moved_location)
        source = self.relocator.relocate(v.source) or (moved_location if files_at and v.source == where else v.source)
        return dataclasses.replace(v, source=source, storage_location=moved_location), files_at

    # ---------------------------------------------------------------- files
    def copy_tree(self, old: str | None, new: str) -> None:
        """Copy every file below ``old`` (source) to ``new`` (here); files already there with the
        same size are kept. Nothing at ``old`` copies nothing."""
        if not old:
            return
        located = self.source_locate(old)
        if located is None:
            raise PodiumError(f"Cannot read the artifacts at '{old}' from here "
                              "(for mlflow-artifacts: locations, give --artifacts-destination).")
        src, src_root = located
        dst_located = self.service.locate(new)
        if dst_located is None:
            raise PodiumError(f"Cannot write artifacts to '{new}'.")
        dst, dst_root = dst_located
        for path, size in list_store_files(src, src_root):
            src_path = f"{src_root.strip('/')}/{path}" if src_root.strip("/") else path
            dst_path = f"{dst_root.strip('/')}/{path}" if dst_root.strip("/") else path
            if dst.exists(dst_path) and size is not None and dst.file_size(dst_path) == size:
                continue
            written = dst.write_stream(dst_path, src.open_read(src_path))
            self.summary.files_copied += 1
            self.summary.bytes_copied += written
            self.progress.advance(nbytes=written)

    def manifest(self, location: str | None) -> Manifest | None:
        if not location:
            return None
        located = self.service.locate(location)
        if located is None:
            return None
        store, root = located
        listed = list_store_files(store, root)
        if not listed:
            return None
        files = hash_store_files(store, root, [p for p, _ in listed])
        return Manifest.of(files, location_key(location), int(time.time() * 1000))
