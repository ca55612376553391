"""``/models/<name>/history``: the model's audit trail, newest first, filterable by action and actor,
keyset-paged by event id; and the model "as at" a time (issue 13, page 5).

Both read through :class:`~podium.services.history.HistoryService`, as ``GET
/api/podium/v1/registered-models/history`` and ``/at`` (and ``podium models history`` / ``at``) do,
and ask the gate those endpoints' questions. A page is one read of :data:`HISTORY_PAGE_SIZE` events
(the filters are part of the SQL query, so a rare action still fills a page); "as at" replays the
model's stage and alias events up to the time (:func:`podium.domain.history.state_at`)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from podium.domain.events import ACTIONS
from podium.errors import InvalidParameterValue
from podium.server.ui.render import render

__all__ = ["HISTORY_PAGE_SIZE", "STATE_VERSIONS_SHOWN", "history_page"]

#: events per page
HISTORY_PAGE_SIZE = 50
#: versions of one stage the "as at" panel links (the newest; "and N older" says how many more), so a
#: model with thousands of archived versions still has a light page
STATE_VERSIONS_SHOWN = 20


def history_page(s, check, name: str, query: dict) -> object:
    action = query.get("action", "").strip()
    actor = query.get("actor", "").strip()
    at = query.get("at", "").strip()
    form = {"action": action, "actor": actor, "at": at}
    check("get_model_history", {"name": name})
    error = state = None
    events, token = [], None
    try:
        page = s.history.get_model_history(name, max_results=HISTORY_PAGE_SIZE, page_token=query.get("page_token"),
                                           newest_first=True, actions=[action] if action else None,
                                           actor=actor or None)
        events, token = [_event(e) for e in page], page.token
        if at:
            check("get_model_state_at", {"name": name, "time": at})
            state = s.history.get_model_state_at(name, at)
    except InvalidParameterValue as exc:  # an unknown action, a bad time or page token: the form, with the message
        error = exc.message
    params = {k: v for k, v in form.items() if v}
    return render("history.html", 400 if error else 200, name=name, form=form, actions=ACTIONS, events=events,
                  next_token=token, params=params, state=state, error=error, state_versions_shown=STATE_VERSIONS_SHOWN,
                  at_iso=_iso(state["time"]) if state else None)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _event(e) -> dict:
    """An event with its before/after as short text (``{"stage": "Staging"}`` -> ``Staging``)."""
    return {"event": e, "before": _change(e.before), "after": _change(e.after)}


def _change(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        if len(value) == 1:
            only = next(iter(value.values()))
            return only if isinstance(only, str) else json.dumps(only, sort_keys=True)
        return ", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v, sort_keys=True)}"
                         for k, v in sorted(value.items()))
    return str(value)
