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
    waiting, others = [], []
    for request in found[:REQUESTS_PAGE_SIZE]:
        if request.name not in readable:
            readable[request.name] = _may_list(check, request.name)
        if not readable[request.name]:
            continue
        policy = policies.get(request.name)
        pending = request.status == "pending"
        row = {"r": request, "gates": _gates(s, request, policy) if pending else None,
               "decide": s.approvals.may_decide(request, policy),
               "own": pending and _is_own(request)}
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


def _gates(s, request, policy):
    """The policy's gates for this request, evaluated now (``None``: the model has no gates)."""
    if policy is None:
        return None
    try:
        results = s.approvals.evaluate_gates(policy, request.name, request.version, request.target_kind,
                                             request.target)
    except PodiumError as exc:  # a version deleted since: say so instead of failing the page
        return [{"gate": "-", "passed": False, "detail": exc.message}]
    return [{"gate": r.gate, "passed": r.passed, "detail": r.detail} for r in results] or None
