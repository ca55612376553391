"""Every route's access rule: what a request needs, derived from its parameters (one table).

:data:`RULES` maps a route's operation id (its handler's name) to a function
``(params, registry) -> Need`` (:class:`podium.auth.authorizer.Need`); the
:class:`~podium.auth.authorizer.Authorizer` then decides. Routes in :data:`PUBLIC` need no
credentials. A route missing from both is refused to everyone but admins (and a test fails), so a
new endpoint cannot slip through unprotected.

=====================================  ================================================================
operations                             need (with ``--auth``)
=====================================  ================================================================
registry reads: get, search, latest,   ``read`` on the model (searches return only readable models)
alias get, download URI; Podium API:
policy get, manifest, verify, compare,
history, state at a time
create version, update descriptions,   ``edit`` on the model; moving a *protected* stage or alias also
tags, stage transitions, aliases;      needs the policy's ``require_role`` (or an approved request)
a scorer's serving events
rename, delete model or version,       ``manage`` on the model (deleting what holds a protected target
grants (list/set/delete), policy set   counts as moving it; changing a policy that requires admin or
                                       approval needs admin; renaming, for a caller who cannot read
                                       every model, also registry-wide ``edit``: a new name is claimed)
rollback of a stage or alias           as moving it: ``edit``, and for a protected one the policy's
                                       ``require_role``; under ``requires_approval`` admin only
                                       (break-glass, recorded on the ``rollback`` event)
create registered model                registry-wide ``edit`` (an existing name the caller can read:
                                       answered "already exists"; one it cannot read: as a new name)
experiments, runs, metrics, logged     registry-wide ``read`` for reads, ``edit`` for changes
models
artifact proxy                         reads: registry-wide ``read``, or ``read`` on a model registered
                                       from the run / logged model the path lies in; writes: ``edit``
approval requests                      create: ``edit`` on the model; list: ``read``; get, approve,
                                       reject: authenticated, then the approval service decides
                                       (read on the model; the policy's approvers; never the requester)
webhooks (MLflow's API and Podium's    admin only: a webhook sends registry events anywhere, and its
delivery log)                          test and redelivery make the server send requests
server-info, openapi.json, whoami      any authenticated user
health, version, metrics               public
=====================================  ================================================================
"""

from __future__ import annotations

from podium.auth.authorizer import Need, Target
from podium.auth.entities import Permission
from podium.domain import rules
from podium.errors import PodiumError

__all__ = ["PUBLIC", "RULES", "need_for"]

READ, EDIT, MANAGE = Permission.READ, Permission.EDIT, Permission.MANAGE

#: routes anyone may call, with or without credentials (operators' probes and scrapers)
PUBLIC = frozenset({"health", "version", "metrics"})


def _model(permission: Permission, action: str, targets=None, *, guards_policy: bool = False):
    def need(p: dict, registry) -> Need:
        found = tuple(targets(p, registry)) if targets else ()
        return Need("model", permission, action, model=p.get("name"), targets=found, guards_policy=guards_policy)

    return need


def _registry(permission: Permission, action: str):
    return lambda p, registry: Need("registry", permission, action)


def _quietly(fn):
    """Targets from registry state; if it cannot be read (no such version), the handler reports that."""
    def derive(p: dict, registry) -> list[Target]:
        try:
            return fn(p, registry)
        except PodiumError:
            return []

    return derive


@_quietly
def _transition_targets(p: dict, registry) -> list[Target]:
    version = str(p["version"])
    current = registry.get_model_version(p["name"], version).current_stage
    return [Target("stage", rules.canonical_stage(p["stage"]), version), Target("stage", current, version)]


@_quietly
def _version_targets(p: dict, registry) -> list[Target]:
    mv = registry.get_model_version(p["name"], p["version"])
    return [Target("stage", mv.current_stage, str(mv.version))] + [Target("alias", a, str(mv.version)) for a in mv.aliases]


@_quietly
def _model_targets(p: dict, registry) -> list[Target]:
    rm = registry.get_registered_model(p["name"])
    return ([Target("stage", v.current_stage, str(v.version)) for v in rm.latest_versions]
            + [Target("alias", alias, str(version)) for alias, version in rm.aliases.items()])


@_quietly
def _rollback_targets(p: dict, registry) -> list[Target]:
    if p.get("alias"):
        return [Target("alias", p["alias"])]
    return [Target("stage", rules.canonical_stage(p.get("stage")))] if p.get("stage") else []


def _rollback(p: dict, registry) -> Need:
    """A rollback moves its stage or alias: ``edit`` and the policy's rule, as moving it directly,
    except that under ``requires_approval`` an admin may (break-glass; the event records it)."""
    return Need("model", EDIT, "rolling back", model=p.get("name"), targets=tuple(_rollback_targets(p, registry)),
                break_glass=True)


def _alias_target(p: dict, registry) -> list[Target]:
    return [Target("alias", p["alias"], p.get("version"))]


def _artifact_read(p: dict, registry) -> Need:
    return Need("artifact_read", READ, "reading artifacts", path=p.get("path") or p.get("artifact_path") or "")


_TRACKING_READS = ("get_experiment", "get_experiment_by_name", "search_experiments", "get_run", "search_runs",
                   "get_metric_history", "search_logged_models", "get_logged_model")
_TRACKING_WRITES = ("create_experiment", "delete_experiment", "restore_experiment", "update_experiment",
                    "set_experiment_tag", "delete_experiment_tag", "create_run", "update_run", "delete_run",
                    "restore_run", "log_metric", "log_param", "set_tag", "delete_tag", "log_batch", "log_inputs",
                    "log_outputs", "create_logged_model", "finalize_logged_model", "delete_logged_model",
                    "set_logged_model_tags", "delete_logged_model_tag", "log_logged_model_params")
_ARTIFACT_WRITES = ("upload_artifact", "delete_artifact", "multipart_upload_create", "multipart_upload_complete",
                    "multipart_upload_abort")

_WEBHOOK_OPERATIONS = ("create_webhook", "list_webhooks", "get_webhook", "update_webhook", "delete_webhook",
                       "test_webhook", "list_webhook_deliveries", "get_webhook_delivery", "redeliver_webhook_delivery")

RULES = {
    # registered models
    "create_registered_model": lambda p, registry: Need("create_model", EDIT, "creating a registered model",
                                                         model=p.get("name")),
    "get_registered_model": _model(READ, "reading"),
    "rename_registered_model": lambda p, registry: Need("model", MANAGE, "renaming", model=p.get("name"),
                                                         new_name=p.get("new_name")),
    "update_registered_model": _model(EDIT, "updating"),
    "delete_registered_model": _model(MANAGE, "deleting", _model_targets),
    "search_registered_models": lambda p, registry: Need("search_models"),
    "get_latest_versions": _model(READ, "reading"),
    "set_registered_model_tag": _model(EDIT, "tagging"),
    "delete_registered_model_tag": _model(EDIT, "tagging"),
    "set_registered_model_alias": _model(EDIT, "setting aliases of", _alias_target),
    "delete_registered_model_alias": _model(EDIT, "deleting aliases of", _alias_target),
    "get_model_version_by_alias": _model(READ, "reading"),
    # model versions
    "create_model_version": _model(EDIT, "creating versions of"),
    "get_model_version": _model(READ, "reading"),
    "update_model_version": _model(EDIT, "updating"),
    "transition_model_version_stage": _model(EDIT, "moving stages of", _transition_targets),
    "delete_model_version": _model(MANAGE, "deleting versions of", _version_targets),
    "search_model_versions": lambda p, registry: Need("search_models"),
    "get_model_version_download_uri": _model(READ, "downloading"),
    "set_model_version_tag": _model(EDIT, "tagging"),
    "delete_model_version_tag": _model(EDIT, "tagging"),
    # tracking
    **{op: _registry(READ, "reading experiments, runs and logged models") for op in _TRACKING_READS},
    **{op: _registry(EDIT, "changing experiments, runs and logged models") for op in _TRACKING_WRITES},
    # artifact proxy
    "list_artifacts": _artifact_read,
    "download_artifact": _artifact_read,
    "presigned_download": _artifact_read,
    **{op: _registry(EDIT, "writing artifacts") for op in _ARTIFACT_WRITES},
    # server
    "server_info": lambda p, registry: Need("authenticated"),
    "openapi": lambda p, registry: Need("authenticated"),
    # Podium's own API
    "whoami": lambda p, registry: Need("authenticated"),
    "get_model_grants": _model(MANAGE, "listing grants of"),
    "set_model_grant": _model(MANAGE, "changing grants of"),
    "delete_model_grant": _model(MANAGE, "changing grants of"),
    "get_model_policy": _model(READ, "reading the policy of"),
    "set_model_policy": _model(MANAGE, "changing the policy of", guards_policy=True),
    # Podium's own API: integrity and compare (podium.server.api.integrity)
    "get_model_version_manifest": _model(READ, "reading manifests of"),
    "verify_model_version": _model(READ, "verifying versions of"),
    "compare_model_versions": _model(READ, "comparing versions of"),
    # Podium's own API: audit history and rollback (podium.server.api.history)
    "get_model_history": _model(READ, "reading the history of"),
    "get_model_state_at": _model(READ, "reading the history of"),
    "rollback_model": _rollback,
    "record_serving_event": _model(EDIT, "recording serving events of"),
    # Podium's own API: approval requests (podium.server.api.approvals). Approving, rejecting and
    # reading one request depend on its model, policy and requester: ApprovalService decides (403)
    "create_model_version_request": _model(EDIT, "requesting changes of"),
    "list_model_version_requests": _model(READ, "listing requests of"),
    "get_model_version_request": lambda p, registry: Need("authenticated"),
    "approve_model_version_request": lambda p, registry: Need("authenticated"),
    "reject_model_version_request": lambda p, registry: Need("authenticated"),
    # webhooks (podium.server.api.webhooks): admins only
    **{op: lambda p, registry: Need("admin_only", MANAGE, "managing webhooks") for op in _WEBHOOK_OPERATIONS},
}


def need_for(operation_id: str, params: dict, registry) -> Need:
    """What a call of ``operation_id`` with ``params`` needs (admin only for an unmapped route)."""
    rule = RULES.get(operation_id)
    if rule is None:
        return Need("admin_only", MANAGE, f"calling {operation_id}")
    return rule(params, registry)
