"""Approval requests over Podium's own REST API (``/api/podium/v1/requests``).

``RestApprovals`` has the methods of :class:`~podium.services.approvals.ApprovalService`, so
:class:`~podium.client.client.PodiumClient` requests and approves the same way against a server and
against an embedded store. An MLflow server has no such API: the calls fail with
``ENDPOINT_NOT_FOUND``.
"""

from __future__ import annotations

from podium.client.http import HttpSession
from podium.domain.approvals import ApprovalRequest
from podium.errors import InvalidParameterValue

__all__ = ["PODIUM_API", "RestApprovals"]

PODIUM_API = "/api/podium/v1"


def _id(request_id) -> str:
    text = str(request_id).strip()
    if not text.isdigit():
        raise InvalidParameterValue(f"Invalid request id {request_id!r}: expected a whole number.")
    return text


class RestApprovals:
    def __init__(self, session: HttpSession) -> None:
        self.http = session

    def _call(self, method: str, endpoint: str, body: dict) -> dict:
        return self.http.call(method, endpoint, body, prefix=PODIUM_API)

    def request_model_version(self, name, version, stage=None, alias=None, comment=None) -> ApprovalRequest:
        body = {"name": name, "version": str(version), "stage": stage, "alias": alias, "comment": comment}
        return ApprovalRequest.from_dict(self._call("POST", "requests", {k: v for k, v in body.items()
                                                                           if v is not None})["request"])

    def list_requests(self, name, status=None) -> list[ApprovalRequest]:
        body = {"name": name, **({"status": status} if status else {})}
        return [ApprovalRequest.from_dict(r) for r in self._call("GET", "requests", body).get("requests", [])]

    def get_request(self, request_id) -> ApprovalRequest:
        return ApprovalRequest.from_dict(self._call("GET", f"requests/{_id(request_id)}", {})["request"])

    def approve_request(self, request_id, comment=None) -> ApprovalRequest:
        body = {"comment": comment} if comment else {}
        return ApprovalRequest.from_dict(self._call("POST", f"requests/{_id(request_id)}/approve", body)["request"])

    def reject_request(self, request_id, comment=None) -> ApprovalRequest:
        body = {"comment": comment} if comment else {}
        return ApprovalRequest.from_dict(self._call("POST", f"requests/{_id(request_id)}/reject", body)["request"])
