"""The artifact proxy: files under the artifacts destination, for ``mlflow-artifacts:/`` URIs.

=====================================================  =============================================
``GET  /api/2.0/mlflow-artifacts/artifacts?path=<d>``   list ``<d>``: basenames, ``{}`` for a file,
                                                        an empty or a missing directory
``GET  /api/2.0/mlflow-artifacts/artifacts/<p>``        download, streamed (404 JSON if missing,
                                                        400 for a directory)
``PUT  /api/2.0/mlflow-artifacts/artifacts/<p>``        upload, streamed to a temporary file that is
                                                        renamed into place when complete
``DELETE /api/2.0/mlflow-artifacts/artifacts/<p>``      delete a file or a directory tree
``POST /api/2.0/mlflow-artifacts/mpu/*``, ``GET         501 NOT_IMPLEMENTED (local destination), as
…/presigned/<p>``                                       MLflow answers; the client falls back to PUT/GET
=====================================================  =============================================

A path with ``..``, a leading ``/``, a backslash or a NUL is ``400 INVALID_PARAMETER_VALUE "Invalid
path"``. An upload never shows half-written: listings skip in-flight temporary files.
"""

from __future__ import annotations

import asyncio

from podium import wire
from podium.errors import InvalidParameterValue, NotImplementedByPodium
from podium.server.api.common import EMPTY
from podium.server.http import FileResponse, Response
from podium.server.routing import ARTIFACTS, Param, Router, ref
from podium.server.schemas import listing

__all__ = ["routes"]

routes = Router("Artifacts")

ART = f"{ARTIFACTS}/artifacts"
_MPU_UPLOAD = "Multipart upload is not supported for the current artifact repository"
_MPU_DOWNLOAD = "Multipart download is not supported for the current artifact repository"
_BINARY = "application/octet-stream"


def _clean(path: str | None) -> str:
    """A safe relative path below the destination, or 400 ``Invalid path``."""
    path = path or ""
    if path.startswith("/") or "\x00" in path or "\\" in path:
        raise InvalidParameterValue("Invalid path")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InvalidParameterValue("Invalid path")
    return "/".join(parts)


@routes.get(ART, Param("path", description="a directory relative to the destination (root when omitted)"),
            response=listing("files", "FileInfo", paged=False))
def list_artifacts(s, p):
    """The direct children of a directory (basenames); {} for a file or a missing directory."""
    infos = s.artifacts.list_artifacts(_clean(p["path"]) or None)
    return {"files": [wire.to_wire_file_info(fi, basename=True) for fi in infos]} if infos else {}


def _downloadable(store, path: str):
    if not path or store.is_dir(path):
        raise InvalidParameterValue(f"Artifact path '{path}' is a directory; list it instead.")
    return store.local_file(path)  # RESOURCE_DOES_NOT_EXIST "No such artifact: '<path>'"


@routes.get(f"{ART}/{{path:path}}", streaming=True, response_content="*/*",
            response={"type": "string", "format": "binary"})
async def download_artifact(s, p, request):
    """Download a file (streamed, Content-Disposition: attachment)."""
    return FileResponse(await s.run(_downloadable, s.artifacts, _clean(p["path"])))


@routes.put(f"{ART}/{{path:path}}", streaming=True, request_content=_BINARY, response={"type": "string"},
            response_content="text/plain")
async def upload_artifact(s, p, request):
    """Upload a file (raw body; streamed to disk, visible only once complete)."""
    path = _clean(p["path"])
    if not path:
        raise InvalidParameterValue("Invalid path")
    loop = asyncio.get_running_loop()

    def chunks():  # runs on the thread pool; pulls ~1 MiB at a time from the event loop
        while block := asyncio.run_coroutine_threadsafe(request.read_some(), loop).result():
            yield block

    await s.run(s.artifacts.write_stream, path, chunks())
    return Response(b"", 200)


@routes.delete(f"{ART}/{{path:path}}", response=EMPTY)
def delete_artifact(s, p):
    """Delete a file or a directory tree (a missing path is not an error)."""
    path = _clean(p["path"])
    if not path:
        raise InvalidParameterValue("Invalid path")
    s.artifacts.delete_artifacts(path)
    return {}


def _not_implemented(message: str):
    def handler(s, p):
        raise NotImplementedByPodium(message)

    return handler


_MPU_FIELDS = (Param("path", description="the client's local file path"), Param("upload_id"))
for _op, _extra in (("create", (Param("num_parts", "integer"),)),
                    ("complete", (Param("parts", "array", items=(Param("part_number", "integer"), Param("etag"),
                                                                   Param("url"))),)),
                    ("abort", ())):
    _handler = _not_implemented(_MPU_UPLOAD)
    _handler.__name__ = f"multipart_upload_{_op}"
    _handler.__doc__ = f"Multipart upload ({_op}): 501, not supported for a local destination."
    routes.post(f"{ARTIFACTS}/mpu/{_op}/{{artifact_path:path}}", *_MPU_FIELDS, *_extra, blocking=False,
                response=ref("Empty"))(_handler)

_presigned = _not_implemented(_MPU_DOWNLOAD)
_presigned.__name__ = "presigned_download"
_presigned.__doc__ = "Presigned download URL: 501, not supported for a local destination."
routes.get(f"{ARTIFACTS}/presigned/{{path:path}}", blocking=False, response=ref("Empty"))(_presigned)
