"""Podium's client: ``PodiumClient`` (alias ``MlflowClient``), in-process or over HTTP."""

from podium.client.client import MlflowClient, PodiumClient

__all__ = ["MlflowClient", "PodiumClient"]
