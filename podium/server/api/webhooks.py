"""Webhooks: MLflow's API under ``/api/2.0/mlflow/webhooks`` and Podium's delivery log.

===========================================================  ======================================
``POST   /api/2.0/mlflow/webhooks``                          create (``name``, ``url``, ``events``,
                                                             ``description``, ``secret``, ``status``;
                                                             Podium: ``standard_webhooks``)
``GET    /api/2.0/mlflow/webhooks``                          list, newest first (``max_results``,
                                                             ``page_token``)
``GET    /api/2.0/mlflow/webhooks/{webhook_id}``             one webhook
``PATCH  /api/2.0/mlflow/webhooks/{webhook_id}``             change the fields given
``DELETE /api/2.0/mlflow/webhooks/{webhook_id}``             delete (and its deliveries)
``POST   /api/2.0/mlflow/webhooks/{webhook_id}/test``        send an example event now
``GET    /api/podium/v1/webhooks/{webhook_id}/deliveries``   the delivery log, newest first
``GET    /api/podium/v1/webhook-deliveries/{delivery_id}``   one delivery, with its body
``POST   /api/podium/v1/webhook-deliveries/{delivery_id}/redeliver``  send it again (same id)
===========================================================  ======================================

Answers are MLflow's; a webhook also carries ``podium_events`` (events MLflow's client cannot parse,
so they are not in ``events``), ``has_secret`` and ``standard_webhooks``. The secret is never
returned. With ``--auth`` every route here is for admins (:mod:`podium.server.permissions`).
"""

from __future__ import annotations

from podium.server.routing import API2, Param, Router, obj_list

__all__ = ["routes"]

PODIUM_API = "/api/podium/v1"

routes = Router("Webhooks")

_STR, _INT, _BOOL = {"type": "string"}, {"type": "integer", "format": "int64"}, {"type": "boolean"}
_EVENT = {"type": "object", "properties": {"entity": _STR, "action": _STR}}
_WEBHOOK = {"type": "object", "required": ["webhook_id", "name", "url", "events", "status"], "properties": {
    "webhook_id": _STR, "name": _STR, "description": _STR, "url": _STR,
    "events": {"type": "array", "items": _EVENT}, "podium_events": {"type": "array", "items": _EVENT},
    "status": {"type": "string", "enum": ["ACTIVE", "DISABLED"]}, "creation_timestamp": _INT,
    "last_updated_timestamp": _INT, "has_secret": _BOOL, "standard_webhooks": _BOOL}}
_ONE = {"type": "object", "required": ["webhook"], "properties": {"webhook": _WEBHOOK}}
_INT_OR_NULL, _STR_OR_NULL = {"type": ["integer", "null"], "format": "int64"}, {"type": ["string", "null"]}
_DELIVERY = {"type": "object", "required": ["delivery_id", "webhook_id", "event", "status"], "properties": {
    "delivery_id": _STR, "webhook_id": _STR, "event": _STR, "created_at": _INT,
    "status": {"type": "string", "enum": ["pending", "succeeded", "failed", "cancelled"]}, "attempts": _INT,
    "next_attempt_at": _INT_OR_NULL, "last_attempt_at": _INT_OR_NULL, "response_status": _INT_OR_NULL,
    "last_error": _STR_OR_NULL, "latency_ms": _INT_OR_NULL, "payload": {"type": "object"}}}

WEBHOOK_ID = Param("webhook_id", required=True, description="the webhook's id (a UUID)")
DELIVERY_ID = Param("delivery_id", required=True, description="the delivery's id (X-MLflow-Delivery-Id)")
EVENTS = obj_list("events", Param("entity", required=True), Param("action", required=True),
                  description="events to deliver, e.g. {entity: MODEL_VERSION, action: CREATED}")
DESCRIPTION = Param("description", description="what the webhook is for")
SECRET = Param("secret", description="HMAC key for X-MLflow-Signature (stored encrypted, never returned)")
STATUS = Param("status", description="ACTIVE or DISABLED")
STANDARD = Param("standard_webhooks", "boolean", description="Podium: also send Standard Webhooks headers")


@routes.post(f"{API2}/webhooks", Param("name", required=True, description="1-63 letters, digits, . _ -"),
             Param("url", required=True, description="where to POST events"), EVENTS, DESCRIPTION, SECRET, STATUS,
             STANDARD, response=_ONE)
def create_webhook(s, p):
    """Create a webhook (MLflow's API)."""
    return {"webhook": s.webhooks.create_webhook(p["name"], p["url"], p["events"], p["description"], p["secret"],
                                                 p["status"], p["standard_webhooks"]).to_dict()}


@routes.get(f"{API2}/webhooks", Param("max_results", "integer", description="at most 1000 (default 100)"),
            Param("page_token", description="from the previous page"),
            response={"type": "object", "properties": {"webhooks": {"type": "array", "items": _WEBHOOK},
                                                       "next_page_token": _STR}})
def list_webhooks(s, p):
    """List webhooks, newest first."""
    page = s.webhooks.list_webhooks(p["max_results"], p["page_token"])
    out: dict = {"webhooks": [w.to_dict() for w in page]}
    if page.token:
        out["next_page_token"] = page.token
    return out


@routes.get(f"{API2}/webhooks/{{webhook_id}}", WEBHOOK_ID, response=_ONE)
def get_webhook(s, p):
    """One webhook."""
    return {"webhook": s.webhooks.get_webhook(p["webhook_id"]).to_dict()}


@routes.patch(f"{API2}/webhooks/{{webhook_id}}", WEBHOOK_ID, Param("name"), Param("url"), EVENTS, DESCRIPTION,
              SECRET, STATUS, STANDARD, response=_ONE)
def update_webhook(s, p):
    """Change the fields given (disabling stops its pending deliveries at once)."""
    return {"webhook": s.webhooks.update_webhook(p["webhook_id"], p["name"], p["description"], p["url"],
                                                 p["events"], p["secret"], p["status"],
                                                 p["standard_webhooks"]).to_dict()}


@routes.delete(f"{API2}/webhooks/{{webhook_id}}", WEBHOOK_ID)
def delete_webhook(s, p):
    """Delete a webhook and its deliveries."""
    s.webhooks.delete_webhook(p["webhook_id"])
    return {}


@routes.post(f"{API2}/webhooks/{{webhook_id}}/test", WEBHOOK_ID,
             Param("event", "object", description="{entity, action}; default: the webhook's first event"),
             response={"type": "object", "properties": {"result": {"type": "object", "properties": {
                 "success": _BOOL, "response_status": _INT, "response_body": _STR, "error_message": _STR_OR_NULL}}}})
def test_webhook(s, p):
    """Send an example event to the webhook now and report the answer."""
    return {"result": s.webhooks.test_webhook(p["webhook_id"], p["event"])}


@routes.get(f"{PODIUM_API}/webhooks/{{webhook_id}}/deliveries", WEBHOOK_ID,
            Param("status", description="pending, succeeded, failed or cancelled (default: all)"),
            Param("max_results", "integer", description="at most 1000 (default 100)"),
            Param("page_token", description="from the previous page"),
            response={"type": "object", "properties": {"deliveries": {"type": "array", "items": _DELIVERY},
                                                       "next_page_token": _STR}})
def list_webhook_deliveries(s, p):
    """A webhook's deliveries, newest first: status, attempts, response code, latency, next retry."""
    page = s.webhooks.list_deliveries(p["webhook_id"], p["status"], p["max_results"], p["page_token"])
    out: dict = {"deliveries": [d.to_dict() for d in page]}
    if page.token:
        out["next_page_token"] = page.token
    return out


@routes.get(f"{PODIUM_API}/webhook-deliveries/{{delivery_id}}", DELIVERY_ID,
            response={"type": "object", "properties": {"delivery": _DELIVERY}})
def get_webhook_delivery(s, p):
    """One delivery, with the body it sends."""
    return {"delivery": s.webhooks.get_delivery(p["delivery_id"]).to_dict(with_payload=True)}


@routes.post(f"{PODIUM_API}/webhook-deliveries/{{delivery_id}}/redeliver", DELIVERY_ID,
             response={"type": "object", "properties": {"delivery": _DELIVERY}})
def redeliver_webhook_delivery(s, p):
    """Send a delivery again now, with the same id and body."""
    return {"delivery": s.webhooks.redeliver(p["delivery_id"]).to_dict()}
