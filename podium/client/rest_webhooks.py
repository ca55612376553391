"""Webhooks over the REST API: MLflow's ``/api/2.0/mlflow/webhooks`` and Podium's delivery log
(``/api/podium/v1/webhooks/{id}/deliveries``, ``/api/podium/v1/webhook-deliveries/{id}[/redeliver]``).

``RestWebhooks`` has the methods of :class:`~podium.services.webhooks.WebhookService`, so
``podium webhooks`` works the same against a server and against an embedded store.
"""

from __future__ import annotations

from urllib.parse import quote

from podium.client.http import HttpSession
from podium.domain.entities import PagedList
from podium.domain.webhooks import Webhook, WebhookDelivery, parse_events, wire_event

__all__ = ["RestWebhooks"]

PODIUM_API = "/api/podium/v1"


def _id(value) -> str:
    return quote(str(value), safe="")


def _events(events) -> list[dict[str, str]]:
    return [wire_event(e) for e in parse_events(events)]


class RestWebhooks:
    def __init__(self, session: HttpSession) -> None:
        self.http = session

    def create_webhook(self, name, url, events, description=None, secret=None, status=None,
                       standard_webhooks=False) -> Webhook:
        body = {"name": name, "url": url, "events": _events(events), "description": description, "secret": secret,
                "status": status, "standard_webhooks": standard_webhooks or None}
        answer = self.http.call("POST", "webhooks", {k: v for k, v in body.items() if v is not None})
        return Webhook.from_dict(answer["webhook"])

    def get_webhook(self, webhook_id) -> Webhook:
        return Webhook.from_dict(self.http.call("GET", f"webhooks/{_id(webhook_id)}")["webhook"])

    def list_webhooks(self, max_results=None, page_token=None) -> PagedList:
        body = {k: v for k, v in {"max_results": max_results, "page_token": page_token}.items() if v is not None}
        answer = self.http.call("GET", "webhooks", body)
        return PagedList([Webhook.from_dict(w) for w in answer.get("webhooks", [])], answer.get("next_page_token"))

    def update_webhook(self, webhook_id, name=None, description=None, url=None, events=None, secret=None,
                       status=None, standard_webhooks=None) -> Webhook:
        body = {"name": name, "description": description, "url": url, "events": _events(events) if events else None,
                "secret": secret, "status": status, "standard_webhooks": standard_webhooks}
        answer = self.http.call("PATCH", f"webhooks/{_id(webhook_id)}", {k: v for k, v in body.items() if v is not None})
        return Webhook.from_dict(answer["webhook"])

    def delete_webhook(self, webhook_id) -> None:
        self.http.call("DELETE", f"webhooks/{_id(webhook_id)}")

    def test_webhook(self, webhook_id, event=None) -> dict:
        body = {"event": wire_event(parse_events([event])[0])} if event else {}
        return self.http.call("POST", f"webhooks/{_id(webhook_id)}/test", body)["result"]

    def list_deliveries(self, webhook_id, status=None, max_results=None, page_token=None) -> PagedList:
        body = {k: v for k, v in {"status": status, "max_results": max_results, "page_token": page_token}.items()
                if v is not None}
        answer = self.http.call("GET", f"webhooks/{_id(webhook_id)}/deliveries", body, prefix=PODIUM_API)
        return PagedList([WebhookDelivery.from_dict(d) for d in answer.get("deliveries", [])],
                         answer.get("next_page_token"))

    def get_delivery(self, delivery_id) -> WebhookDelivery:
        answer = self.http.call("GET", f"webhook-deliveries/{_id(delivery_id)}", prefix=PODIUM_API)
        return WebhookDelivery.from_dict(answer["delivery"])

    def redeliver(self, delivery_id) -> WebhookDelivery:
        answer = self.http.call("POST", f"webhook-deliveries/{_id(delivery_id)}/redeliver", {}, prefix=PODIUM_API)
        return WebhookDelivery.from_dict(answer["delivery"])
