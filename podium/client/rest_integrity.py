"""Version manifests, verification and comparison over Podium's own REST API (``/api/podium/v1/``).

``RestIntegrity`` has the methods of :class:`~podium.services.integrity.IntegrityService`, so
:class:`~podium.client.client.PodiumClient` verifies and compares the same way against a server
and against an embedded store. An MLflow server (or an older Podium) has no such API: the calls
fail with ``ENDPOINT_NOT_FOUND``.
"""

from __future__ import annotations

from typing import Any

from podium.client.http import HttpSession
from podium.domain.manifests import Manifest

__all__ = ["PODIUM_API", "RestIntegrity"]

PODIUM_API = "/api/podium/v1"


class RestIntegrity:
    def __init__(self, session: HttpSession) -> None:
        self.http = session

    def get_model_version_manifest(self, name, version) -> Manifest | None:
        body = self.http.call("GET", "model-versions/manifest", {"name": name, "version": str(version)},
                              prefix=PODIUM_API)
        manifest = body.get("manifest")
        return Manifest.from_dict(manifest) if manifest else None

    def verify_model_version(self, name, version) -> dict[str, Any]:
        body = self.http.call("POST", "model-versions/verify", {"name": name, "version": str(version)},
                              prefix=PODIUM_API)
        return body["verification"]

    def compare_model_versions(self, name, versions) -> dict[str, Any]:
        body = self.http.call("GET", "model-versions/compare",
                              {"name": name, "versions": [str(v) for v in versions]}, prefix=PODIUM_API)
        return body["comparison"]
