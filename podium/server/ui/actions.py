"""The web UI's forms that change state, and which of them a page offers (decision 0016).

A form posts to the page it is on (``/models/<name>``, ``/models/<name>/versions/<v>``,
``/requests``) with an ``action`` field; :func:`operation` turns it into the API call it stands for:
an operation id of the API's route table and the JSON body that call would carry. The UI then runs
that route exactly as the API does (:meth:`podium.server.ui.UI` → the route's parameter parsing, the
gate's ``admit`` under that operation id, the route's handler over the same services), so a form is
accepted or refused exactly when the API call would be.

=====================  ===================================  ========================================
``action``             on                                   API operation
=====================  ===================================  ========================================
``describe``           model / version                      ``update_registered_model`` /
                                                            ``update_model_version``
``tag-set``            model / version                      ``set_registered_model_tag`` /
``tag-delete``                                              ``set_model_version_tag`` (and delete)
``alias-set``          model / version                      ``set_registered_model_alias``
``alias-delete``       model                                ``delete_registered_model_alias``
``transition:<stage>`` version                              ``transition_model_version_stage``
``request-stage:<s>``  version                              ``create_model_version_request``
``request-alias``      model / version                      ``create_model_version_request``
``rollback``           model                                ``rollback_model``
``approve``            /requests                            ``approve_model_version_request``
``reject``             /requests                            ``reject_model_version_request``
=====================  ===================================  ========================================

Which forms a page shows is asked the same way (:func:`model_actions`, :func:`version_actions`):
the gate's decision for that operation and target; a target whose policy requires approval offers
"Request approval" instead of the move.
"""

from __future__ import annotations

from dataclasses import dataclass

from podium.auth.actor import current_actor
from podium.errors import InvalidParameterValue, PermissionDenied, Unauthenticated

__all__ = ["STAGES", "Operation", "model_actions", "operation", "version_actions"]

STAGES = ("Staging", "Production", "Archived", "None")


@dataclass(frozen=True)
class Operation:
    """One API call a form stands for, and what to tell the user when it worked."""

    operation_id: str
    body: dict
    done: str
    path_params: dict | None = None


def _text(form: dict, key: str) -> str | None:
    value = form.get(key)
    return value if value not in (None, "") else None


def operation(form: dict, name: str | None, version: str | None, request_id: str | None = None) -> Operation:
    """The API call of a posted form (``InvalidParameterValue`` for an action this page has not)."""
    action = form.get("action") or ""
    kind, _, arg = action.partition(":")
    target = {"name": name} if version is None else {"name": name, "version": version}
    where = f"version {version} of model '{name}'" if version is not None else f"model '{name}'"
    if request_id is not None:
        if kind in ("approve", "reject"):
            return Operation(f"{kind}_model_version_request", {"comment": _text(form, "comment")},
                             f"Request {request_id} {'approved' if kind == 'approve' else 'closed'}.",
                             {"request_id": request_id})
    elif kind == "describe":
        op = "update_model_version" if version is not None else "update_registered_model"
        return Operation(op, {**target, "description": form.get("description", "")}, f"Description of {where} saved.")
    elif kind in ("tag-set", "tag-delete"):
        scope = "model_version" if version is not None else "registered_model"
        key = _text(form, "key")
        if kind == "tag-set":
            return Operation(f"set_{scope}_tag", {**target, "key": key, "value": form.get("value", "")},
                             f"Tag '{key}' of {where} set.")
        return Operation(f"delete_{scope}_tag", {**target, "key": key}, f"Tag '{key}' of {where} deleted.")
    elif kind == "alias-set":
        alias, to = _text(form, "alias"), version or _text(form, "version")
        return Operation("set_registered_model_alias", {"name": name, "alias": alias, "version": to},
                         f"@{alias} of model '{name}' now points at version {to}.")
    elif kind == "alias-delete" and version is None:
        alias = _text(form, "alias")
        return Operation("delete_registered_model_alias", {"name": name, "alias": alias},
                         f"@{alias} removed from model '{name}'.")
    elif kind == "transition" and version is not None:
        archive = form.get("archive_existing_versions") in ("on", "true", "1")
        return Operation("transition_model_version_stage", {**target, "stage": arg, "archive_existing_versions": archive},
                         f"Version {version} of model '{name}' moved to {arg}.")
    elif kind in ("request-stage", "request-alias"):
        to = version or _text(form, "version")
        stage = arg if kind == "request-stage" else None
        alias = _text(form, "alias") if kind == "request-alias" else None
        what = stage or f"@{alias}"
        return Operation("create_model_version_request", {"name": name, "version": to, "stage": stage, "alias": alias,
                                                          "comment": _text(form, "comment")},
                         f"Approval requested: version {to} of model '{name}' to {what} (see Requests).")
    elif kind == "rollback" and version is None:
        stage, alias = _text(form, "stage"), _text(form, "alias")
        return Operation("rollback_model", {"name": name, "stage": stage, "alias": alias,
                                            "reason": _text(form, "reason")},
                         f"{stage or '@' + str(alias)} of model '{name}' rolled back.")
    raise InvalidParameterValue(f"Unknown form action {action!r} for this page.")


def _can(check, operation_id: str, params: dict) -> bool:
    """Would the gate admit this call (the API's own question)?"""
    try:
        check(operation_id, params)
    except (PermissionDenied, Unauthenticated):
        return False
    return True


def _needs_approval(policy, kind: str, target: str) -> bool:
    return policy is not None and policy.requires_approval and policy.protects(kind, target)


def _permission(s, name: str) -> str | None:
    """The actor's permission on the model, in words (``None`` without --auth)."""
    if s.gate is None:
        return None
    actor = current_actor()
    return "admin" if actor.is_admin else s.gate.authorizer.model_permission(actor, name).label


def model_actions(s, check, model, serving: list[dict]) -> dict:
    """What ``/models/<name>`` offers the actor: editing, and per stage/alias row, remove and roll back."""
    name = model.name
    edit = _can(check, "update_registered_model", {"name": name})
    if not edit:  # every action needs edit on the model at least: a reader's page asks nothing more
        return {"edit": False, "rows": {}, "permission": None, "any": False, "request": False, "approval_aliases": ()}
    policy = s.access.get_model_policy(name) if s.access is not None else None
    rows = {}
    for row in serving:
        kind, target = row["kind"], row["target"]
        key = {"stage": target} if kind == "stage" else {"alias": target}
        rows[(kind, target)] = {
            "rollback": _can(check, "rollback_model", {"name": name, **key, "reason": "-"}),
            "remove": kind == "alias" and not _needs_approval(policy, "alias", target) and _can(
                check, "delete_registered_model_alias", {"name": name, "alias": target}),
        }
    approval_aliases = tuple(policy.protected_aliases) if policy is not None and policy.requires_approval else ()
    return {"edit": edit, "rows": rows, "permission": _permission(s, name), "any": edit or any(any(r.values()) for r in rows.values()),
            "request": bool(approval_aliases) and _can(check, "create_model_version_request", {"name": name}),
            "approval_aliases": approval_aliases}


def version_actions(s, check, mv) -> dict:
    """What ``/models/<name>/versions/<v>`` offers: a move (or a request) per stage, aliases, editing."""
    name, version = mv.name, str(mv.version)
    edit = _can(check, "update_model_version", {"name": name, "version": version})
    if not edit:  # as on the model page: nothing to offer without edit
        return {"edit": False, "stages": [], "alias": False, "permission": None, "moves": False,
                "stage_requests": False, "request": False, "approval_aliases": (), "any": False}
    policy = s.access.get_model_policy(name) if s.access is not None else None
    may_request = _can(check, "create_model_version_request", {"name": name})
    stages = []
    for stage in STAGES:
        if stage == mv.current_stage:
            continue
        if _needs_approval(policy, "stage", stage) or _needs_approval(policy, "stage", mv.current_stage):
            if may_request:
                stages.append({"stage": stage, "action": f"request-stage:{stage}", "label": f"Request {stage}"})
        elif _can(check, "transition_model_version_stage", {"name": name, "version": version, "stage": stage,
                                                            "archive_existing_versions": False}):
            stages.append({"stage": stage, "action": f"transition:{stage}", "label": f"Move to {stage}"})
    approval_aliases = tuple(policy.protected_aliases) if policy is not None and policy.requires_approval else ()
    return {"edit": edit, "stages": stages, "alias": edit, "permission": _permission(s, name),
            "moves": any(st["action"].startswith("transition") for st in stages),
            "stage_requests": any(st["action"].startswith("request") for st in stages), "request": may_request and bool(approval_aliases),
            "approval_aliases": approval_aliases, "any": edit or bool(stages)}
