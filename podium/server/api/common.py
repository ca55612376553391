"""Small pieces the resource modules share: the empty response schema and paged response bodies."""

from __future__ import annotations

from podium.server.routing import ref

__all__ = ["EMPTY", "page"]

#: the schema of ``{}``, MLflow's answer when a response message has no fields
EMPTY = ref("Empty")


def page(field: str, items: list, token: str | None) -> dict:
    """``{field: items, "next_page_token": token}``; an empty list and a missing token are omitted (proto3)."""
    out: dict = {}
    if items:
        out[field] = items
    if token:
        out["next_page_token"] = token
    return out
