"""The headers of a delivery: MLflow's, and optionally the Standard Webhooks ones.

MLflow 3 signs ``"{delivery_id}.{timestamp}.{body}"`` with HMAC-SHA256 under the webhook's secret
(its UTF-8 bytes) and sends ``X-MLflow-Signature: v1,<base64 digest>`` with
``X-MLflow-Delivery-Id`` and ``X-MLflow-Timestamp`` (Unix seconds). A receiver written for MLflow
verifies Podium's deliveries unchanged. Standard Webhooks (https://www.standardwebhooks.com) signs
the same string; its ``webhook-*`` headers are added when the webhook asks for them, keyed with the
base64-decoded secret when it is a ``whsec_…`` secret, else its UTF-8 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

__all__ = ["delivery_headers", "mlflow_signature", "verify_mlflow_signature"]

USER_AGENT = "podium-webhooks/1"


def _sign(key: bytes, delivery_id: str, timestamp: int, body: str) -> str:
    message = f"{delivery_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def mlflow_signature(secret: str, delivery_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 HMAC-SHA256(secret, "{delivery_id}.{timestamp}.{body}")>``."""
    return _sign(secret.encode(), delivery_id, timestamp, body)


def verify_mlflow_signature(secret: str, delivery_id: str, timestamp: int | str, body: str, signature: str) -> bool:
    """What a receiver does (docs/webhooks.md shows the same in a few lines)."""
    return hmac.compare_digest(mlflow_signature(secret, delivery_id, int(timestamp), body), signature)


def _standard_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_"):], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode()


def delivery_headers(delivery_id: str, timestamp: int, body: str, secret: str | None,
                     standard_webhooks: bool = False) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               "X-MLflow-Delivery-Id": delivery_id, "X-MLflow-Timestamp": str(timestamp)}
    if secret:
        headers["X-MLflow-Signature"] = mlflow_signature(secret, delivery_id, timestamp, body)
    if standard_webhooks:
        headers["webhook-id"] = delivery_id
        headers["webhook-timestamp"] = str(timestamp)
        if secret:
            headers["webhook-signature"] = _sign(_standard_key(secret), delivery_id, timestamp, body)
    return headers
