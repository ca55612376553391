"""``/requests``: approval requests across the registry, "waiting for me" first (decision 0016).

Read through :class:`~podium.services.approvals.ApprovalService` as ``GET /api/podium/v1/requests``
does, model by model asking the gate the API's question (``list_model_version_requests``: read on
the model), so a request of a model the actor cannot read is not listed. A pending request shows
its approvals (of the policy's required number) and its gates evaluated now (they are checked again
when the last approval lands). Approving and rejecting are forms (podium.server.ui.actions)."""

from __future__ import annotations

from podium.errors import PermissionDenied, PodiumError, Unauthenticated
from podium.server.ui.render import render

__all__ = ["REQUESTS_PAGE_SIZE", "requests_page"]

#: requests a page lists (newest first; "Waiting for me" first within the page); "Next" pages on
REQUESTS_PAGE_SIZE = 50
_VIEWS = {"pending": "Pending", "all": "All"}


def requests_page(s, check, query: dict) -> object:
    view = query.get("view") if query.get("view") in _VIEWS else "pending"
    before = _before(query.get("before"))
    if s.approvals is None:
        return render("requests.html", view=view, views=_VIEWS, waiting=[], others=[], next_before=None)
    policies: dict[str, object] = {}  # each model's policy, read once for the page
    found = s.approvals.list_all_requests("pending" if view == "pending" else None, REQUESTS_PAGE_SIZE + 1, before,
                                          policies)
    next_before = found[REQUESTS_PAGE_SIZE - 1].id if len(found) > REQUESTS_PAGE_SIZE else None
    readable: dict[str, bool] = {}
    shown = []
    for request in found[:REQUESTS_PAGE_SIZE]:
        if request.name not in readable:
            readable[request.name] = _may_list(check, request.name)
        if readable[request.name]:
            shown.append(request)
    gates = s.approvals.evaluate_request_gates([r for r in shown if r.status == "pending"], policies)
    waiting, others = [], []
    for request in shown:
        row = {"r": request, "gates": _gates(gates.get(request.id)),
               "decide": s.approvals.may_decide(request, policies.get(request.name)),
               "own": request.status == "pending" and _is_own(request)}
        (waiting if row["decide"] else others).append(row)
    return render("requests.html", view=view, views=_VIEWS, waiting=waiting, others=others, next_before=next_before)


def _before(value) -> int | None:
    """The ``before`` of a "Next" link: a request id (anything else starts at the newest)."""
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) <= 10 else None


def _may_list(check, name: str) -> bool:
    try:
        check("list_model_version_requests", {"name": name})
    except (PermissionDenied, Unauthenticated):
        return False
    return True


def _is_own(request) -> bool:
    from podium.auth.actor import current_actor

    actor = current_actor()
    return bool(actor.name) and actor.name == request.requester


def _gates(results):
    """A pending request's gates evaluated now, for the page (``None``: the model has no gates; an
    error, e.g. the version was deleted since, is one failed line instead of a failed page)."""
    if results is None:
        return None
    if isinstance(results, PodiumError):
        return [{"gate": "-", "passed": False, "detail": results.message}]
    return [{"gate": r.gate, "passed": r.passed, "detail": r.detail} for r in results] or None
