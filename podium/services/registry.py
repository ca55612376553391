"""The model registry's use cases: validation, source rules and cross-store links.

``RegistryService`` is what the Python client (embedded mode) and the server's routes call. It
validates every input with MLflow's error codes before anything is written, resolves where a new
version's files live, and links versions to MLflow 3 logged models.

On a server it also applies the source rules (docs/security.md, "Source rules"): with an
``authorizer`` (``--auth``), registering from a run, a logged model or another version needs read
access to it, checked before anything is looked up, by the same rule as downloading its files;
with ``source_rules``, the files must lie in the server's artifact store or under an allowed prefix
(:mod:`podium.services.sources`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from urllib.parse import unquote
from collections.abc import Sequence

from podium.auth.actor import current_actor, recorded_user_id
from podium.domain import rules
from podium.domain.entities import ModelVersion, PagedList, RegisteredModel
from podium.domain.paging import validate_max_results
from podium.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from podium.store.base import RegistryStore, TrackingStore
from podium.uris import ModelsUri, is_local_path, local_path_of, parse_models_uri, parse_runs_uri

__all__ = ["RegistryService"]

MODEL_VERSIONS_TAG = "mlflow.modelVersions"
_log = logging.getLogger(__name__)


def _source_not_contained(source: str, param: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Invalid model version source: '{source}'. The {param} request parameter must identify "
        "the resource that contains the source."
    )


def _local_source_refused(source: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Invalid model version source: '{local_path_of(source)}'. To use a local path as a model version source, the "
        "run_id request parameter has to be specified and the local path has to be contained within the "
        "artifact directory of the run specified by the run_id."
    )


def _fully_unquoted(text: str) -> str:
    """Undo percent-encoding until nothing changes (``%252e`` hides ``%2e`` hides ``.``)."""
    for _ in range(5):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def _as_file_uri(location: str) -> str:
    return location if location.startswith("file:") or not is_local_path(location) else f"file:{location}"


def _inside(source: str, root: str) -> bool:
    """Is ``source`` the artifact location ``root`` or a path below it (same scheme)?"""
    def parts(uri: str) -> tuple[str, str]:
        scheme, _, path = uri.partition(":")
        return scheme, path.lstrip("/").rstrip("/")

    (s_scheme, s_path), (r_scheme, r_path) = parts(source), parts(root)
    return s_scheme == r_scheme and (s_path == r_path or s_path.startswith(r_path + "/"))


def _tags(tags) -> dict[str, str]:
    if not tags:
        return {}
    items = tags.items() if isinstance(tags, dict) else ((t.key, t.value) for t in tags)
    return {rules.validate_key(k): rules.validate_tag_value(v) for k, v in items}


class RegistryService:
    def __init__(self, registry: RegistryStore, tracking: TrackingStore, *, strict_sources: bool = False,
                 integrity=None, source_rules=None, authorizer=None) -> None:
        self.registry = registry
        self.tracking = tracking
        #: podium.services.integrity.IntegrityService: hashes a new version's files (None: no manifests)
        self.integrity = integrity
        #: the server's rules: sources must be tied to the run (or logged model) that contains them
        self.strict_sources = strict_sources
        #: podium.services.sources.SourceRules on a server: where a version's files may be (None: anywhere)
        self.source_rules = source_rules
        #: the server's podium.auth.authorizer.Authorizer with --auth: who may register from what (None: anyone)
        self.authorizer = authorizer

    # ------------------------------------------------------------------ registered models
    def create_registered_model(self, name, tags=None, description=None, user_id=None) -> RegisteredModel:
        return self.registry.create_registered_model(
            rules.validate_new_model_name(name), _tags(tags), rules.validate_description(description),
            recorded_user_id(user_id)
        )

    def get_registered_model(self, name) -> RegisteredModel:
        return self.registry.get_registered_model(rules.validate_model_name(name))

    def rename_registered_model(self, name, new_name) -> RegisteredModel:
        rules.validate_model_name(name)
        rules.validate_new_model_name(new_name, "new_name")
        return self.registry.rename_registered_model(name, new_name)

    def update_registered_model(self, name, description=None) -> RegisteredModel:
        return self.registry.update_registered_model(rules.validate_model_name(name),
                                                     rules.validate_description(description))

    def delete_registered_model(self, name) -> None:
        self.registry.delete_registered_model(rules.validate_model_name(name))

    def search_registered_models(self, filter_string=None, max_results=None, order_by=None, page_token=None) -> PagedList:
        limit = validate_max_results(max_results, default=100, limit=1000)
        return self.registry.search_registered_models(filter_string, limit, order_by, page_token)

    def get_latest_versions(self, name, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        canonical = list(dict.fromkeys(rules.canonical_stage(s) for s in stages)) if stages else None
        return self.registry.get_latest_versions(rules.validate_model_name(name), canonical)

    def set_registered_model_tag(self, name, key, value) -> None:
        self.registry.set_registered_model_tag(
            rules.validate_model_name(name), rules.validate_key(key), rules.validate_tag_value(value)
        )

    def delete_registered_model_tag(self, name, key) -> None:
        self.registry.delete_registered_model_tag(rules.validate_model_name(name), rules.validate_key(key))

    # ------------------------------------------------------------------ model versions
    def create_model_version(
        self,
        name,
        source,
        run_id=None,
        tags=None,
        run_link=None,
        description=None,
        model_id=None,
        user_id=None,
    ) -> ModelVersion:
        rules.validate_model_name(name)
        rules.require(source, "source")
        description = rules.validate_description(description)
        checked = self._authorize_source(source, run_id or None, model_id or None)
        run_id, storage_location = self._resolve_source(source, run_id or None, model_id or None)
        self._admit_location(source, storage_location, checked, run_id, model_id or None)
        # the files' manifest, computed before the transaction that records it with the version; no
        # upload to those files can commit in between (IntegrityService.registering)
        with self.integrity.registering(storage_location) if self.integrity else contextlib.nullcontext() as manifest:
            version = self.registry.create_model_version(
                name,
                source,
                run_id=run_id,
                tags=_tags(tags),
                run_link=run_link,
                description=description,
                model_id=model_id or None,
                storage_location=storage_location,
                user_id=recorded_user_id(user_id),  # the authenticated actor when there is one
                manifest=manifest,
            )
        if model_id:
            try:
                self._link_logged_model(model_id, version)
            except Exception:  # noqa: BLE001 - the version is committed; the tag is informational
                _log.warning("Could not record version %s/%s on logged model %s", name, version.version, model_id,
                             exc_info=True)
        return version

    # ------------------------------------------------------------------ source rules (server only)
    def _authorize_source(self, source: str, run_id: str | None, model_id: str | None) -> set:
        """The caller must be able to read every run, logged model and registered model the request
        names, checked before any of them is looked up: one the caller cannot see is refused exactly
        like one that does not exist. Returns what was checked (``("run_id", id)``, ``("logged_model_id", id)``)."""
        runs, logged = {run_id}, {model_id}
        if source.startswith("runs:/"):
            runs.add(parse_runs_uri(source).run_id)
        elif source.startswith("models:/"):
            uri = parse_models_uri(source)
            if uri.model_id:
                logged.add(uri.model_id)
            else:
                self._check_access("model", "registering a version from", model=uri.name)
        return self._check_tracking(runs - {None}, logged - {None}, set())

    def _admit_location(self, source: str, location: str, checked: set, run_id: str | None,
                        model_id: str | None) -> None:
        """After resolution: the run and logged model the version will carry, and the files it will
        point at (by the artifact proxy's own read rule), must be readable by the caller; and the files
        must lie where this server may read them (:class:`~podium.services.sources.SourceRules`)."""
        self._check_tracking({run_id} - {None}, {model_id} - {None}, checked)
        if self.source_rules is None:
            return
        path = self.source_rules.proxy_path(location)
        if path is not None:
            self._check_access("artifact_read", "registering a version from these files", path=path)
        self.source_rules.check(source, location)

    def _check_tracking(self, runs: set, logged: set, checked: set) -> set:
        """Read access to each run and logged model not ``checked`` yet; returns all checked so far."""
        todo = {("run_id", r) for r in runs} | {("logged_model_id", m) for m in logged}
        for field, ident in sorted(todo - checked):
            self._check_access("artifact_read", "registering a version", **{field: ident})
        return checked | todo

    def _check_access(self, kind: str, action: str, **fields) -> None:
        """``Authorizer.check`` for the current actor (a server with --auth and a signed-in caller only)."""
        if self.authorizer is None:  # embedded, or a server without --auth: no actor to ask about
            return
        actor = current_actor()
        if not actor.authenticated:
            return
        from podium.auth.authorizer import Need
        from podium.auth.entities import Permission

        self.authorizer.check(actor, Need(kind, Permission.READ, action, **fields))

    def _resolve_source(self, source: str, run_id: str | None, model_id: str | None) -> tuple[str | None, str]:
        """Check a version's source against its run/model, as MLflow does; return (run_id, storage)."""
        if "\x00" in source or ".." in re.split(r"[/\\]", _fully_unquoted(source)):
            raise InvalidParameterValue(
                f"Invalid model version source: '{source}'. To use a local path as a model version "
                "source, an absolute path must be provided without relative path references present."
            )
        if source.startswith("models:/"):
            uri = parse_models_uri(source)
            if uri.model_id:
                if model_id != uri.model_id:
                    raise _source_not_contained(source, "model_id")
                logged = self.tracking.get_logged_model(uri.model_id)
                if run_id and logged.source_run_id and run_id != logged.source_run_id:
                    raise InvalidParameterValue(
                        f"run_id '{run_id}' does not match the logged model's run '{logged.source_run_id}'."
                    )
                return run_id or logged.source_run_id, logged.artifact_location
            src = self.resolve_model_version(uri)
            return run_id or src.run_id, src.storage_location or src.source
        if source.startswith("runs:/"):
            runs_uri = parse_runs_uri(source)
            if (run_id and run_id != runs_uri.run_id) or (self.strict_sources and not run_id and not model_id):
                raise _source_not_contained(source, "run_id")
            if model_id:
                self.tracking.get_run_info(runs_uri.run_id)  # RESOURCE_DOES_NOT_EXIST for a missing run
                return runs_uri.run_id, self.tracking.get_logged_model(model_id).artifact_location
            # the run, and MLflow 3's fallback: the newest logged model of that name from the run (one lookup)
            path = runs_uri.path
            info, logged_location = self.tracking.get_run_source(
                runs_uri.run_id, path if path and "/" not in path else None)
            if logged_location is not None:
                return runs_uri.run_id, logged_location
            base = info.artifact_uri.rstrip("/")
            return runs_uri.run_id, f"{base}/{runs_uri.path}" if runs_uri.path else base
        if source.startswith("mlflow-artifacts:"):
            # a proxied location must lie inside the run's or the logged model's own artifacts
            if model_id:
                logged = self.tracking.get_logged_model(model_id)
                if not _inside(source, logged.artifact_location):
                    raise _source_not_contained(source, "model_id")
                return run_id or logged.source_run_id, source
            if not run_id:
                raise _source_not_contained(source, "run_id")
            if not _inside(source, self.tracking.get_run_info(run_id).artifact_uri):
                raise _source_not_contained(source, "run_id")
            return run_id, source
        if model_id:
            return run_id, self.tracking.get_logged_model(model_id).artifact_location
        if run_id:
            info = self.tracking.get_run_info(run_id)
            if self.strict_sources and is_local_path(source) and not _inside(_as_file_uri(source), _as_file_uri(info.artifact_uri)):
                raise _local_source_refused(source)
            return run_id, source
        if self.strict_sources and is_local_path(source):
            raise _local_source_refused(source)
        return run_id, source

    def _link_logged_model(self, model_id: str, version: ModelVersion) -> None:
        """Record the version on its logged model's ``mlflow.modelVersions`` tag, as MLflow does."""
        logged = self.tracking.get_logged_model(model_id)
        try:
            entries = json.loads(logged.tags.get(MODEL_VERSIONS_TAG, "[]"))
            if not isinstance(entries, list):
                entries = []
        except ValueError:
            entries = []
        entries.append({"name": version.name, "version": version.version})
        self.tracking.set_logged_model_tags(model_id, {MODEL_VERSIONS_TAG: json.dumps(entries)})

    def get_model_version(self, name, version) -> ModelVersion:
        return self.registry.get_model_version(rules.validate_model_name(name), rules.validate_version(version))

    def update_model_version(self, name, version, description=None) -> ModelVersion:
        return self.registry.update_model_version(
            rules.validate_model_name(name), rules.validate_version(version), rules.validate_description(description)
        )

    def transition_model_version_stage(self, name, version, stage, archive_existing_versions=False) -> ModelVersion:
        return self.transition_model_version_stage_with_warnings(name, version, stage, archive_existing_versions)[0]

    def transition_model_version_stage_with_warnings(
        self, name, version, stage, archive_existing_versions=False
    ) -> tuple[ModelVersion, list[str]]:
        """The transition, and a warning for each alias left on a version it archived
        (``alias 'champion' points at version 1, now Archived``)."""
        if not isinstance(archive_existing_versions, bool):
            raise InvalidParameterValue(
                f"Invalid value {archive_existing_versions!r} for parameter 'archive_existing_versions': "
                "expected a boolean."
            )
        name, version = rules.validate_model_name(name), rules.validate_version(version)
        stage = rules.canonical_stage(rules.require(stage, "stage"))
        updated, aliases = self.registry.transition_reporting_aliases(name, version, stage, archive_existing_versions)
        return updated, [f"alias '{alias}' points at version {held}, now Archived"
                         for alias, held in sorted(aliases.items())]

    def delete_model_version(self, name, version) -> None:
        self.registry.delete_model_version(rules.validate_model_name(name), rules.validate_version(version))

    def search_model_versions(self, filter_string=None, max_results=None, order_by=None, page_token=None) -> PagedList:
        limit = validate_max_results(max_results, default=10000, limit=200000)
        return self.registry.search_model_versions(filter_string, limit, order_by, page_token)

    def get_model_version_download_uri(self, name, version) -> str:
        mv = self.get_model_version(name, version)
        return mv.storage_location or mv.source

    def set_model_version_tag(self, name, version, key, value) -> None:
        self.registry.set_model_version_tag(
            rules.validate_model_name(name),
            rules.validate_version(version),
            rules.validate_key(key),
            rules.validate_tag_value(value),
        )

    def delete_model_version_tag(self, name, version, key) -> None:
        self.registry.delete_model_version_tag(
            rules.validate_model_name(name), rules.validate_version(version), rules.validate_key(key)
        )

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """A new version of ``dst_name`` (created if needed) with the source version's files and metadata."""
        checked = self._authorize_source(src_model_uri, None, None)
        src = self.resolve_model_version(parse_models_uri(src_model_uri))
        rules.validate_model_name(dst_name)
        location = src.storage_location or src.source
        self._admit_location(src_model_uri, location, checked, src.run_id, src.model_id)
        try:
            self.registry.create_registered_model(dst_name)
        except ResourceAlreadyExists:
            pass
        manifest = None
        if self.integrity:  # the same files: the source's manifest (as registered), else hashed now
            manifest = self.integrity.manifests.get_manifest(src.name, src.version) \
                or self.integrity.manifest_for_location(location)
        return self.registry.create_model_version(
            dst_name,
            f"models:/{src.name}/{src.version}",
            run_id=src.run_id,
            tags=dict(src.tags),
            run_link=src.run_link,
            description=src.description,
            model_id=src.model_id,
            storage_location=location,
            manifest=manifest,
        )

    # ------------------------------------------------------------------ aliases
    def set_registered_model_alias(self, name, alias, version) -> None:
        self.registry.set_registered_model_alias(
            rules.validate_model_name(name), rules.validate_alias_name(alias), rules.validate_version(version)
        )

    def delete_registered_model_alias(self, name, alias) -> None:
        self.registry.delete_registered_model_alias(rules.validate_model_name(name), rules.validate_alias_name(alias))

    def get_model_version_by_alias(self, name, alias) -> ModelVersion:
        return self.registry.get_model_version_by_alias(
            rules.validate_model_name(name), rules.require(alias, "alias")
        )

    # ------------------------------------------------------------------ URIs
    def resolve_model_version(self, uri: ModelsUri) -> ModelVersion:
        """The version a ``models:/name/...`` or ``models:/name@alias`` URI names."""
        if uri.alias:
            return self.get_model_version_by_alias(uri.name, uri.alias)
        if uri.version is not None:
            return self.get_model_version(uri.name, uri.version)
        if uri.stage:
            found = self.get_latest_versions(uri.name, [uri.stage])
            if not found:
                raise ResourceDoesNotExist(
                    f"No versions of model with name '{uri.name}' and stage '{uri.stage}' found"
                )
            return found[0]
        if uri.latest:
            found = self.get_latest_versions(uri.name)
            if not found:
                raise ResourceDoesNotExist(f"No versions of model with name '{uri.name}' found")
            return max(found, key=lambda v: v.version)
        raise InvalidParameterValue("A models:/ URI naming a logged model has no registry version.")
