"""Podium's own API for version integrity and comparison, under ``/api/podium/v1/model-versions/``.

==================================================================  ==================================
``GET  /api/podium/v1/model-versions/manifest?name=&version=``      the manifest recorded at
                                                                    registration (``null`` if none)
``POST /api/podium/v1/model-versions/verify``  ``{name, version}``  read the stored files again and
                                                                    compare them with the manifest
``GET  /api/podium/v1/model-versions/compare?name=&versions=1&versions=2``
                                                                    versions side by side
==================================================================  ==================================

``verify`` answers 200 with a report whatever it finds (``status``: ``intact``, ``tampered`` or
``no_manifest``); clients turn ``tampered`` into ``DATA_LOSS`` (``podium models verify`` exits 4).
All three need ``read`` on the model (:mod:`podium.server.permissions`). See docs/governance.md.
"""

from __future__ import annotations

from podium.server.routing import Param, Router

__all__ = ["routes"]

PODIUM_API = "/api/podium/v1"

routes = Router("Podium: integrity and compare")

NAME = Param("name", required=True, description="registered model name")
VERSION = Param("version", required=True, description="version number, as a string")

_STR, _INT = {"type": "string"}, {"type": "integer", "format": "int64"}
_NULLABLE_STR = {"type": ["string", "null"]}
_FILE = {"type": "object", "properties": {"path": _STR, "size": _INT, "sha256": _STR}}
_MANIFEST = {"type": ["object", "null"], "properties": {
    "digest": _STR, "location": _NULLABLE_STR, "created_at": {"type": ["integer", "null"]}, "file_count": _INT,
    "total_bytes": _INT, "files": {"type": "array", "items": _FILE}}}
_PROBLEM = {"type": "object", "properties": {
    "path": _STR, "problem": {"type": "string", "enum": ["missing", "truncated", "modified", "added"]},
    "expected_size": {"type": ["integer", "null"]}, "actual_size": {"type": ["integer", "null"]},
    "expected_sha256": _NULLABLE_STR, "actual_sha256": _NULLABLE_STR, "message": _STR}}
_VERIFICATION = {"type": "object", "properties": {
    "name": _STR, "version": _INT, "storage_location": _NULLABLE_STR,
    "status": {"type": "string", "enum": ["intact", "tampered", "no_manifest"]},
    "manifest_digest": _NULLABLE_STR, "files_checked": _INT, "problems": {"type": "array", "items": _PROBLEM}}}
_ROW = {"type": "object", "properties": {"key": _STR, "values": {"type": "array"}, "different": {"type": "boolean"}}}
_CHANGE = {"type": "object", "properties": {
    "version": _INT, "base": _INT, "added": {"type": "array", "items": _STR},
    "removed": {"type": "array", "items": _STR}, "changed": {"type": "array", "items": _STR}}}
_SECTION = {"type": "object", "properties": {
    "name": _STR, "title": _STR, "available": {"type": "array", "items": {"type": "boolean"}},
    "rows": {"type": "array", "items": _ROW}, "changes": {"type": "array", "items": _CHANGE}}}
_COMPARISON = {"type": "object", "properties": {
    "name": _STR, "versions": {"type": "array", "items": _INT},
    "headers": {"type": "array", "items": {"type": "object"}},
    "sections": {"type": "array", "items": _SECTION}}}


@routes.get(f"{PODIUM_API}/model-versions/manifest", NAME, VERSION,
            response={"type": "object", "properties": {"manifest": _MANIFEST}})
def get_model_version_manifest(s, p):
    """The SHA-256 manifest recorded when the version was registered (null when it has none)."""
    manifest = s.integrity.get_model_version_manifest(p["name"], p["version"])
    return {"manifest": manifest.to_dict() if manifest is not None else None}


@routes.post(f"{PODIUM_API}/model-versions/verify", NAME, VERSION,
             response={"type": "object", "properties": {"verification": _VERIFICATION}})
def verify_model_version(s, p):
    """Re-read a version's stored files and compare them with its manifest (a report: intact, tampered, no_manifest)."""
    return {"verification": s.integrity.verify_model_version(p["name"], p["version"])}


routes.routes[-1].writes = False  # a POST that only reads: never holds the SQLite write turn while hashing


@routes.get(f"{PODIUM_API}/model-versions/compare", NAME,
            Param("versions", "array", required=True, items="string", description="two or more version numbers"),
            response={"type": "object", "properties": {"comparison": _COMPARISON}})
def compare_model_versions(s, p):
    """Versions side by side: metadata, tags, params, metrics, signature, requirements and files."""
    return {"comparison": s.integrity.compare_model_versions(p["name"], p["versions"])}
