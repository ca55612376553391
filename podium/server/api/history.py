"""Podium's own API for audit history and rollback, under ``/api/podium/v1/registered-models/``.

=====================================================================  =================================
``GET  /api/podium/v1/registered-models/history?name=&version=``       a model's events, oldest first
       ``&max_results=&page_token=&newest_first=&action=&actor=``      (paged by event id)
``GET  /api/podium/v1/registered-models/at?name=&time=``               each stage's and alias's version
                                                                       at ``time`` (ISO 8601 or epoch ms)
``POST /api/podium/v1/registered-models/rollback``                     give a stage or alias back to its
       ``{name, stage | alias, reason}``                               previous holder, in one step
``POST /api/podium/v1/model-versions/serving-events``                  a scorer swapped to a version, or
       ``{name, version, action, scorer, model_uri?, serving_version?,  refused it (``podium serve``)
       reason?}``
=====================================================================  =================================

History and ``at`` need ``read`` on the model; rollback needs what moving the stage or alias needs,
a serving event what changing the model does (``edit``),
and only an admin may roll back a target whose policy requires approval
(:mod:`podium.server.permissions`). There is no route that changes or deletes an event. See
docs/governance.md, "Audit history" and "Rollback".
"""

from __future__ import annotations

from podium.server.routing import Param, Router

__all__ = ["routes"]

PODIUM_API = "/api/podium/v1"

routes = Router("Podium: audit history and rollback")

NAME = Param("name", required=True, description="registered model name (a deleted model: its last name)")

_STR, _INT = {"type": "string"}, {"type": "integer", "format": "int64"}
_OBJ = {"type": ["object", "null"]}
_EVENT = {"type": "object", "required": ["id", "timestamp", "action", "model_name"], "properties": {
    "id": _INT, "timestamp": _INT, "action": _STR, "model_name": _STR, "actor": _STR, "actor_via": _STR,
    "version": _INT, "target": _STR, "before": _OBJ, "after": _OBJ, "comment": _STR, "cause": _STR,
    "request_id": _INT}}
_STAGE = {"type": "object", "properties": {"version": _INT, "versions": {"type": "array", "items": _INT}}}
_STATE = {"type": "object", "required": ["name", "time", "exists", "complete", "stages", "aliases"], "properties": {
    "name": _STR, "time": _INT, "exists": {"type": "boolean"}, "complete": {"type": "boolean"},
    "event_id": {"type": ["integer", "null"]}, "note": _STR,
    "stages": {"type": "object", "additionalProperties": _STAGE},
    "aliases": {"type": "object", "additionalProperties": _INT}}}
_ROLLBACK = {"type": "object", "properties": {
    "name": _STR, "stage": _STR, "alias": _STR, "from_version": {"type": ["integer", "null"]},
    "to_version": _INT, "event_id": _INT, "timestamp": _INT}}


@routes.get(f"{PODIUM_API}/registered-models/history", NAME,
            Param("version", description="only events about this version"),
            Param("max_results", "integer", maximum=1000, description="events per page (default 100, at most 1000)"),
            Param("page_token", description="next_page_token of the previous page"),
            Param("newest_first", "boolean", description="newest event first (default: oldest first)"),
            Param("action", "array", items="string",
                  description="only events with one of these actions (model_created, stage_transitioned, ...)"),
            Param("actor", description="only events made by this user"),
            response={"type": "object", "properties": {"events": {"type": "array", "items": _EVENT},
                                                       "next_page_token": _STR}})
def get_model_history(s, p):
    """A registered model's audit history: every change, who made it, when, before and after."""
    page = s.history.get_model_history(p["name"], p.get("version"), p.get("max_results"), p.get("page_token"),
                                       bool(p.get("newest_first")), p.get("action") or None, p.get("actor"))
    out: dict = {"events": [e.to_dict() for e in page]}
    if page.token:
        out["next_page_token"] = page.token
    return out


@routes.get(f"{PODIUM_API}/registered-models/at", NAME,
            Param("time", required=True, description="ISO 8601 time (no offset: UTC) or epoch milliseconds"),
            response={"type": "object", "properties": {"state": _STATE}})
def get_model_state_at(s, p):
    """Where each stage and alias of a registered model pointed at a past time, replayed from its history."""
    return {"state": s.history.get_model_state_at(p["name"], p["time"])}


@routes.post(f"{PODIUM_API}/registered-models/rollback", NAME,
             Param("stage", description="Staging or Production (give stage or alias)"),
             Param("alias", description="an alias (give stage or alias)"),
             Param("reason", required=True, description="why: recorded as the rollback event's comment"),
             response={"type": "object", "properties": {"rollback": _ROLLBACK}})
def rollback_model(s, p):
    """Give a stage or alias back to the version that held it before, atomically, recorded with a reason."""
    return {"rollback": s.history.rollback_model(p["name"], p.get("stage"), p.get("alias"), p.get("reason"))}


@routes.post(f"{PODIUM_API}/model-versions/serving-events", NAME,
             Param("version", required=True, description="the version swapped to, or refused"),
             Param("action", required=True, description="serving.swapped: now serving it; serving.swap_failed: refused it"),
             Param("scorer", required=True, description="which scorer (host:port and process)"),
             Param("model_uri", description="the models:/ URI the scorer follows"),
             Param("serving_version", description="the version served before the swap (or still, after a refusal)"),
             Param("reason", description="why the version was refused (required for serving.swap_failed)"),
             response={"type": "object", "properties": {"event": _EVENT}})
def record_serving_event(s, p):
    """Record in a model's history that a scorer swapped to a version, or refused one that failed to load."""
    event = s.history.record_serving_event(p["name"], p["version"], p["action"], p["scorer"], p.get("model_uri"),
                                           p.get("serving_version"), p.get("reason"))
    return {"event": event.to_dict()}
