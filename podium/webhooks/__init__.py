"""Webhook delivery: secrets encrypted at rest (:mod:`.secrets`), MLflow's signature and the
Standard Webhooks headers (:mod:`.signing`), one HTTP POST that refuses private addresses at connect
time (:mod:`.sender`), and the delivery worker that drains the outbox (:mod:`.worker`).

The outbox rows themselves are written by the SQL stores with each registry change
(:mod:`podium.store.sql.webhooks`); the use cases are :class:`podium.services.webhooks.WebhookService`.
See docs/webhooks.md and decision 0014.
"""
