"""Model grants and policies over Podium's own REST API (``/api/podium/v1/``).

``RestAccess`` has the methods of :class:`~podium.auth.access.AccessService`, so
:class:`~podium.client.client.PodiumClient` manages access the same way against a server and
against an embedded store. An MLflow server has no such API: the calls fail with
``ENDPOINT_NOT_FOUND``.
"""

from __future__ import annotations

from podium.auth.entities import ModelGrant, ModelPolicy
from podium.client.http import HttpSession

__all__ = ["PODIUM_API", "RestAccess"]

PODIUM_API = "/api/podium/v1"


class RestAccess:
    def __init__(self, session: HttpSession) -> None:
        self.http = session

    def _call(self, method: str, endpoint: str, body: dict) -> dict:
        return self.http.call(method, endpoint, body, prefix=PODIUM_API)

    def get_model_grants(self, name) -> list[ModelGrant]:
        body = self._call("GET", "registered-models/grants", {"name": name})
        return [ModelGrant.from_dict(g) for g in body.get("grants", [])]

    def set_model_grant(self, name, permission, user=None, group=None) -> ModelGrant:
        body = self._call("POST", "registered-models/grants",
                          {"name": name, "permission": str(getattr(permission, "label", permission)),
                           "user": user, "group": group})
        return ModelGrant.from_dict(body["grant"])

    def delete_model_grant(self, name, user=None, group=None) -> None:
        self._call("DELETE", "registered-models/grants", {"name": name, "user": user, "group": group})

    def get_model_policy(self, name) -> ModelPolicy:
        return ModelPolicy.from_dict(self._call("GET", "registered-models/policy", {"name": name})["policy"])

    def set_model_policy(self, name, protected_stages=(), protected_aliases=(), require_role=None,
                         requires_approval=False, required_approvals=None, approvers=(), gates=()) -> ModelPolicy:
        body = {"name": name, "protected_stages": list(protected_stages or ()),
                "protected_aliases": list(protected_aliases or ()), "require_role": require_role,
                "requires_approval": bool(requires_approval)}
        if required_approvals is not None:
            body["required_approvals"] = required_approvals
        if approvers:
            body["approvers"] = list(approvers)
        if gates:
            body["gates"] = list(gates)
        body = self._call("POST", "registered-models/policy", body)
        return ModelPolicy.from_dict(body["policy"])

    def whoami(self) -> dict | None:
        return self._call("GET", "whoami", {}).get("user")
