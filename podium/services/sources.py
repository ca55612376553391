"""Where a model version's files may live on a server: the source rules (docs/security.md).

The server reads a new version's files with its own credentials (to hash them into the version's
manifest) and serves them through its artifact proxy, so a version registered on a server must
have its files (its *storage location*, what ``runs:/``, ``models:/`` and ``m-...`` sources resolve
to) in a place the operator chose:

* the server's own artifact store: ``mlflow-artifacts:/...`` and the same files spelled as the
  artifacts destination (``s3://bucket/prefix/...`` or a path below the destination directory);
* or under one of the ``--allowed-source-prefix`` settings (``s3://team-bucket/models/``,
  ``/mnt/models``; ``s3://`` alone allows every bucket).

Anything else (another bucket, ``/etc``, another server's ``mlflow-artifacts://host/...``) is refused
with ``INVALID_PARAMETER_VALUE`` before anything is read, and :meth:`SourceRules.guard` keeps the
server from reading it later (verify, compare, approval gates) for versions registered before.
Locations are compared as location keys (:func:`podium.domain.manifests.location_key`: ``..``
resolved, local paths made real), on whole path segments (``s3://bucket`` does not allow
``s3://bucket-2``). Embedded mode has no such rules: there the user reads with their own credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from podium.domain.manifests import location_key
from podium.errors import InvalidParameterValue

__all__ = ["SourceRules"]

MLFLOW_ARTIFACTS = "mlflow-artifacts:"


def _below(key: str, root: str) -> str | None:
    """``key``'s path below ``root`` (``""`` for the root itself), or None if it lies elsewhere."""
    root = root.rstrip("/")
    if key.rstrip("/") == root:
        return ""
    return key[len(root) + 1:] if key.startswith(root + "/") else None


class SourceRules:
    """The server's rules. ``destination``: the artifact proxy's root URI (a directory or
    ``s3://bucket/prefix``); ``allowed_prefixes``: the operator's allow-list."""

    def __init__(self, destination: str, allowed_prefixes: Sequence[str] = ()) -> None:
        self._proxy_roots = [location_key(MLFLOW_ARTIFACTS + "/"), location_key(destination)]
        self._allowed = [location_key(p) for p in allowed_prefixes if p]

    def proxy_path(self, location: str) -> str | None:
        """The path of ``location`` in the artifact proxy's space (``<experiment>/<run>/artifacts/...``),
        or None when it lies outside the server's artifact store. ``mlflow-artifacts://host/...``
        names another server's store: outside."""
        if location.startswith(MLFLOW_ARTIFACTS + "//") and not location.startswith(MLFLOW_ARTIFACTS + "///"):
            return None
        key = location_key(location)
        for root in self._proxy_roots:
            path = _below(key, root)
            if path is not None:
                return path
        return None

    def admits(self, location: str) -> bool:
        """Is ``location`` in the server's artifact store or under an allowed prefix?"""
        if self.proxy_path(location) is not None:
            return True
        key = location_key(location)
        return any(_below(key, prefix) is not None for prefix in self._allowed)

    def guard(self, locate: Callable[[str], Any]) -> Callable[[str], Any]:
        """``locate`` (how the server reads a location: integrity, compare, approval gates) restricted
        to admitted locations: a version registered before these rules, pointing elsewhere, is not
        read with the server's credentials when it is verified or compared."""
        def guarded(location: str):
            return locate(location) if self.admits(location) else None

        return guarded

    def check(self, source: str, location: str) -> None:
        """Refuse a version whose files (``location``, resolved from ``source``) lie outside the
        server's artifact store and every allowed prefix."""
        if self.admits(location):
            return
        where = "" if location == source else f" (its files are at '{location}')"
        raise InvalidParameterValue(
            f"Invalid model version source: '{source}'{where}. On this server a version's files must be in the "
            "server's artifact store (mlflow-artifacts:/ locations, as logged through the server) or under a prefix "
            "the server allows (--allowed-source-prefix, PODIUM_ALLOWED_SOURCE_PREFIXES).")
