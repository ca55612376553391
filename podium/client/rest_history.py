"""Audit history, state at a time and rollback over Podium's own REST API (``/api/podium/v1/``).

``RestHistory`` has the methods of :class:`~podium.services.history.HistoryService`, so
:class:`~podium.client.client.PodiumClient` reads history and rolls back the same way against a
server and against an embedded store. An MLflow server (or an older Podium) has no such API: the
calls fail with ``ENDPOINT_NOT_FOUND``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from podium.client.http import HttpSession
from podium.domain.entities import PagedList
from podium.domain.events import RegistryEvent

__all__ = ["PODIUM_API", "RestHistory", "event_from_dict"]

PODIUM_API = "/api/podium/v1"
_FIELDS = frozenset(f.name for f in fields(RegistryEvent))


def event_from_dict(d: dict[str, Any]) -> RegistryEvent:
    """The entity of one event as the server sends it (fields it does not know are ignored)."""
    return RegistryEvent(**{k: v for k, v in d.items() if k in _FIELDS})


class RestHistory:
    def __init__(self, session: HttpSession) -> None:
        self.http = session

    def get_model_history(self, name, version=None, max_results=None, page_token=None,
                          newest_first: bool = False, actions=None, actor=None) -> PagedList:
        body = self.http.call("GET", "registered-models/history", {
            "name": name, "version": None if version is None else str(version),
            "max_results": max_results, "page_token": page_token, "newest_first": bool(newest_first),
            "action": [actions] if isinstance(actions, str) else (list(actions) if actions else None),
            "actor": actor}, prefix=PODIUM_API)
        return PagedList([event_from_dict(e) for e in body.get("events", [])], body.get("next_page_token"))

    def get_model_state_at(self, name, time) -> dict[str, Any]:
        body = self.http.call("GET", "registered-models/at", {"name": name, "time": str(time)}, prefix=PODIUM_API)
        return body["state"]

    def rollback_model(self, name, stage=None, alias=None, reason=None) -> dict[str, Any]:
        payload = {"name": name, "reason": reason}
        if stage is not None:
            payload["stage"] = stage
        if alias is not None:
            payload["alias"] = alias
        body = self.http.call("POST", "registered-models/rollback", payload, prefix=PODIUM_API)
        return body["rollback"]

    def record_serving_event(self, name, version, action, scorer, model_uri=None, serving_version=None,
                             reason=None) -> RegistryEvent:
        payload = {"name": name, "version": str(version), "action": action, "scorer": scorer}
        for key, value in (("model_uri", model_uri), ("serving_version", serving_version), ("reason", reason)):
            if value is not None:
                payload[key] = str(value)
        body = self.http.call("POST", "model-versions/serving-events", payload, prefix=PODIUM_API)
        return event_from_dict(body["event"])
