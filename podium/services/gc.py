"""Garbage collection: permanently remove what was deleted long enough ago, rows first, files after.

:meth:`GcService.collect` (``podium gc``, and the server's scheduled collection):

1. **What goes.** Deleted experiments (with every run and logged model in them), deleted runs and
   deleted logged models, deleted longer than ``older_than`` ago; or exactly the ``run_ids`` /
   ``experiment_ids`` asked for (each must exist, be deleted, and be old enough). The Default
   experiment is never purged. ``logged_model_ids`` likewise (MLflow 3's ``--logged-model-ids``).
2. **Rows.** Each object is purged in its own transaction (:class:`~podium.store.base.GcStore`), which
   leaves a tombstone for its files. Model versions are deleted for good when a user deletes them;
   their tombstones were written then.
3. **Files.** Every tombstone old enough is looked at against what still exists (runs, logged models,
   versions, experiments' locations, all read *after* the purges committed), deepest location first,
   and a location kept (or unreachable) protects every location above it:

   - a location that a remaining run, logged model or version lies in, at or below is **kept** (the
     tombstone stays; a later collection retries it); a deleted version's location that lies in a
     remaining run or logged model is simply forgotten: it belongs to that owner, collected with it;
   - a deleted version's location outside every experiment's artifact location (a path the user
     registered from) is **left** alone: not Podium's files;
   - otherwise its files are deleted (a run's or logged model's ``<id>/artifacts`` directory with its
     ``<id>`` directory), then the tombstone is resolved; files already gone are a warning, not an
     error; a store that cannot be reached (``mlflow-artifacts:`` without the server's artifacts
     destination, a failing S3) is a warning and the tombstone stays.

Every purge and every resolved tombstone is recorded in the purge history (``podium gc --history``);
a deleted version whose files are resolved also gets a ``version_purged`` registry event. ``dry_run``
reports the same (rows by table, files and bytes) and changes nothing.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from podium import clock
from podium.domain.gc import GcCandidate, PendingArtifacts, PurgeRecord, format_duration
from podium.domain.manifests import location_key
from podium.errors import InvalidParameterValue, PodiumError
from podium.services.model_files import Locate
from podium.store.base import ArtifactStore, GcStore

__all__ = ["GcReport", "GcService"]

_log = logging.getLogger("podium.gc")
_MLFLOW_ARTIFACTS = "mlflow-artifacts:/"


@dataclass
class GcReport:
    """What a collection did (or, ``dry_run``, would do)."""

    dry_run: bool
    older_than_ms: int
    #: objects whose rows went: ``{"kind", "id", "name", "rows": {table: n}}``
    purged: list[dict[str, Any]] = field(default_factory=list)
    #: locations looked at: ``{"kind", "object_id", "location", "action", "files", "bytes", "reason"}``;
    #: action: deleted | would_delete | missing | left | kept | unreachable
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(sum(p["rows"].values()) for p in self.purged)

    @property
    def bytes(self) -> int:
        return sum(a.get("bytes") or 0 for a in self.artifacts if a["action"] in ("deleted", "would_delete"))

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "older_than": format_duration(self.older_than_ms), "rows": self.rows,
                "bytes": self.bytes, "purged": self.purged, "artifacts": self.artifacts, "warnings": self.warnings}


@dataclass(frozen=True)
class _Job:
    """Files to look at: a tombstone (``pending``), or in a dry run an object about to be purged."""

    kind: str
    object_id: str
    location: str
    pending: PendingArtifacts | None = None


class GcService:
    """Garbage collection over a :class:`~podium.store.base.GcStore`. ``locate(uri)`` opens the
    artifact store of a location (``mlflow-artifacts:`` through ``artifacts_destination``, the
    server's artifact store, when given)."""

    def __init__(self, store: GcStore, locate: Locate, artifacts_destination: str | None = None) -> None:
        self.store = store
        self.locate = locate
        self.artifacts_destination = artifacts_destination

    # ------------------------------------------------------------------ the collection
    def collect(self, older_than_ms: int, *, run_ids: Sequence[str] | None = None,
                experiment_ids: Sequence[str] | None = None, logged_model_ids: Sequence[str] | None = None,
                dry_run: bool = False,
                on_progress: Callable[[str], None] | None = None) -> GcReport:
        """Purge what was deleted more than ``older_than_ms`` ago (see the module docstring)."""
        if older_than_ms < 0:
            raise InvalidParameterValue("--older-than must not be negative.")
        report = GcReport(dry_run, older_than_ms)
        cutoff = clock.now_ms() - older_than_ms + 1  # deleted at or before now - older_than
        targeted = bool(run_ids or experiment_ids or logged_model_ids)
        if targeted:
            experiments = self._named("experiment", experiment_ids or (), cutoff)
            runs = self._named("run", run_ids or (), cutoff)
            models = self._named("logged_model", logged_model_ids or (), cutoff)
        else:
            experiments = self.store.candidates("experiment", cutoff)
            gone = {e.id for e in experiments}
            runs = [r for r in self.store.candidates("run", cutoff) if r.experiment_id not in gone]
            models = [m for m in self.store.candidates("logged_model", cutoff) if m.experiment_id not in gone]
        objects = [*experiments, *runs, *models]
        step = on_progress or (lambda _line: None)

        for obj in objects:
            if dry_run:
                rows = self.store.count_rows(obj.kind, obj.id)
            else:
                purge = {"experiment": self.store.purge_experiment, "run": self.store.purge_run,
                         "logged_model": self.store.purge_logged_model}[obj.kind]
                rows = purge(obj.id)
                if rows is None:  # restored (or purged by another collector) in the meantime
                    continue
            report.purged.append({"kind": obj.kind, "id": obj.id, "name": obj.name, "rows": rows})
            step(f"{'would purge' if dry_run else 'purged'} {obj.kind} {obj.id}")

        if targeted:  # the objects' own tombstones, and those of the runs and models purged with an experiment
            ids = {o.id for o in objects}
            inside = [self.key(o.location) for o in experiments if o.location]
            pending = [p for p in self.store.pending_artifacts() if p.object_id in ids
                       or any(_inside(self.key(p.location), e) for e in inside)] if ids else []
        else:
            pending = self.store.pending_artifacts(cutoff)
        jobs = [_Job(p.kind, p.object_id, p.location, p) for p in pending]
        if dry_run:
            jobs += [_Job(o.kind, o.id, o.location) for o in objects if o.location]
        self._artifacts(jobs, objects if dry_run else [], report, step)
        return report

    def _named(self, kind: str, ids: Sequence[str], cutoff: int) -> list[GcCandidate]:
        """The objects asked for by id, each checked: it exists, is deleted, and was deleted before ``cutoff``."""
        ids = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
        found = {c.id: c for c in self.store.candidates(kind, ids=ids)} if ids else {}
        label = {"experiment": "Experiment", "run": "Run", "logged_model": "Logged model"}[kind]
        for ident in ids:
            obj = found.get(ident)
            if obj is None:
                raise InvalidParameterValue(f"{label} {ident} does not exist.")
            if obj.lifecycle != "deleted":
                raise InvalidParameterValue(f"{label} {ident} is not deleted ({obj.lifecycle}); only deleted "
                                            f"{kind.replace('_', ' ')}s are purged: delete it first.")
            if kind == "experiment" and ident == "0":
                raise InvalidParameterValue("The Default experiment (0) is never purged; its deleted runs are.")
            if obj.deleted_at >= cutoff:
                raise InvalidParameterValue(f"{label} {ident} was deleted less than --older-than ago; give "
                                            "--older-than 0 to purge it now.")
        return [found[i] for i in ids]

    # ------------------------------------------------------------------ files
    def key(self, uri: str) -> str:
        """A location's key, with ``mlflow-artifacts:/x`` spelled as the artifacts destination's ``x``."""
        if self.artifacts_destination and uri.startswith("mlflow-artifacts:"):
            relative = location_key(uri)[len(_MLFLOW_ARTIFACTS):]
            base = location_key(self.artifacts_destination)
            return f"{base.rstrip('/')}/{relative}".rstrip("/") if relative else base
        return location_key(uri)

    def _artifacts(self, jobs: list[_Job], purging: list[GcCandidate], report: GcReport,
                   step: Callable[[str], None]) -> None:
        if not jobs:
            return
        # what remains (in a dry run: without what would be purged)
        gone_ids = {o.id for o in purging}
        owners: list[tuple[str, str, str]] = []  # (kind, id, key)
        named: dict[str, list[str]] = {}  # run / logged model id -> versions whose source names it by id
        for kind, ident, experiment_id, location in self.store.referenced_locations():
            if ident in gone_ids or experiment_id in gone_ids and kind != "model_version":
                continue
            if not location:
                continue
            owner_id = _named_owner(location) if kind == "model_version" else None
            if owner_id is not None:  # runs:/<id>/... or models:/m-... (no resolved storage location)
                named.setdefault(owner_id, []).append(ident)
            else:
                owners.append((kind, ident, self.key(location)))
        gone_experiments = {o.id for o in purging if o.kind == "experiment"}
        experiments = [self.key(loc) for loc in self.store.experiment_locations() if loc]
        experiment_keys = set(experiments)
        if gone_experiments:  # their locations stop being in use, but stay Podium's
            experiment_keys -= {self.key(o.location) for o in purging if o.kind == "experiment" and o.location}
        managed = experiments + [self.key(j.location) for j in jobs if j.kind == "experiment"]
        seen: set[str] = set()
        # deepest first: a location kept (still used, or unreachable) protects every location above it
        for job in sorted(jobs, key=lambda j: -self.key(_target(j)).count("/")):
            self._one(job, owners, named, experiment_keys, managed, report, step, seen)
            if report.artifacts[-1]["action"] in ("kept", "unreachable"):
                owners.append(("location", f"{job.kind} {job.object_id}", self.key(_target(job))))

    def _one(self, job: _Job, owners, named: dict[str, list[str]], experiment_keys: set[str], managed: list[str],
             report: GcReport, step: Callable[[str], None], seen: set[str]) -> None:
        entry: dict[str, Any] = {"kind": job.kind, "object_id": job.object_id, "location": job.location}
        report.artifacts.append(entry)
        target = _target(job)
        key = self.key(target)
        refs = [(k, i) for k, i, ref in owners if ref == key or _inside(ref, key) or _inside(key, ref)]
        refs += [("model_version", v) for v in named.get(job.object_id, ())] if job.kind != "model_version" else []
        if job.kind == "model_version":
            owner = next(((k, i) for k, i, ref in owners if k != "model_version" and (ref == key or _inside(key, ref))), None)
            if _named_owner(job.location):  # runs:/<id>/..., models:/m-...: that owner's files
                owner = ("logged_model" if job.location.startswith("models:/") else "run", _named_owner(job.location))
            if owner is not None:  # the files belong to a run or logged model that remains
                entry.update(action="kept", reason=f"in {owner[0]} {owner[1]}'s artifacts")
                if job.pending is not None and not report.dry_run:
                    self.store.drop_pending(job.pending.id)
                return
        if refs:
            entry.update(action="kept", reason="still used by " + ", ".join(
                         f"{i} (kept)" if k == "location" else f"{k} {i}" for k, i in refs[:3])
                         + (f" and {len(refs) - 3} more" if len(refs) > 3 else ""))
            return
        holding = sorted(e for e in experiment_keys if e == key or _inside(e, key))
        if holding:
            entry.update(action="kept", reason=f"holds the artifact location of a remaining experiment ({holding[0]})")
            return
        if job.kind == "model_version" and not any(key == m or _inside(key, m) for m in managed) \
                and not job.location.startswith("mlflow-artifacts:"):
            entry.update(action="left", reason="outside Podium's artifact store (the files the version was "
                                               "registered from); left in place")
            self._resolve(job, "artifacts_left", {"reason": entry["reason"]}, report)
            return
        if any(key == k or _inside(key, k) for k in seen):  # deleted with another location in this collection
            entry.update(action="deleted" if not report.dry_run else "would_delete", files=0, bytes=0)
            self._resolve(job, "artifacts_deleted", {"files": 0, "bytes": 0}, report)
            return
        located = self._open(target)
        if located is None:
            entry.update(action="unreachable", reason="this process cannot reach the location (mlflow-artifacts: "
                                                      "needs --artifacts-destination)")
            report.warnings.append(f"{job.kind} {job.object_id}: cannot reach {target}; kept for the next collection "
                                   "(give --artifacts-destination).")
            return
        store, path = located
        try:
            files, size = _measure(store, path)
            if files == 0 and not _exists(store, path):
                entry.update(action="missing", files=0, bytes=0)
                report.warnings.append(f"{job.kind} {job.object_id}: no files at {target} (none were written, or they are gone already).")
                self._resolve(job, "artifacts_missing", {}, report)
                return
            if report.dry_run:
                entry.update(action="would_delete", files=files, bytes=size)
                return
            store.delete_artifacts(path or None)
        except PodiumError as exc:
            entry.update(action="unreachable", reason=str(exc))
            report.warnings.append(f"{job.kind} {job.object_id}: could not delete {target}: {exc}; kept for the next "
                                   "collection.")
            return
        except OSError as exc:
            entry.update(action="unreachable", reason=str(exc))
            report.warnings.append(f"{job.kind} {job.object_id}: could not delete {target}: {exc}; kept for the next "
                                   "collection.")
            return
        seen.add(key)
        entry.update(action="deleted", files=files, bytes=size)
        self._resolve(job, "artifacts_deleted", {"files": files, "bytes": size}, report)
        step(f"deleted {files} file(s), {size} bytes of {job.kind} {job.object_id}")

    def _open(self, target: str) -> tuple[ArtifactStore, str] | None:
        """``(store, non-empty path)`` of ``target``: the store of its parent when ``locate`` roots one
        at the target itself, so that a missing location reads as missing on every store."""
        located = self.locate(target)
        if located is None or located[1].strip("/"):
            return located
        parent, name = posixpath.split(target.rstrip("/"))
        if not name or not parent or parent.endswith(":") or parent.endswith(":/"):
            return None  # a bucket or a file system's root is never deleted whole
        located = self.locate(parent)
        return None if located is None else (located[0], posixpath.join(located[1], name).strip("/"))

    def _resolve(self, job: _Job, action: str, detail: dict, report: GcReport) -> None:
        if job.pending is not None and not report.dry_run:
            self.store.resolve_pending(job.pending.id, action, detail)

    # ------------------------------------------------------------------ history
    def history(self, max_results: int = 100, object_id: str | None = None) -> list[PurgeRecord]:
        """The purge history, newest first."""
        return self.store.purge_history(max_results, object_id)

    # ------------------------------------------------------------------ scheduled collection
    def collect_if_due(self, holder: str, interval_ms: int, older_than_ms: int,
                       job: str = "gc") -> GcReport | None:
        """One scheduled collection, if this process wins the database's lease for it (one collector
        per database per interval, however many server processes share it); None otherwise."""
        ttl = max(interval_ms, 10 * 60_000)
        if not self.store.claim_collection(job, holder, interval_ms, ttl):
            return None
        try:
            return self.collect(older_than_ms)
        finally:
            self.store.release_collection(job, holder)


def _named_owner(source: str) -> str | None:
    """The run or logged model a version's source names by id (``runs:/<id>/...``, ``models:/m-...``)."""
    if source.startswith("runs:/"):
        return source[len("runs:/"):].strip("/").split("/", 1)[0] or None
    if source.startswith("models:/m-"):
        return source[len("models:/"):].strip("/").split("/", 1)[0]
    return None


def _inside(key: str, parent: str) -> bool:
    """Whether location key ``key`` lies strictly below ``parent``."""
    return key.startswith(parent.rstrip("/") + "/")


def _target(job: _Job) -> str:
    """What to delete: a run's or logged model's ``.../<id>/artifacts`` is deleted with its ``<id>``
    directory (MLflow's layout keeps nothing else there); anything else as it is."""
    location = job.location.rstrip("/")
    head, last = posixpath.split(location)
    if job.kind in ("run", "logged_model") and last == "artifacts" and posixpath.basename(head) == job.object_id:
        return head
    return location


def _measure(store: ArtifactStore, path: str) -> tuple[int, int]:
    """``(files, bytes)`` below ``path`` in ``store``."""
    files = size = 0
    pending = [path.strip("/")]
    while pending:
        directory = pending.pop()
        for info in store.list_artifacts(directory or None):
            if info.is_dir:
                pending.append(info.path)
            else:
                files += 1
                size += info.file_size or 0
    if files == 0 and path and not store.is_dir(path) and store.exists(path):  # a single file
        return 1, store.file_size(path)
    return files, size


def _exists(store: ArtifactStore, path: str) -> bool:
    """Whether anything (an empty directory included) is at ``path``."""
    return store.exists(path)
