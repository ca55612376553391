"""Webhooks: MLflow's use cases (create, get, list, update, delete, test) plus Podium's delivery log,
redelivery, and one delivery attempt (what the worker runs).

Secrets are encrypted before they reach the store and never leave this service in clear, except in
the signature of a request. A webhook's URL is checked on create and update (scheme, host, and an
address given literally); the address the host resolves to is checked at connect time by
:func:`podium.webhooks.sender.post`. See docs/webhooks.md.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from podium import clock
from podium.auth.actor import current_actor
from podium.domain.entities import PagedList
from podium.domain.paging import validate_max_results
from podium.domain.webhooks import (
    STATUSES,
    DeliveryOutcome,
    PendingDelivery,
    Webhook,
    WebhookDelivery,
    envelope,
    example_data,
    parse_events,
    validate_webhook_name,
)
from podium.errors import InvalidParameterValue, PodiumError
from podium.store.base import WebhookStore
from podium.webhooks.secrets import SecretBox
from podium.webhooks.sender import DeliveryRefused, SendPolicy, check_url, post, retry_after_seconds
from podium.webhooks.signing import delivery_headers

__all__ = ["DELIVERY_STATUSES", "RetryPolicy", "WebhookService"]

DELIVERY_STATUSES = ("pending", "succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: the n-th retry waits ``initial_ms * 2**(n-1)`` (at most
    ``max_ms``), drawn uniformly from its upper half; a ``Retry-After`` asking for longer wins. A
    delivery is given up when its next attempt would fall ``window_ms`` after the event."""

    initial_ms: int = 5_000
    max_ms: int = 3_600_000
    window_ms: int = 24 * 3_600_000

    def delay_ms(self, attempts: int, retry_after_ms: int | None = None) -> int:
        base = min(self.max_ms, self.initial_ms * (2 ** min(attempts - 1, 40)))
        delay = int(random.uniform(base / 2, base))
        return max(delay, retry_after_ms or 0)


def _text(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidParameterValue(f"Parameter '{name}' must be a string.")


class WebhookService:
    """Webhooks over a :class:`~podium.store.base.WebhookStore`."""

    def __init__(self, store: WebhookStore, secrets: SecretBox, policy: SendPolicy,
                 retry: RetryPolicy | None = None) -> None:
        self.store, self.secrets, self.policy = store, secrets, policy
        self.retry = retry or RetryPolicy()

    # ------------------------------------------------------------------ checks
    def _url(self, url: Any) -> str:
        if url is None or url == "":
            raise InvalidParameterValue("Missing value for required parameter 'url'. See the API docs for more "
                                        "information about request parameters.")
        if not isinstance(url, str) or not url.strip():
            raise InvalidParameterValue(f"Webhook URL cannot be empty or just whitespace: {url!r}")
        try:
            check_url(url, self.policy.allowed_schemes)
        except DeliveryRefused as exc:
            raise InvalidParameterValue(str(exc)) from None
        return url

    @staticmethod
    def _status(status: Any) -> str:
        if not isinstance(status, str) or status.upper() not in STATUSES:
            raise InvalidParameterValue(f"Invalid webhook status {status!r}: expected ACTIVE or DISABLED.")
        return status.upper()

    # ------------------------------------------------------------------ MLflow's API
    def create_webhook(self, name, url, events, description=None, secret=None, status=None,
                       standard_webhooks=False) -> Webhook:
        name = validate_webhook_name(name)
        url = self._url(url)
        if events is None:
            raise InvalidParameterValue("Missing value for required parameter 'events'. See the API docs for more "
                                        "information about request parameters.")
        parsed = parse_events(events)
        secret = _text(secret, "secret")
        return self.store.create_webhook(
            name, url, parsed, description=_text(description, "description") or None,
            secret=self.secrets.encrypt(secret) if secret else None,
            status=self._status(status) if status else "ACTIVE", standard_webhooks=bool(standard_webhooks),
            created_by=current_actor().name)

    def get_webhook(self, webhook_id) -> Webhook:
        return self.store.get_webhook(str(webhook_id))

    def list_webhooks(self, max_results=None, page_token=None) -> PagedList:
        limit = validate_max_results(max_results or None, default=100, limit=2**31)  # an integer; 0: the default
        if not 1 <= limit <= 1000:
            raise InvalidParameterValue("max_results must be between 1 and 1000.")  # MLflow's message
        return self.store.list_webhooks(limit, page_token or None)

    def update_webhook(self, webhook_id, name=None, description=None, url=None, events=None, secret=None,
                       status=None, standard_webhooks=None) -> Webhook:
        """Change only what is given (MLflow's rule: an empty name, URL or event list is "not given")."""
        changes: dict[str, Any] = {}
        if name:
            changes["name"] = validate_webhook_name(name)
        if url:
            changes["url"] = self._url(url)
        if events:
            changes["events"] = parse_events(events)
        if description is not None:
            changes["description"] = _text(description, "description")
        if secret is not None:
            secret = _text(secret, "secret")
            changes["secret"] = self.secrets.encrypt(secret) if secret else None
        if status:
            changes["status"] = self._status(status)
        if standard_webhooks is not None:
            changes["standard_webhooks"] = bool(standard_webhooks)
        return self.store.update_webhook(str(webhook_id), changes)

    def delete_webhook(self, webhook_id) -> None:
        self.store.delete_webhook(str(webhook_id))

    def test_webhook(self, webhook_id, event=None) -> dict[str, Any]:
        """Send an example of ``event`` (default: the webhook's first) now; MLflow's ``result`` object."""
        webhook = self.store.get_webhook(str(webhook_id))
        chosen = parse_events([event])[0] if event else webhook.events[0]
        body = envelope(chosen, clock.now_ms(), example_data(chosen))
        try:
            secret = self.secrets.decrypt(webhook.secret) if webhook.secret else None
            answer = post(webhook.url, body, delivery_headers(str(uuid.uuid4()), int(time.time()), body, secret,
                                                              webhook.standard_webhooks), self.policy)
        except (DeliveryRefused, OSError, PodiumError) as exc:
            return {"success": False, "error_message": str(exc)}
        result: dict[str, Any] = {"success": 200 <= answer.status < 300, "response_status": answer.status,
                                  "response_body": answer.body}
        if not result["success"]:
            result["error_message"] = f"The endpoint answered {answer.status}."
        return result

    # ------------------------------------------------------------------ Podium's delivery log
    def list_deliveries(self, webhook_id, status=None, max_results=None, page_token=None) -> PagedList:
        if status and status not in DELIVERY_STATUSES:
            raise InvalidParameterValue(f"Invalid delivery status {status!r}: expected one of "
                                        f"{', '.join(DELIVERY_STATUSES)}.")
        limit = validate_max_results(max_results, default=100, limit=1000)
        return self.store.list_deliveries(str(webhook_id), status or None, limit, page_token or None)

    def get_delivery(self, delivery_id) -> WebhookDelivery:
        return self.store.get_delivery(str(delivery_id))

    def redeliver(self, delivery_id) -> WebhookDelivery:
        return self.store.redeliver(str(delivery_id))

    def count_pending(self) -> int:
        return self.store.count_pending()

    # ------------------------------------------------------------------ the worker's side
    def claim_due(self, lease_ms: int, limit: int) -> list[PendingDelivery]:
        return self.store.claim_due(clock.now_ms(), lease_ms, limit)

    def wait_for_deliveries(self, timeout: float) -> bool:
        return self.store.wait_for_deliveries(timeout)

    def attempt(self, delivery: PendingDelivery) -> DeliveryOutcome:
        """Send one claimed delivery and store the outcome; returns it."""
        outcome = self._send(delivery)
        self.store.record_outcome(delivery, outcome)
        return outcome

    def _send(self, delivery: PendingDelivery) -> DeliveryOutcome:
        started = clock.now_ms()
        retry_after_ms = None
        try:
            secret = self.secrets.decrypt(delivery.secret) if delivery.secret else None
            headers = delivery_headers(delivery.delivery_id, int(time.time()), delivery.payload, secret,
                                       delivery.standard_webhooks)
            answer = post(delivery.url, delivery.payload, headers, self.policy)
        except DeliveryRefused as exc:
            return DeliveryOutcome("failed", started, error=str(exc))
        except (OSError, PodiumError) as exc:
            status, error, latency = None, str(exc) or type(exc).__name__, None
        else:
            status, latency = answer.status, int(answer.seconds * 1000)
            if 200 <= status < 300:
                return DeliveryOutcome("succeeded", started, response_status=status, latency_ms=latency)
            if status == 410:
                return DeliveryOutcome("failed", started, response_status=status, latency_ms=latency,
                                       error="The endpoint answered 410 Gone: the webhook is disabled.",
                                       disable_webhook=True)
            error = f"The endpoint answered {status}" + (
                f" (a redirect to {answer.headers.get('location')!r}, not followed)" if 300 <= status < 400 else "")
            after = retry_after_seconds(answer.headers.get("retry-after"), time.time())
            retry_after_ms = None if after is None else int(after * 1000)
        delay = self.retry.delay_ms(delivery.attempts + 1, retry_after_ms)
        next_at = clock.now_ms() + delay
        if next_at > delivery.created_at + self.retry.window_ms:
            return DeliveryOutcome("failed", started, response_status=status, latency_ms=latency,
                                   error=f"{error}; gave up after {delivery.attempts + 1} attempts")
        return DeliveryOutcome("pending", started, next_attempt_at=next_at, response_status=status, error=error,
                               latency_ms=latency)
