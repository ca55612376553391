"""The delivery worker: a thread in each ``podium server`` worker process that drains the outbox.

Every ``poll`` seconds, at once after a round that found work, and at once when a transaction of
this process that wrote deliveries commits, it leases due deliveries
(:meth:`~podium.services.webhooks.WebhookService.claim_due`: no two processes get the same row while
its lease holds, on any backend) and sends them one after another. The first round runs as soon as
the server starts, so deliveries left pending by a stopped or killed server resume within a poll
interval of the next start. A database error is logged and the round retried later: the outbox is
the state, the worker has none.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from podium.domain.webhooks import DeliveryOutcome, PendingDelivery

__all__ = ["DeliveryWorker"]

logger = logging.getLogger("podium.webhooks")

#: deliveries leased per round
BATCH = 20


class DeliveryWorker:
    """``start()`` / ``stop()`` a daemon thread running :meth:`run_once` rounds."""

    def __init__(self, service, poll_seconds: float, lease_ms: int,
                 observe: Callable[[PendingDelivery, DeliveryOutcome], None] | None = None) -> None:
        self.service, self.poll, self.lease_ms = service, poll_seconds, lease_ms
        self.observe = observe
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="podium-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop after the current attempt (an idle worker notices within one poll interval)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> int:
        """One round: lease due deliveries and attempt each; how many were attempted."""
        claimed = self.service.claim_due(self.lease_ms, BATCH)
        for delivery in claimed:
            if self._stop.is_set():
                break  # the rest keep their lease until it expires, then another worker sends them
            outcome = self.service.attempt(delivery)
            if self.observe is not None:
                self.observe(delivery, outcome)
            log = logger.info if outcome.status == "succeeded" else logger.warning
            log("webhook delivery %s (%s) to webhook %s: %s%s", delivery.delivery_id, delivery.event,
                delivery.webhook_id, outcome.status, f" ({outcome.error})" if outcome.error else "")
        return len(claimed)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # noqa: BLE001 - a database hiccup must not end delivery
                logger.exception("webhook delivery round failed; retrying")
                busy = 0
            if not busy and not self._stop.is_set():
                self.service.wait_for_deliveries(self.poll)  # woken at once by a commit in this process
