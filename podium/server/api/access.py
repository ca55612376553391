"""Podium's own API for model access, under ``/api/podium/v1/``: who am I, grants, policies.

==========================================================  ======================================
``GET    /api/podium/v1/whoami``                            the caller: name, admin, groups
``GET    /api/podium/v1/registered-models/grants?name=``    a model's grants (manage)
``POST   /api/podium/v1/registered-models/grants``          grant ``permission`` to ``user`` or
                                                            ``group`` (replaces theirs; manage)
``DELETE /api/podium/v1/registered-models/grants``          remove a user's or group's grant (manage)
``GET    /api/podium/v1/registered-models/policy?name=``    protected stages and aliases (read)
``POST   /api/podium/v1/registered-models/policy``          replace the policy (manage; admin when the
                                                            current one requires admin or approval);
                                                            with approval: required_approvals,
                                                            approvers, gates
==========================================================  ======================================

Grants and policies are stored with or without ``--auth`` and enforced only with it. Who may call
what is decided in :mod:`podium.server.permissions`, like every other route.
"""

from __future__ import annotations

from podium.server.api.common import EMPTY
from podium.server.routing import Param, Router

__all__ = ["PODIUM_API", "routes"]

PODIUM_API = "/api/podium/v1"

routes = Router("Podium: access")

NAME = Param("name", required=True, description="registered model name")
_STR = {"type": "string"}
_STRS = {"type": "array", "items": _STR}
_GRANT = {"type": "object", "required": ["name", "principal_type", "principal", "permission"], "properties": {
    "name": _STR, "principal_type": {"type": "string", "enum": ["user", "group"]}, "principal": _STR,
    "permission": {"type": "string", "enum": ["read", "edit", "manage"]}}}
_POLICY = {"type": "object", "required": ["name", "protected_stages", "protected_aliases", "require_role",
                                          "requires_approval"], "properties": {
    "name": _STR, "protected_stages": _STRS, "protected_aliases": _STRS,
    "require_role": {"type": "string", "enum": ["manage", "admin"]}, "requires_approval": {"type": "boolean"},
    "required_approvals": {"type": "integer", "format": "int64"}, "approvers": _STRS, "gates": _STRS}}
_WHO = {"type": "object", "properties": {
    "auth": {"type": "boolean"}, "default_role": _STR,
    "user": {"type": ["object", "null"], "properties": {"name": _STR, "is_admin": {"type": "boolean"},
                                                        "via": _STR, "groups": _STRS}}}}
_PRINCIPAL = (Param("user", description="a user name (give user or group)"),
              Param("group", description="a group name (give user or group)"))


@routes.get(f"{PODIUM_API}/whoami", response=_WHO)
def whoami(s, p):
    """The caller's identity: user name, admin or not, groups (user is null without --auth)."""
    return {"auth": s.gate is not None, "default_role": s.settings.default_role, "user": s.access.whoami()}


@routes.get(f"{PODIUM_API}/registered-models/grants", NAME,
            response={"type": "object", "properties": {"grants": {"type": "array", "items": _GRANT}}})
def get_model_grants(s, p):
    """A registered model's grants: users and groups with read, edit or manage."""
    return {"grants": [g.to_dict() for g in s.access.get_model_grants(p["name"])]}


@routes.post(f"{PODIUM_API}/registered-models/grants", NAME, *_PRINCIPAL,
             Param("permission", required=True, description="read, edit or manage"),
             response={"type": "object", "required": ["grant"], "properties": {"grant": _GRANT}})
def set_model_grant(s, p):
    """Grant a user or a group read, edit or manage on a model (replaces their previous grant)."""
    return {"grant": s.access.set_model_grant(p["name"], p["permission"], p["user"], p["group"]).to_dict()}


@routes.delete(f"{PODIUM_API}/registered-models/grants", NAME, *_PRINCIPAL, response=EMPTY)
def delete_model_grant(s, p):
    """Remove a user's or group's grant on a model (a missing grant is not an error)."""
    s.access.delete_model_grant(p["name"], p["user"], p["group"])
    return {}


@routes.get(f"{PODIUM_API}/registered-models/policy", NAME,
            response={"type": "object", "required": ["policy"], "properties": {"policy": _POLICY}})
def get_model_policy(s, p):
    """A model's protected stages and aliases, who may move them, and whether moves need approval."""
    return {"policy": s.access.get_model_policy(p["name"]).to_dict()}


@routes.post(
    f"{PODIUM_API}/registered-models/policy",
    NAME,
    Param("protected_stages", "array", items="string", description="e.g. [\"Production\"]"),
    Param("protected_aliases", "array", items="string", description="e.g. [\"champion\"]"),
    Param("require_role", description="who may move protected targets: manage (default) or admin"),
    Param("requires_approval", "boolean", description="moves only through an approved request"),
    Param("required_approvals", "integer", description="approvals a request needs (default 1)"),
    Param("approvers", "array", items="string",
          description="who may approve: user:NAME, group:NAME, role:manage, role:admin (default role:manage)"),
    Param("gates", "array", items="string",
          description="checks a request must pass, e.g. \"metrics.accuracy >= 0.9\", \"metrics.rmse <= current\", "
                      "\"signature\""),
    response={"type": "object", "required": ["policy"], "properties": {"policy": _POLICY}},
)
def set_model_policy(s, p):
    """Replace a model's policy (protected stages and aliases, required role, approval, approvers, gates)."""
    policy = s.access.set_model_policy(p["name"], p["protected_stages"] or (), p["protected_aliases"] or (),
                                       p["require_role"], bool(p["requires_approval"]), p["required_approvals"],
                                       p["approvers"] or (), p["gates"] or ())
    return {"policy": policy.to_dict()}
