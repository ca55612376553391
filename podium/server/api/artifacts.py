"""The artifact proxy: files under the artifacts destination, for ``mlflow-artifacts:/`` URIs.

=====================================================  =============================================
``GET  /api/2.0/mlflow-artifacts/artifacts?path=<d>``   list ``<d>``: basenames, ``{}`` for a file,
                                                        an empty or a missing directory
``GET  /api/2.0/mlflow-artifacts/artifacts/<p>``        download, streamed (404 JSON if missing,
                                                        400 for a directory)
``PUT  /api/2.0/mlflow-artifacts/artifacts/<p>``        upload, streamed to the store (a temporary file
                                                        renamed into place; an S3 multipart upload)
``DELETE /api/2.0/mlflow-artifacts/artifacts/<p>``      delete a file or a directory tree
``POST /api/2.0/mlflow-artifacts/mpu/create/<dir>``     S3: start a multipart upload of
                                                        ``<dir>/<basename of body.path>``; answer the
                                                        upload id and presigned part URLs
``POST …/mpu/complete/<dir>``, ``…/mpu/abort/<dir>``    S3: assemble the parts (their ETags) / abandon
``GET  /api/2.0/mlflow-artifacts/presigned/<p>``        S3: a presigned GET URL and the file size (the
                                                        client then sends ranged GETs to S3 itself)
=====================================================  =============================================

With a local destination ``mpu/*`` and ``presigned/`` answer 501 NOT_IMPLEMENTED with MLflow's
messages (the mlflow client falls back to PUT/GET), and ``server-info`` advertises neither.

A path with ``..``, a leading ``/``, a backslash or a NUL is ``400 INVALID_PARAMETER_VALUE "Invalid
path"``. An upload never shows half-written: listings skip in-flight temporary files, and an S3
upload becomes visible only when complete. Downloads from a local destination are sent from the
file; from S3 the object's body is streamed through in 1 MiB chunks (Content-Length from its size).
Under ``podium server`` a big upload's body goes from the socket to the store's temporary file and a
big local file from the disk to the socket without passing through Python (``os.splice``,
``os.sendfile``; :mod:`podium.server.http`, decision 0025).
"""

from __future__ import annotations

import asyncio

from podium import wire
from podium.errors import InvalidParameterValue, NotImplementedByPodium, ResourceDoesNotExist
from podium.server.api.common import EMPTY
from podium.server.http import SMALL_BODY_MAX, FileResponse, JSONResponse, Response, StreamResponse
from podium.server.requests import missing_value, parse_body, parse_params
from podium.server.routing import ARTIFACTS, Param, Router
from podium.server.schemas import listing
from podium.store.artifacts.base import PresignedTransfers, check_path_length

__all__ = ["multipart_enabled", "routes"]

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
    return check_path_length("/".join(parts))


@routes.get(ART, Param("path", description="a directory relative to the destination (root when omitted)"),
            response=listing("files", "FileInfo", paged=False))
def list_artifacts(s, p):
    """The direct children of a directory (basenames); {} for a file or a missing directory."""
    infos = s.artifacts.list_artifacts(_clean(p["path"]) or None)
    return {"files": [wire.to_wire_file_info(fi, basename=True) for fi in infos]} if infos else {}


def _is_a_directory(path: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Artifact path '{path}' is a directory; list it instead.")


def _downloadable(store, path: str):
    """The response for a download: the file itself (local store) or the object's stream."""
    if not path:
        raise _is_a_directory(path)
    local_file = getattr(store, "local_file", None)
    if local_file is not None:
        if store.is_dir(path):
            raise _is_a_directory(path)
        return FileResponse(local_file(path))  # RESOURCE_DOES_NOT_EXIST "No such artifact: '<path>'"
    try:
        size = store.file_size(path)  # one HEAD for the usual case; the LIST only when it is missing
    except ResourceDoesNotExist:
        if store.is_dir(path):
            raise _is_a_directory(path) from None
        raise
    return StreamResponse(path.rsplit("/", 1)[-1], size, store.open_read(path))


@routes.get(f"{ART}/{{path:path}}", streaming=True, response_content="*/*",
            response={"type": "string", "format": "binary"})
async def download_artifact(s, p, request):
    """Download a file (streamed, Content-Disposition: attachment)."""
    response = await s.run(_downloadable, s.artifacts, _clean(p["path"]))
    if isinstance(response, FileResponse) and request.scope.get("method") == "GET":
        response.connection = request.connection()  # sendfile, when the server lends the socket
    return response


@routes.put(f"{ART}/{{path:path}}", streaming=True, request_content=_BINARY, response={"type": "string"},
            response_content="text/plain")
async def upload_artifact(s, p, request):
    """Upload a file (raw body; streamed to the store, visible only once complete)."""
    path = _clean(p["path"])
    if not path:
        raise InvalidParameterValue("Invalid path")
    declared = request.content_length()
    if declared is not None and declared <= SMALL_BODY_MAX:  # small: read whole here, one trip to a file thread
        data = await request.read_some(declared) if declared else b""
        await s.run(s.artifacts.write_stream, path, [data])
        return Response(b"", 200)
    body = request.socket_body()  # big: the store reads it from the socket itself (splice)
    if body is not None:
        await s.run(s.artifacts.write_stream, path, body)
        return Response(b"", 200)
    loop = asyncio.get_running_loop()

    def chunks():
        """Runs on the thread pool: ~1 MiB blocks from the event loop, one read always in flight, so
        receiving the next block overlaps writing this one (at most two blocks held)."""
        pending = asyncio.run_coroutine_threadsafe(request.read_some(), loop)
        try:
            while block := pending.result():
                pending = asyncio.run_coroutine_threadsafe(request.read_some(), loop)
                yield block
        finally:
            pending.cancel()  # the writer stopped early (an error): no read left running

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


# ------------------------------------------------------------------ MLflow's multipart (presigned) protocol
def multipart_enabled(store) -> bool:
    """Does the destination take MLflow's multipart uploads and presigned downloads (S3: yes)?"""
    return isinstance(store, PresignedTransfers)


def _presigning(store, message: str):
    if not multipart_enabled(store):
        raise NotImplementedByPodium(message)  # checked first: the client's fallback keys on this answer
    return store


def _upload_target(p: dict) -> str:
    """``<dir>/<basename of the client's local path>``, where MLflow's server puts a multipart upload."""
    local = p["path"]
    if not local:
        raise missing_value("path")
    name = local.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    if name in ("", ".", ".."):
        raise InvalidParameterValue("Invalid path")
    directory = _clean(p["artifact_path"])
    return _clean(f"{directory}/{name}" if directory else name)


def _required(p: dict, name: str):
    if p[name] in (None, ""):
        raise missing_value(name)
    return p[name]


def _create(store, p: dict) -> dict:
    upload_id, urls = store.create_multipart_upload(_upload_target(p), p["num_parts"] or 1)
    return {"upload_id": upload_id,
            "credentials": [{"url": url, "part_number": n, "headers": {}} for n, url in enumerate(urls, start=1)]}


def _complete(store, p: dict) -> dict:
    parts = []
    for part in _required(p, "parts"):
        if part.get("part_number") is None or not part.get("etag"):
            raise InvalidParameterValue("Each part needs its 'part_number' and 'etag'.")
        parts.append((part["part_number"], part["etag"]))
    store.complete_multipart_upload(_upload_target(p), _required(p, "upload_id"), parts)
    return {}


def _abort(store, p: dict) -> dict:
    store.abort_multipart_upload(_upload_target(p), _required(p, "upload_id"))
    return {}


_MPU_FIELDS = (Param("path", description="the client's local file path (its basename names the artifact)"),
               Param("upload_id"))
_CREDENTIAL = {"type": "object", "properties": {"url": {"type": "string"}, "part_number": {"type": "integer"},
                                                "headers": {"type": "object"}}}
_MPU_OPS = (
    ("create", _create, (Param("num_parts", "integer", maximum=10_000),),
     {"type": "object", "properties": {"upload_id": {"type": "string"},
                                       "credentials": {"type": "array", "items": _CREDENTIAL}}},
     "Start a multipart upload: presigned part URLs (S3 destination; 501 for a local one)."),
    ("complete", _complete, (Param("parts", "array", items=(Param("part_number", "integer"), Param("etag"),
                                                              Param("url"))),),
     EMPTY, "Complete a multipart upload from its parts' ETags (S3 destination; 501 for a local one)."),
    ("abort", _abort, (), EMPTY, "Abort a multipart upload (S3 destination; 501 for a local one)."),
)


def _mpu_handler(op: str, work, registered: dict):
    async def handler(s, p, request):
        store = _presigning(s.artifacts, _MPU_UPLOAD)
        # a streaming route (so the object store is called on the file pool, never under the SQLite
        # write lock): the JSON body is parsed here, with the route's own parameter rules
        body = parse_body(await request.body())
        params = parse_params(registered["route"], {}, body, {"artifact_path": p["artifact_path"]})
        return JSONResponse(await s.run(work, store, params))

    handler.__name__ = f"multipart_upload_{op}"
    return handler


for _op, _work, _extra, _response, _doc in _MPU_OPS:
    _registered: dict = {}
    _handler = _mpu_handler(_op, _work, _registered)
    _handler.__doc__ = _doc
    routes.post(f"{ARTIFACTS}/mpu/{_op}/{{artifact_path:path}}", *_MPU_FIELDS, *_extra, streaming=True,
                response=_response)(_handler)
    _registered["route"] = routes.routes[-1]


def _presigned(store, path: str) -> dict:
    if not path:
        raise _is_a_directory(path)
    url, size = store.presigned_download_url(path)
    return {"url": url, "headers": {}, "file_size": size}


@routes.get(f"{ARTIFACTS}/presigned/{{path:path}}", streaming=True, response={
    "type": "object", "properties": {"url": {"type": "string"}, "headers": {"type": "object"},
                                     "file_size": {"type": "integer", "format": "int64"}}})
async def presigned_download(s, p, request):
    """A presigned URL for ranged GETs straight from S3, and the file's size (501 for a local destination)."""
    store = _presigning(s.artifacts, _MPU_DOWNLOAD)
    return JSONResponse(await s.run(_presigned, store, _clean(p["path"])))
