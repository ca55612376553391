"""Webhooks: which registry events a webhook can subscribe to, and what it receives (stdlib only).

A delivery's body is MLflow's envelope, byte for byte the way MLflow 3 writes it (``json.dumps``
with its default separators)::

    {"entity": "model_version", "action": "created", "timestamp": "2026-12-07T02:54:40.169728+00:00",
     "data": {"name": "m", "version": "1", "source": "...", "run_id": null, "tags": {}, "description": null}}

:func:`deliveries_for` turns one audit-history event (:mod:`podium.domain.events`, recorded by the
store in the transaction of the change) into the webhook events it causes, with their envelopes.
MLflow's six registry events carry exactly MLflow's ``data`` fields; Podium's own events
(:data:`PODIUM_EVENTS`) cover what MLflow does not announce. The wire form of an event in the REST
API is MLflow's ``{"entity": "MODEL_VERSION", "action": "CREATED"}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from podium.errors import InvalidParameterValue

__all__ = [
    "ALL_EVENTS",
    "DeliveryOutcome",
    "PendingDelivery",
    "Webhook",
    "WebhookDelivery",
    "MLFLOW_EVENTS",
    "PODIUM_EVENTS",
    "STATUSES",
    "deliveries_for",
    "envelope",
    "example_data",
    "parse_events",
    "validate_webhook_name",
    "wire_event",
]

#: the registry events MLflow 3 delivers (its prompt and budget events do not exist in Podium)
MLFLOW_EVENTS = (
    "registered_model.created",
    "model_version.created",
    "model_version_tag.set",
    "model_version_tag.deleted",
    "model_version_alias.created",
    "model_version_alias.deleted",
)
#: events MLflow lacks (the mlflow client cannot subscribe to them; Podium's CLI and REST can)
PODIUM_EVENTS = (
    "registered_model.deleted",
    "model_version.deleted",
    "model_version_stage.transitioned",
    "model_version_alias.moved",
    "approval_request.created",
    "approval_request.approved",
    "approval_request.applied",
    "approval_request.rejected",
    "approval_request.cancelled",
    "registered_model.rolled_back",
)
ALL_EVENTS = MLFLOW_EVENTS + PODIUM_EVENTS
STATUSES = ("ACTIVE", "DISABLED")



@dataclass(frozen=True)
class Webhook:
    """One subscription. ``secret`` is the encrypted secret (internal: never serialized); ``has_secret``
    is what callers see."""

    webhook_id: str
    name: str
    url: str
    events: tuple[str, ...]
    status: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    standard_webhooks: bool = False
    created_by: str | None = None
    secret: str | None = None

    @property
    def has_secret(self) -> bool:
        return bool(self.secret)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Webhook":
        events = [f"{e['entity'].lower()}.{e['action'].lower()}" for e in
                  list(d.get("events") or []) + list(d.get("podium_events") or [])]
        return cls(webhook_id=d["webhook_id"], name=d["name"], url=d["url"], events=tuple(events),
                   status=d.get("status", "ACTIVE"), creation_timestamp=int(d.get("creation_timestamp") or 0),
                   last_updated_timestamp=int(d.get("last_updated_timestamp") or 0), description=d.get("description"),
                   standard_webhooks=bool(d.get("standard_webhooks")), secret="set" if d.get("has_secret") else None)

    def to_dict(self, *, mlflow_only: bool = False) -> dict[str, Any]:
        """The REST shape. MLflow's ``events`` holds only MLflow's events (the mlflow client cannot
        parse others); Podium's are in ``podium_events``. The secret is never included."""
        out: dict[str, Any] = {
            "webhook_id": self.webhook_id, "name": self.name, "url": self.url,
            "events": [wire_event(e) for e in self.events if e in MLFLOW_EVENTS],
            "status": self.status, "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
        }
        if self.description is not None:
            out["description"] = self.description
        if not mlflow_only:
            podium = [wire_event(e) for e in self.events if e not in MLFLOW_EVENTS]
            if podium:
                out["podium_events"] = podium
            out["has_secret"] = self.has_secret
            out["standard_webhooks"] = self.standard_webhooks
        return out


@dataclass(frozen=True)
class WebhookDelivery:
    """One outbox row: an event for one webhook and where its delivery stands."""

    delivery_id: str
    webhook_id: str
    event: str
    payload: str
    created_at: int
    status: str  # pending, succeeded, failed, cancelled
    attempts: int = 0
    next_attempt_at: int | None = None
    last_attempt_at: int | None = None
    response_status: int | None = None
    last_error: str | None = None
    latency_ms: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "WebhookDelivery":
        payload = d.get("payload")
        return cls(**{k: d.get(k) for k in ("delivery_id", "webhook_id", "event", "created_at", "status",
                                             "next_attempt_at", "last_attempt_at", "response_status",
                                             "last_error", "latency_ms")},
                   attempts=int(d.get("attempts") or 0), payload=json.dumps(payload) if payload is not None else "")

    def to_dict(self, *, with_payload: bool = False) -> dict[str, Any]:
        out = {"delivery_id": self.delivery_id, "webhook_id": self.webhook_id, "event": self.event,
               "created_at": self.created_at, "status": self.status, "attempts": self.attempts,
               "next_attempt_at": self.next_attempt_at, "last_attempt_at": self.last_attempt_at,
               "response_status": self.response_status, "last_error": self.last_error,
               "latency_ms": self.latency_ms}
        if with_payload:
            out["payload"] = json.loads(self.payload)
        return out


@dataclass(frozen=True)
class PendingDelivery:
    """A delivery claimed by a worker, with what sending it needs."""

    id: int
    delivery_id: str
    webhook_id: str
    event: str
    payload: str
    created_at: int
    attempts: int
    url: str
    secret: str | None
    standard_webhooks: bool


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one attempt did. ``status``: ``succeeded``, ``pending`` (retry at ``next_attempt_at``) or
    ``failed`` (given up); ``disable_webhook``: the endpoint answered 410 Gone."""

    status: str
    attempted_at: int
    next_attempt_at: int | None = None
    response_status: int | None = None
    error: str | None = None
    latency_ms: int | None = None
    disable_webhook: bool = False


_NAME = re.compile(r"^(?=.{1,63}$)[a-z0-9]([a-z0-9._-]*[a-z0-9])?$", re.IGNORECASE)


def validate_webhook_name(name: Any) -> str:
    """MLflow's rule: 1-63 letters, digits, ``.``, ``_``, ``-``, starting and ending with a letter or digit."""
    if name is None or name == "":
        raise InvalidParameterValue("Missing value for required parameter 'name'. See the API docs for more "
                                    "information about request parameters.")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidParameterValue(
            f"Webhook name {name!r} is invalid. It must start and end with a letter or digit, be less than 63 "
            "characters long, and contain only letters, digits, dots (.), underscores (_), and hyphens (-).")
    return name


def wire_event(event: str) -> dict[str, str]:
    """``"model_version.created"`` -> ``{"entity": "MODEL_VERSION", "action": "CREATED"}``."""
    entity, action = event.split(".")
    return {"entity": entity.upper(), "action": action.upper()}


def _event_of(item: Any) -> str:
    if isinstance(item, str):
        event = item.lower()
    elif isinstance(item, dict) and isinstance(item.get("entity"), str) and isinstance(item.get("action"), str):
        event = f"{item['entity'].lower()}.{item['action'].lower()}"
    else:
        raise InvalidParameterValue(f"Invalid webhook event {item!r}: expected {{\"entity\": ..., \"action\": ...}} "
                                    "or a string such as 'model_version.created'.")
    if event not in ALL_EVENTS:
        raise InvalidParameterValue(f"Invalid webhook event '{event}'. Valid events are: {', '.join(ALL_EVENTS)}.")
    return event


def parse_events(items: Any) -> tuple[str, ...]:
    """A non-empty list of events (wire objects or ``entity.action`` strings), deduplicated, sorted by
    entity then action (MLflow's order: the first is what ``test`` sends by default)."""
    if not isinstance(items, (list, tuple)) or not items:
        raise InvalidParameterValue(f"Webhook events must be a non-empty list of events: {items}.")
    return tuple(sorted({_event_of(item) for item in items}, key=lambda e: tuple(e.split("."))))


def envelope(event: str, timestamp_ms: int, data: dict[str, Any]) -> str:
    """The JSON body of a delivery (MLflow's envelope and serialization)."""
    entity, action = event.split(".")
    when = datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc).isoformat()
    return json.dumps({"entity": entity, "action": action, "timestamp": when, "data": data})


def _str(version) -> str | None:
    return None if version is None else str(version)


def deliveries_for(action: str, model_name: str, fields: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The webhook events ``(event, data)`` that one recorded registry event causes (often none).

    ``fields`` are the event's (``version``, ``target``, ``before``, ``after``, ``request_id``, ...)
    plus ``webhook``: extra data the store passes for webhooks only (a new version's tags and description).
    """
    version, target = fields.get("version"), fields.get("target")
    before, after = fields.get("before") or {}, fields.get("after") or {}
    extra = fields.get("webhook") or {}
    name = model_name
    if action == "model_created":
        return [("registered_model.created", {"name": name, "tags": after.get("tags") or {},
                                              "description": after.get("description") or ""})]
    if action == "model_deleted":
        return [("registered_model.deleted", {"name": name})]
    if action == "version_created":
        return [("model_version.created", {
            "name": name, "version": _str(version), "source": after.get("source"), "run_id": after.get("run_id"),
            "tags": extra.get("tags") or {}, "description": extra.get("description")})]
    if action == "version_deleted":
        return [("model_version.deleted", {"name": name, "version": _str(version)})]
    if action == "version_tag_set":
        return [("model_version_tag.set", {"name": name, "version": _str(version), "key": target,
                                           "value": after.get("value")})]
    if action == "version_tag_deleted":
        return [("model_version_tag.deleted", {"name": name, "version": _str(version), "key": target})]
    if action == "alias_set":
        out = [("model_version_alias.created", {"name": name, "alias": target, "version": _str(version)})]
        if before.get("version") is not None:
            out.append(("model_version_alias.moved", {"name": name, "alias": target, "version": _str(version),
                                                      "previous_version": _str(before["version"])}))
        return out
    if action == "alias_deleted":
        return [("model_version_alias.deleted", {"name": name, "alias": target})]
    if action == "stage_transitioned":
        return [("model_version_stage.transitioned", {
            "name": name, "version": _str(version), "from_stage": before.get("stage"), "to_stage": after.get("stage"),
            "cause": fields.get("cause")})]
    if action.startswith("request_"):
        state = action[len("request_"):]
        return [(f"approval_request.{state}", {
            "name": name, "version": _str(version), "target": target, "request_id": _str(fields.get("request_id")),
            "comment": fields.get("comment")})]
    if action == "rollback":
        return [("registered_model.rolled_back", {
            "name": name, after.get("kind", "stage"): target, "version": _str(version),
            "previous_version": _str(before.get("version")), "reason": fields.get("comment")})]
    return []


_EXAMPLES: dict[str, dict[str, Any]] = {
    "registered_model.created": {"name": "example_model", "tags": {"example_key": "example_value"},
                                 "description": "An example registered model"},
    "model_version.created": {"name": "example_model", "version": "1", "source": "models:/123",
                              "run_id": "abcd1234abcd5678", "tags": {"example_key": "example_value"},
                              "description": "An example model version"},
    "model_version_tag.set": {"name": "example_model", "version": "1", "key": "example_key",
                              "value": "example_value"},
    "model_version_tag.deleted": {"name": "example_model", "version": "1", "key": "example_key"},
    "model_version_alias.created": {"name": "example_model", "alias": "champion", "version": "1"},
    "model_version_alias.deleted": {"name": "example_model", "alias": "champion"},
    "registered_model.deleted": {"name": "example_model"},
    "model_version.deleted": {"name": "example_model", "version": "1"},
    "model_version_stage.transitioned": {"name": "example_model", "version": "1", "from_stage": "Staging",
                                         "to_stage": "Production", "cause": None},
    "model_version_alias.moved": {"name": "example_model", "alias": "champion", "version": "2",
                                  "previous_version": "1"},
    "registered_model.rolled_back": {"name": "example_model", "alias": "champion", "version": "1",
                                     "previous_version": "2", "reason": "An example rollback"},
}


def example_data(event: str) -> dict[str, Any]:
    """The ``data`` of a test delivery (``POST .../webhooks/{id}/test``) for ``event``."""
    if event.startswith("approval_request."):
        return {"name": "example_model", "version": "1", "target": "Production", "request_id": "1",
                "comment": "An example request"}
    return dict(_EXAMPLES[event])
