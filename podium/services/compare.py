"""Compare versions of a registered model side by side: what changed between v3 and v4?

Two layers:

* **pure functions** over a :class:`VersionSnapshot` per version (the version entity, its source
  run, its logged model, its parsed ``MLmodel``, its ``requirements.txt`` and its files):
  :func:`compare_snapshots` returns a JSON-ready comparison; :func:`signature_entries`,
  :func:`requirement_entries` and :func:`diff_section` are its parts. No I/O; tested directly.
* :class:`ModelComparer` fetches the snapshots (registry, tracking, manifests, the artifact store
  through ``locate``) and calls them. The server's ``GET /api/podium/v1/model-versions/compare``
  and the embedded client use it; the CLI renders its result.

The comparison::

    {"name": "wine", "versions": [3, 4],
     "headers": [{"version": 3, "creation_timestamp": ..., "current_stage": ..., "aliases": [...],
                  "run_id": ..., "model_id": ...}, ...],
     "sections": [{"name": "params", "title": "Run params", "available": [true, true],
                   "rows": [{"key": "C", "values": ["1.0", "0.1"], "different": true}, ...],
                   "changes": [{"version": 4, "base": 3, "added": [], "removed": [], "changed": ["C"]}]},
                  ...]}

Sections, in order: ``metadata`` (description, stage, aliases, source, storage location, run,
logged model, status, user, manifest digest), ``tags``, ``params`` and ``metrics`` (the source
run's), ``model_params`` and ``model_metrics`` (the logged model's), ``signature`` (one row per
input column / tensor, output and parameter), ``requirements`` (one row per package of
``requirements.txt``: its pin), ``files`` (size and sha256 per path, from the manifest when there
is one). A row's ``values`` are in version order, ``null`` where the version has no such key;
``available[i]`` is false when that data could not be read for version ``i`` (a deleted run, files
Podium cannot read here), so a ``null`` there means "unknown", not "absent". ``changes`` compares
each version with the first one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from podium.domain import rules
from podium.domain.entities import LoggedModel, ModelVersion, Run
from podium.domain.manifests import ManifestFile
from podium.errors import InvalidParameterValue, PodiumError, ResourceDoesNotExist
from podium.services.model_files import hash_store_files, latest_metrics, list_store_files, parse_mlmodel, read_small
from podium.store.base import RegistryStore, TrackingStore

if TYPE_CHECKING:
    from podium.services.integrity import IntegrityService

__all__ = [
    "MAX_VERSIONS",
    "ModelComparer",
    "VersionSnapshot",
    "compare_snapshots",
    "diff_section",
    "requirement_entries",
    "signature_entries",
]

MAX_VERSIONS = 20


@dataclass(frozen=True)
class VersionSnapshot:
    """Everything compared about one version (None: not there, or could not be read)."""

    version: ModelVersion
    run: Run | None = None
    logged_model: LoggedModel | None = None
    mlmodel: dict[str, Any] | None = None
    requirements: str | None = None
    files: tuple[ManifestFile, ...] | None = None
    manifest_digest: str | None = None
    #: which parts could be read: "run", "logged_model", "mlmodel", "requirements", "files"
    readable: frozenset[str] = field(default_factory=frozenset)


# ---------------------------------------------------------------------------------- pure functions
def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _same(values: Sequence[Any]) -> bool:
    encoded = {json.dumps(v, sort_keys=True, default=str) for v in values}
    return len(encoded) <= 1


def diff_section(name: str, title: str, mappings: Sequence[Mapping[str, Any] | None],
                 versions: Sequence[int]) -> dict[str, Any]:
    """One section: a row per key of any version, and each version's changes against the first.

    ``mappings[i]`` is None when version ``i``'s data is unavailable (its keys are then unknown, so
    it is left out of ``changes``).
    """
    keys: list[str] = []
    for mapping in mappings:
        for key in mapping or {}:
            if key not in keys:
                keys.append(key)
    if name not in ("signature", "files"):
        keys.sort()
    rows = []
    for key in keys:
        values = [_json_safe((m or {}).get(key)) for m in mappings]
        rows.append({"key": key, "values": values, "different": not _same(values)})
    changes = []
    base = mappings[0] if mappings else None
    for version, mapping in zip(versions[1:], mappings[1:]):
        if base is None or mapping is None:
            continue
        changes.append({
            "version": version, "base": versions[0],
            "added": [k for k in keys if k in mapping and k not in base],
            "removed": [k for k in keys if k in base and k not in mapping],
            "changed": [k for k in keys if k in base and k in mapping
                        and not _same([_json_safe(base[k]), _json_safe(mapping[k])])],
        })
    return {"name": name, "title": title, "available": [m is not None for m in mappings], "rows": rows,
            "changes": changes}


def _schema_items(text: Any) -> list[dict[str, Any]]:
    if text is None:
        return []
    try:
        items = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return [{"type": f"(unreadable: {str(text)[:60]})"}]
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _spec(item: dict[str, Any]) -> str:
    if item.get("type") == "tensor" or "tensor-spec" in item:
        tensor = item.get("tensor-spec") or {}
        return f"tensor {tensor.get('dtype', '?')} shape {list(tensor.get('shape') or [])}"
    kind = item.get("type")
    if isinstance(kind, dict):  # arrays, objects, maps
        kind = json.dumps(kind, sort_keys=True)
    text = str(kind)
    if "default" in item:  # a parameter
        text += f" default={json.dumps(item['default'])}"
        if item.get("shape") is not None:
            text += f" shape={list(item['shape'])}"
    if item.get("required") is False:
        text += " (optional)"
    return text


def signature_entries(mlmodel: Mapping[str, Any] | None) -> dict[str, str] | None:
    """``{"inputs.<column>": "<type>", "outputs[0]": "tensor float64 shape [-1]", "params.<p>": ...}``
    from an ``MLmodel`` mapping; ``{}`` when it has no signature, None without an MLmodel."""
    if mlmodel is None:
        return None
    signature = mlmodel.get("signature") or {}
    if not isinstance(signature, dict):
        return {}
    out: dict[str, str] = {}
    for part in ("inputs", "outputs", "params"):
        for i, item in enumerate(_schema_items(signature.get(part))):
            name = item.get("name")
            out[f"{part}.{name}" if name not in (None, "") else f"{part}[{i}]"] = _spec(item)
    return out


#: ``name [extras] [specifier | ; marker | @ url]`` (PEP 508, loosely)
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*((?:[<>=!~;@].*)?)$")


def _canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_entries(text: str | None) -> dict[str, str] | None:
    """``requirements.txt`` as ``{package: pin}`` (``"==1.5.0"``, ``">=2,<3; python_version>'3.9'"``,
    ``"(any version)"``); option lines (``-r``, ``--index-url``) are kept whole. None without a file."""
    if text is None:
        return None
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if line.startswith("-"):
            out[line] = "(option)"
            continue
        match = _REQUIREMENT.match(line)
        if match is None:
            out[line] = "(unparsed)"
            continue
        name, extras, rest = match.groups()
        pin = " ".join(part for part in ((extras or "").strip(), rest.strip()) if part)
        out[_canonical_name(name)] = pin or "(any version)"
    return out


def _metadata(snapshot: VersionSnapshot) -> dict[str, Any]:
    mv = snapshot.version
    values = {
        "description": mv.description,
        "stage": mv.current_stage,
        "aliases": " ".join(f"@{a}" for a in sorted(mv.aliases)) or None,
        "source": mv.source,
        "storage_location": mv.storage_location,
        "run_id": mv.run_id,
        "model_id": mv.model_id,
        "status": mv.status,
        "user_id": mv.user_id,
        "run_link": mv.run_link,
        "manifest_digest": snapshot.manifest_digest,
    }
    return {k: v for k, v in values.items() if v not in (None, "")}


def _files(snapshot: VersionSnapshot) -> dict[str, Any] | None:
    if snapshot.files is None:
        return None
    return {f.path: {"size": f.size, "sha256": f.sha256} for f in snapshot.files}


def _part(snapshot: VersionSnapshot, part: str, value):
    """``value`` when ``part`` was readable for the snapshot, else None (unknown)."""
    return value if part in snapshot.readable else None


def compare_snapshots(name: str, snapshots: Sequence[VersionSnapshot]) -> dict[str, Any]:
    """The comparison of ``snapshots`` (in the order given; the first is the base)."""
    versions = [int(s.version.version) for s in snapshots]
    run_data = [s.run.data if s.run is not None else None for s in snapshots]
    sections = [
        diff_section("metadata", "Version", [_metadata(s) for s in snapshots], versions),
        diff_section("tags", "Tags", [dict(s.version.tags) for s in snapshots], versions),
        diff_section("params", "Run params",
                     [_part(s, "run", dict(d.params) if d else {}) for s, d in zip(snapshots, run_data)], versions),
        diff_section("metrics", "Run metrics",
                     [_part(s, "run", dict(d.metrics) if d else {}) for s, d in zip(snapshots, run_data)], versions),
        diff_section("model_params", "Logged model params",
                     [_part(s, "logged_model", dict(s.logged_model.params) if s.logged_model else {})
                      for s in snapshots], versions),
        diff_section("model_metrics", "Logged model metrics",
                     [_part(s, "logged_model", latest_metrics(s.logged_model.metrics) if s.logged_model else {})
                      for s in snapshots], versions),
        diff_section("signature", "Signature",
                     [_part(s, "mlmodel", signature_entries(s.mlmodel)) for s in snapshots], versions),
        diff_section("requirements", "Requirements (requirements.txt)",
                     [_part(s, "requirements", requirement_entries(s.requirements)) for s in snapshots], versions),
        diff_section("files", "Files", [_part(s, "files", _files(s)) for s in snapshots], versions),
    ]
    headers = [{
        "version": int(s.version.version),
        "creation_timestamp": s.version.creation_timestamp,
        "current_stage": s.version.current_stage,
        "aliases": sorted(s.version.aliases),
        "run_id": s.version.run_id,
        "model_id": s.version.model_id,
    } for s in snapshots]
    return {"name": name, "versions": versions, "headers": headers, "sections": sections}


# ---------------------------------------------------------------------------------- fetching
def validate_versions(versions: Sequence[Any] | None) -> list[int]:
    """2 to :data:`MAX_VERSIONS` distinct version numbers, in the order given."""
    if isinstance(versions, (str, int)):
        versions = [versions]
    numbers: list[int] = []
    for v in versions or ():
        number = int(rules.validate_version(v))
        if number not in numbers:
            numbers.append(number)
    if len(numbers) < 2:
        raise InvalidParameterValue("Give at least two different versions to compare.")
    if len(numbers) > MAX_VERSIONS:
        raise InvalidParameterValue(f"Compare at most {MAX_VERSIONS} versions at a time (got {len(numbers)}).")
    return numbers


class ModelComparer:
    """Fetches what :func:`compare_snapshots` compares. ``integrity`` is the
    :class:`~podium.services.integrity.IntegrityService` (manifests and ``locate``)."""

    def __init__(self, registry: RegistryStore, tracking: TrackingStore, integrity: IntegrityService) -> None:
        self.registry = registry
        self.tracking = tracking
        self.integrity = integrity

    def compare_model_versions(self, name, versions) -> dict[str, Any]:
        name = rules.validate_model_name(name)
        numbers = validate_versions(versions)
        snapshots = [self.snapshot(name, v) for v in numbers]
        return compare_snapshots(name, snapshots)

    def snapshot(self, name: str, version: int) -> VersionSnapshot:
        mv = self.registry.get_model_version(name, version)
        readable: set[str] = set()
        run = logged = None
        if mv.run_id:
            try:
                run = self.tracking.get_run(mv.run_id)
                readable.add("run")
            except ResourceDoesNotExist:
                pass
        else:
            readable.add("run")  # no run: no params, and that is known
        if mv.model_id:
            try:
                logged = self.tracking.get_logged_model(mv.model_id)
                readable.add("logged_model")
            except ResourceDoesNotExist:
                pass
        else:
            readable.add("logged_model")
        manifest = self.integrity.manifests.get_manifest(name, version)
        files = manifest.files if manifest is not None else None
        if files is not None:
            readable.add("files")
        mlmodel = requirements = None
        location = mv.storage_location or mv.source
        located = None
        try:
            located = self.integrity.locate(location) if self.integrity.locate and location else None
        except PodiumError:
            located = None
        if located is not None:
            store, root = located
            try:
                mlmodel = parse_mlmodel(read_small(store, "MLmodel", root))
                readable.add("mlmodel")
                raw = read_small(store, "requirements.txt", root)
                requirements = raw.decode("utf-8", "replace") if raw is not None else None
                readable.add("requirements")
                if files is None:
                    files = tuple(hash_store_files(store, root, [p for p, _ in list_store_files(store, root)]))
                    readable.add("files")
            except Exception:  # noqa: BLE001 - unreadable parts are reported as unavailable
                pass
        return VersionSnapshot(mv, run, logged, mlmodel, requirements, files,
                               manifest.digest if manifest is not None else None, frozenset(readable))

