"""The page handlers: each reads through the same services as the API and asks the gate the same
question the API's matching endpoint asks (``check``), then renders one template. They run on the
database thread pool, as the API's handlers do."""

from __future__ import annotations

from podium.errors import InvalidParameterValue, PodiumError
from podium.server.ui import actions
from podium.server.ui.render import markdown, render
from podium.server.ui.trend import model_trend
from podium.server.ui.version_extras import version_extras

__all__ = ["MODELS_PAGE_SIZE", "PAGE_SIZE", "SORTS", "model_page", "models_page", "version_page"]

#: rows per page of the versions table
PAGE_SIZE = 50
#: rows per page of /models (who changed each last: one history read for the whole page)
MODELS_PAGE_SIZE = 50
#: the sort choices of /models: query value -> (label, order_by clause)
SORTS = {
    "name": ("Name (A-Z)", "name ASC"),
    "-name": ("Name (Z-A)", "name DESC"),
    "-updated": ("Last change (newest)", "last_updated_timestamp DESC"),
    "updated": ("Last change (oldest)", "last_updated_timestamp ASC"),
}
_MOVES = ("stage_transitioned", "alias_set")


def models_page(s, check, query: dict) -> object:
    """``/`` and ``/models``: registered models, filtered, sorted and keyset-paged."""
    text = query.get("filter", "").strip()
    sort = query.get("sort") if query.get("sort") in SORTS else "name"
    params = check("search_registered_models", {"filter": text or None})
    try:
        found = s.registry.search_registered_models(params["filter"], MODELS_PAGE_SIZE, [SORTS[sort][1]],
                                                    query.get("page_token") or None)
    except InvalidParameterValue as exc:  # a bad filter or page token: the page, with the API's message
        return render("models.html", 400, filter=text, sort=sort, sorts=SORTS, rows=[], next_token=None,
                      error=exc.message)
    last = s.history.latest_changes([model.name for model in found]) if s.history else {}
    rows = [_model_row(model, last.get(model.name)) for model in found]
    return render("models.html", filter=text, sort=sort, sorts=SORTS, rows=rows, next_token=found.token)


def _model_row(model, last) -> dict:
    latest = max((v.version for v in model.latest_versions), default=None)
    production = [v.version for v in model.latest_versions if v.current_stage == "Production"]
    return {"model": model, "latest": latest, "production": production[0] if production else None,
            "changed_by": last.actor if last else None}


def model_page(s, check, name: str, query: dict) -> object:
    """``/models/<name>``: serving now, description, tags and the versions, keyset-paged."""
    check("get_registered_model", {"name": name})
    model = s.registry.get_registered_model(name)
    versions = s.registry.search_model_versions(_name_filter(name), PAGE_SIZE, ["version_number DESC"],
                                                query.get("page_token") or None)
    serving = _serving(s, model)
    return render("model.html", model=model, serving=serving, description=markdown(model.description),
                  versions=versions, next_token=versions.token, trend=model_trend(s, check, model, query.get("metric")),
                  actions=actions.model_actions(s, check, model, serving))


def _serving(s, model) -> list[dict]:
    """Each stage's version and each alias's version, with the event that put it there (from the
    newest page of the model's history; older moves show no mover)."""
    held = [("stage", v.current_stage, v.version) for v in model.latest_versions
            if v.current_stage not in ("None", "Archived")]
    held += [("alias", alias, version) for alias, version in sorted(model.aliases.items())]
    events = s.history.get_model_history(model.name, max_results=200, newest_first=True) if s.history else []
    out = []
    for kind, target, version in held:
        moved = next((e for e in events if e.action in _MOVES and e.target == target and e.version == version), None)
        out.append({"kind": kind, "target": target, "version": version, "event": moved})
    return out


def version_page(s, check, name: str, version: str, query: dict | None = None) -> object:
    """``/models/<name>/versions/<v>``: one version, its run, its files and its history."""
    check("get_model_version", {"name": name, "version": version})
    mv = s.registry.get_model_version(name, version)
    query = query or {}
    run, run_refused = None, None
    if mv.run_id:
        try:
            check("get_run", {"run_id": mv.run_id})
            run = s.tracking.get_run(mv.run_id)
        except PodiumError as exc:  # refused, or deleted: the run is optional on this page, say why it is missing
            run_refused = exc.message
    manifest = s.integrity.get_model_version_manifest(name, mv.version) if s.integrity else None
    history = s.history.get_model_history(name, mv.version, max_results=100, newest_first=True) if s.history else []
    return render("version.html", mv=mv, description=markdown(mv.description), run=run, run_refused=run_refused,
                  manifest=manifest, history=history, extras=version_extras(s, check, mv, query),
                  actions=actions.version_actions(s, check, mv))


def _name_filter(name: str) -> str:
    return "name = '" + name.replace("'", "''") + "'"
