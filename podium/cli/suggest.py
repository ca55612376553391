""""Did you mean ...?" for a registered model name that does not exist.

The candidates are bounded: at most :data:`MAX_CANDIDATES` names that start with the same letter
(one search page), so a registry of 100,000 models costs one small query, only after a failure.
"""

from __future__ import annotations

import difflib
import re

from podium.errors import PodiumError

__all__ = ["MAX_CANDIDATES", "model_name_hint"]

MAX_CANDIDATES = 1000

#: MLflow's wording for a missing model, which every store uses (see podium.store.base)
_MISSING_MODEL = re.compile(r"Registered Model with name=(.+?) not found")


def model_name_hint(client, error: PodiumError) -> str | None:
    """``Did you mean 'x'?`` when ``error`` is a missing model with a close existing name, else None."""
    found = _MISSING_MODEL.match(str(getattr(error, "message", "")))
    if not found:
        return None
    name = found.group(1)
    first = name[:1]
    where = None if first in ("", "%", "_", "'", "\\") else f"name ILIKE '{first}%'"
    try:
        names = [m.name for m in client.search_registered_models(where, MAX_CANDIDATES)]
    except PodiumError:  # the hint is a courtesy: never a second error
        return None
    close = difflib.get_close_matches(name, names, n=3)
    return f"Did you mean {' or '.join(map(repr, close))}?" if close else None
