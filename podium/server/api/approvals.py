"""Podium's own API for approval requests, under ``/api/podium/v1/requests``.

==================================================================  ==================================
``POST /api/podium/v1/requests``  ``{name, version, stage|alias,    request a protected move (edit on
comment}``                                                          the model; gates checked now)
``GET  /api/podium/v1/requests?name=&status=``                      a model's requests, newest first
                                                                    (read)
``GET  /api/podium/v1/requests/{request_id}``                       one request (read on its model)
``POST /api/podium/v1/requests/{request_id}/approve`` ``{comment}`` approve (the policy's approvers,
                                                                    never the requester); the last
                                                                    approval applies the move
``POST /api/podium/v1/requests/{request_id}/reject``  ``{comment}`` reject (an approver) or cancel
                                                                    (the requester)
==================================================================  ==================================

Who may approve or reject depends on the request's model and requester, so
:mod:`podium.server.permissions` admits any authenticated caller to those routes and the
:class:`~podium.services.approvals.ApprovalService` decides (403 ``PERMISSION_DENIED``). A request
that is no longer pending, or whose gates fail, is ``INVALID_STATE`` (400). See docs/governance.md.
"""

from __future__ import annotations

from podium.server.routing import Param, Router

__all__ = ["routes"]

PODIUM_API = "/api/podium/v1"

routes = Router("Podium: approvals")

_STR, _INT = {"type": "string"}, {"type": "integer", "format": "int64"}
_APPROVAL = {"type": "object", "properties": {"approver": _STR, "created_at": _INT, "comment": _STR}}
_GATE_RESULT = {"type": "object", "properties": {"gate": _STR, "passed": {"type": "boolean"}, "detail": _STR}}
_REQUEST = {"type": "object", "required": ["id", "name", "version", "target_kind", "target", "status"], "properties": {
    "id": _INT, "name": _STR, "version": _INT, "target_kind": {"type": "string", "enum": ["stage", "alias"]},
    "target": _STR, "status": {"type": "string", "enum": ["pending", "applied", "rejected", "cancelled"]},
    "requester": _STR, "comment": _STR, "created_at": _INT, "decided_at": _INT, "decided_by": _STR,
    "decision_comment": _STR, "approvals": {"type": "array", "items": _APPROVAL}, "required_approvals": _INT,
    "gate_results": {"type": "array", "items": _GATE_RESULT}}}
_ONE = {"type": "object", "required": ["request"], "properties": {"request": _REQUEST}}
REQUEST_ID = Param("request_id", required=True, description="the request's id (a number)")
COMMENT = Param("comment", description="why (recorded in the audit history)")


@routes.post(f"{PODIUM_API}/requests", Param("name", required=True, description="registered model name"),
             Param("version", required=True, description="version number, as a string"),
             Param("stage", description="the stage to move the version into (give stage or alias)"),
             Param("alias", description="the alias to point at the version (give stage or alias)"),
             COMMENT, response=_ONE)
def create_model_version_request(s, p):
    """Request a protected move of a version: into a stage, or onto an alias (policy gates are checked now)."""
    return {"request": s.approvals.request_model_version(p["name"], p["version"], p["stage"], p["alias"],
                                                         p["comment"]).to_dict()}


@routes.get(f"{PODIUM_API}/requests", Param("name", required=True, description="registered model name"),
            Param("status", description="pending, applied, rejected or cancelled (default: all)"),
            response={"type": "object", "properties": {"requests": {"type": "array", "items": _REQUEST}}})
def list_model_version_requests(s, p):
    """A model's approval requests, newest first."""
    return {"requests": [r.to_dict() for r in s.approvals.list_requests(p["name"], p["status"])]}


@routes.get(f"{PODIUM_API}/requests/{{request_id}}", REQUEST_ID, response=_ONE)
def get_model_version_request(s, p):
    """One approval request, with its approvals."""
    return {"request": s.approvals.get_request(p["request_id"]).to_dict()}


@routes.post(f"{PODIUM_API}/requests/{{request_id}}/approve", REQUEST_ID, COMMENT, response=_ONE)
def approve_model_version_request(s, p):
    """Approve a pending request; the last required approval applies the move atomically."""
    return {"request": s.approvals.approve_request(p["request_id"], p["comment"]).to_dict()}


@routes.post(f"{PODIUM_API}/requests/{{request_id}}/reject", REQUEST_ID, COMMENT, response=_ONE)
def reject_model_version_request(s, p):
    """Reject a pending request (an approver), or cancel it (its requester)."""
    return {"request": s.approvals.reject_request(p["request_id"], p["comment"]).to_dict()}
