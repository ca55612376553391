"""Receiving the registry's webhook deliveries: ``POST /podium/webhook`` on ``podium serve``.

A delivery is what MLflow's webhooks send (and Podium's, in MLflow's format): a JSON envelope
``{"entity", "action", "timestamp", "data"}`` with headers ``X-MLflow-Delivery-Id``,
``X-MLflow-Timestamp`` (unix seconds) and ``X-MLflow-Signature: v1,<base64 HMAC-SHA256(secret,
"{delivery_id}.{timestamp}.{body}")>`` (several space-separated signatures are accepted, for a
secret being rotated). :func:`verify_delivery` checks the signature over the raw body with a
constant-time comparison and refuses a timestamp more than :data:`TOLERANCE_SECONDS` away from now
(a replayed delivery), before the body is parsed at all.

What the scorer does with a verified delivery is small: if ``data.name`` is the model it serves, it
resolves the alias or stage at once (:meth:`ModelFollower.poke
<podium.serving.follower.ModelFollower.poke>`) instead of waiting for the next poll. Resolving is
idempotent, so duplicate deliveries, events that move nothing, and events the scorer does not know
cost one lookup; what serves is always what the registry says, never what the delivery says.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

__all__ = ["TOLERANCE_SECONDS", "WEBHOOK_PATH", "WebhookRefused", "sign", "verify_delivery"]

#: where ``podium serve`` listens for deliveries (MLflow's scoring protocol has no ``/podium/`` path)
WEBHOOK_PATH = "/podium/webhook"
#: how far (seconds) a delivery's ``X-MLflow-Timestamp`` may be from the scorer's clock
TOLERANCE_SECONDS = 300
#: the largest delivery body accepted (MLflow's are a few hundred bytes)
MAX_DELIVERY_BYTES = 1 << 20


class WebhookRefused(Exception):
    """A delivery that is not accepted: answered with ``status`` (400 malformed, 401 not authentic)."""

    def __init__(self, message: str, status: int = 400, error_code: str = "INVALID_PARAMETER_VALUE") -> None:
        super().__init__(message)
        self.message, self.status, self.error_code = message, status, error_code

    def body(self) -> dict:
        return {"error_code": self.error_code, "message": self.message}


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """The ``X-MLflow-Signature`` value of a delivery: ``v1,<base64 HMAC-SHA256>``."""
    digest = hmac.new(secret.encode(), f"{delivery_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _unauthentic(message: str) -> WebhookRefused:
    return WebhookRefused(message, 401, "UNAUTHENTICATED")


def verify_delivery(secret: str, header, body: bytes, now: float | None = None,
                    tolerance: float = TOLERANCE_SECONDS) -> dict[str, Any]:
    """The envelope of an authentic, fresh delivery (``header(name)`` reads a request header), or
    :class:`WebhookRefused`."""
    delivery_id, timestamp, signatures = (header("x-mlflow-delivery-id"), header("x-mlflow-timestamp"),
                                          header("x-mlflow-signature"))
    missing = [name for name, value in (("X-MLflow-Delivery-Id", delivery_id), ("X-MLflow-Timestamp", timestamp),
                                        ("X-MLflow-Signature", signatures)) if not value]
    if missing:
        raise WebhookRefused(f"Not a signed webhook delivery: missing {', '.join(missing)} (configure the webhook "
                             "with the secret given to podium serve --webhook-secret).")
    if not timestamp.strip().isdigit() or len(timestamp.strip()) > 12:
        raise WebhookRefused(f"X-MLflow-Timestamp must be unix seconds, got '{timestamp[:40]}'.")
    expected = sign(secret, delivery_id, timestamp, body)
    given = [s for s in signatures.split() if s.startswith("v1,")]
    if not any(hmac.compare_digest(expected.encode(), s.encode()) for s in given):
        raise _unauthentic("The webhook signature does not match (is the secret the one the registry's webhook "
                           "was created with?).")
    skew = (time.time() if now is None else now) - int(timestamp)
    if abs(skew) > tolerance:
        raise _unauthentic(f"The delivery's timestamp is {abs(int(skew))} s {'old' if skew > 0 else 'ahead'} "
                           f"(at most {int(tolerance)} s accepted): a replay, or clocks out of step.")
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRefused("The delivery's body is not JSON.") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), dict) \
            or not isinstance(envelope.get("entity"), str) or not isinstance(envelope.get("action"), str):
        raise WebhookRefused("The delivery's body must be an object with 'entity', 'action' and 'data'.")
    return envelope
