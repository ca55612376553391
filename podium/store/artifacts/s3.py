"""``S3ArtifactStore``: artifacts as objects below ``s3://<bucket>/<prefix>`` (AWS S3 or compatible).

boto3 is imported here and nowhere else, lazily (``pip install "podium[s3]"``).

=================================  ==============================================================
setting                            effect
=================================  ==============================================================
``PODIUM_S3_ENDPOINT_URL``         an S3-compatible endpoint (MinIO, Ceph, moto, ...); falls back
                                   to ``MLFLOW_S3_ENDPOINT_URL``. With an endpoint, addressing is
                                   path-style (``http://host/bucket/key``).
``AWS_DEFAULT_REGION``             the region (also ``AWS_REGION``; else boto3's configuration)
``AWS_ACCESS_KEY_ID`` ...          credentials: boto3's usual chain (variables, ``~/.aws``,
                                   ``AWS_PROFILE``, instance/container roles, web identity)
``PODIUM_S3_IGNORE_TLS``           ``true``: do not verify the endpoint's TLS certificate (also
                                   ``MLFLOW_S3_IGNORE_TLS``)
=================================  ==============================================================

How the contract maps onto S3:

* **Writes are atomic**: a stream smaller than one part is a single ``PutObject``; a larger one is a
  multipart upload whose parts (8 MiB, growing after every 1,000 parts so 10,000 parts reach far
  beyond 1 TB) go up in parallel on a small shared thread pool, at most ``UPLOAD_CONCURRENCY`` in
  flight per upload, so memory stays below ``(UPLOAD_CONCURRENCY + 1) * part size`` whatever the
  size. The object appears only at ``CompleteMultipartUpload``; any failure or interruption aborts
  the upload, so neither a partial object nor an orphaned upload is left behind.
* ``overwrite=False`` sends ``If-None-Match: *`` on the ``PutObject`` or the ``Complete`` call: S3
  itself refuses the write if the key exists (``RESOURCE_ALREADY_EXISTS``).
* Directories are key prefixes: listing uses ``ListObjectsV2`` with ``Delimiter="/"`` and follows
  continuation tokens (``page_size`` keys a request); an empty directory does not exist.
* Reads stream ``GetObject`` bodies; ``byte_range`` becomes an HTTP ``Range``. Downloads of big
  files use boto3's parallel ranged transfer; trees download several files at once.
* Deletes list the prefix and remove keys with ``DeleteObjects`` in batches of 1,000.
* Keys read back from the bucket go through the same path rules as user input, so an object named
  ``a/../../x`` can never make a download write outside its destination.
"""

from __future__ import annotations

import mimetypes
import os
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, NoReturn

from podium import settings
from podium.domain.entities import FileInfo
from podium.errors import (
    InvalidParameterValue,
    PodiumError,
    ResourceAlreadyExists,
    ResourceConflict,
    ResourceDoesNotExist,
    TemporarilyUnavailable,
)
from podium.store.artifacts.base import ByteRange, check_byte_range, clean_relative_path

__all__ = ["S3ArtifactStore", "parse_s3_uri", "s3_client"]

#: parts of a multipart upload (S3: at least 5 MiB except the last; at most 10,000 parts)
PART_SIZE = 8 << 20
MIN_PART_SIZE = 5 << 20
MAX_PARTS = 10_000
#: parts in flight per upload (and so the memory one upload may hold: this many + 1 parts)
UPLOAD_CONCURRENCY = 4
#: threads shared by all uploads of the process for sending parts
PART_THREADS = 8
#: keys per ListObjectsV2 / DeleteObjects request (S3's maximum is 1,000)
PAGE_SIZE = 1000
#: files downloaded at once by ``download_artifacts`` of a tree
DOWNLOAD_THREADS = 4
#: lifetime of presigned URLs, seconds (an upload URL must outlive the part's transfer)
PRESIGNED_UPLOAD_TTL = 3600
PRESIGNED_DOWNLOAD_TTL = 900

_READ_BLOCK = 1 << 20


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")`` (prefix without slashes at the ends)."""
    if not uri.startswith("s3://"):
        raise InvalidParameterValue(f"Not an s3:// URI: '{uri}'")
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    if not bucket:
        raise InvalidParameterValue(f"Invalid S3 URI '{uri}': expected s3://<bucket>/<prefix>")
    prefix = prefix.strip("/")
    if prefix and clean_relative_path(prefix) != prefix:
        raise InvalidParameterValue(f"Invalid S3 URI '{uri}': the prefix must be a plain path")
    return bucket, prefix


# ---------------------------------------------------------------------------------------- clients
_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()
_part_pool: ThreadPoolExecutor | None = None


def s3_client():
    """A boto3 S3 client for the current settings (cached: creating one costs tens of milliseconds)."""
    key = settings.s3_settings()
    endpoint, region, verify = key.endpoint, key.region, key.verify
    client = _clients.get(key)
    if client is not None:
        return client
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError:  # pragma: no cover - depends on the installation
                raise PodiumError(
                    "s3:// artifact locations need boto3: pip install 'podium[s3]'"
                ) from None
            config = Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"} if endpoint else {},
                retries={"mode": "standard", "max_attempts": 5},
                max_pool_connections=PART_THREADS + 24,
            )
            # a session of its own: boto3's default session is not safe to share between threads
            client = boto3.session.Session().client(
                "s3", endpoint_url=endpoint, region_name=region, verify=verify, config=config)
            _clients[key] = client
        return client


def _parts_executor() -> ThreadPoolExecutor:
    global _part_pool
    if _part_pool is None:
        with _clients_lock:
            if _part_pool is None:
                _part_pool = ThreadPoolExecutor(PART_THREADS, thread_name_prefix="podium-s3-part")
    return _part_pool


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _status(exc: BaseException) -> int:
    response = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _is_missing(exc: BaseException) -> bool:
    code = _code(exc)
    return code in ("NoSuchKey", "404", "NotFound") or (_status(exc) == 404 and code not in ("NoSuchBucket", "NoSuchUpload"))


def _raise_conditional(exc: BaseException, path: str) -> None:
    """The answers to ``If-None-Match: *``: 412, the key exists; 409, another write of it is in flight."""
    if _code(exc) in ("PreconditionFailed", "412") or _status(exc) == 412:
        raise _already_exists(path) from exc
    if _code(exc) == "ConditionalRequestConflict" or _status(exc) == 409:
        raise ResourceConflict(f"Another write of artifact '{path}' is in progress; retry.") from exc


class S3ArtifactStore:
    """Files below ``s3://<bucket>/<prefix>``; see the module docstring for the mapping."""

    def __init__(self, root_uri: str, *, client=None) -> None:
        self.root_uri = root_uri
        self.bucket, self.prefix = parse_s3_uri(root_uri)
        self._client = client
        self.page_size = PAGE_SIZE
        self.part_size = PART_SIZE
        self.upload_concurrency = UPLOAD_CONCURRENCY

    @property
    def client(self):
        if self._client is None:
            self._client = s3_client()
        return self._client

    # ------------------------------------------------------------------------------ paths
    def _key(self, relative: str) -> str:
        return "/".join(p for p in (self.prefix, relative) if p)

    def _dir_prefix(self, relative: str) -> str:
        key = self._key(relative)
        return f"{key}/" if key else ""

    def _file_key(self, path: str) -> tuple[str, str]:
        relative = clean_relative_path(path)
        if not relative:
            raise InvalidParameterValue("The artifact root is a directory; give a file path.")
        return relative, self._key(relative)

    def _errors(self, exc: BaseException, path: str) -> Exception:
        """A PodiumError for a boto3 error (``exc`` itself when it is none of the known kinds)."""
        code = _code(exc)
        if _is_missing(exc):
            return ResourceDoesNotExist(f"No such artifact: '{path}'")
        if code == "NoSuchBucket":
            return PodiumError(f"S3 bucket '{self.bucket}' does not exist (artifact root {self.root_uri}).")
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
            return PodiumError(f"S3 refused access to s3://{self.bucket}/{self._key(path)} ({code}); "
                               "check the server's AWS credentials.")
        if type(exc).__name__ in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
            return TemporarilyUnavailable(f"S3 is unreachable: {exc}")
        return exc  # type: ignore[return-value]

    def _raise(self, exc: BaseException, path: str) -> NoReturn:
        """Re-raise a boto3 error as a PodiumError when it is a known kind (call inside ``except``)."""
        translated = self._errors(exc, path)
        if translated is exc:
            raise exc
        raise translated from exc

    # ------------------------------------------------------------------------------ listing
    def _pages(self, prefix: str, delimiter: str | None, max_keys: int | None = None) -> Iterator[dict]:
        params = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": max_keys or self.page_size}
        if delimiter:
            params["Delimiter"] = delimiter
        while True:
            try:
                page = self.client.list_objects_v2(**params)
            except Exception as exc:
                self._raise(exc, prefix)
            yield page
            if not page.get("IsTruncated"):
                return
            params["ContinuationToken"] = page["NextContinuationToken"]

    def _walk_keys(self, relative: str) -> Iterator[tuple[str, int]]:
        """``(path relative to the root, size)`` of every object below the directory ``relative``."""
        prefix = self._dir_prefix(relative)
        for page in self._pages(prefix, None):
            for obj in page.get("Contents", ()):
                rest = obj["Key"][len(prefix):]
                if not rest or rest.endswith("/"):
                    continue  # a "directory marker" object, not a file
                rel = "/".join(p for p in (relative, rest) if p)
                if _safe(rel):
                    yield rel, int(obj.get("Size", 0))

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        relative = clean_relative_path(path)
        prefix = self._dir_prefix(relative)
        infos: dict[str, FileInfo] = {}
        for page in self._pages(prefix, "/"):
            for common in page.get("CommonPrefixes", ()):
                name = common["Prefix"][len(prefix):].rstrip("/")
                rel = f"{relative}/{name}" if relative else name
                if name and "/" not in name and _safe(rel):
                    infos[rel] = FileInfo(rel, True, None)
            for obj in page.get("Contents", ()):
                name = obj["Key"][len(prefix):]
                rel = f"{relative}/{name}" if relative else name
                if name and "/" not in name and _safe(rel):
                    infos.setdefault(rel, FileInfo(rel, False, int(obj.get("Size", 0))))
        return [infos[k] for k in sorted(infos)]

    def is_dir(self, path: str) -> bool:
        relative = clean_relative_path(path)
        if not relative:
            return True
        page = next(self._pages(self._dir_prefix(relative), None, max_keys=1))
        return bool(page.get("KeyCount") or page.get("Contents"))

    def _head(self, path: str) -> dict:
        _, key = self._file_key(path)
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            self._raise(exc, path)

    def exists(self, path: str) -> bool:
        if not clean_relative_path(path):
            return True
        try:
            self._head(path)
            return True
        except ResourceDoesNotExist:
            return self.is_dir(path)

    def file_size(self, path: str) -> int:
        return int(self._head(path)["ContentLength"])

    # ------------------------------------------------------------------------------ reading
    def open_read(self, path: str, chunk_size: int = _READ_BLOCK, byte_range: ByteRange | None = None) -> Iterator[bytes]:
        _, key = self._file_key(path)
        byte_range = check_byte_range(byte_range)
        params = {"Bucket": self.bucket, "Key": key}
        if byte_range is not None:
            first, last = byte_range
            params["Range"] = f"bytes={first}-{'' if last is None else last}"
        try:
            body = self.client.get_object(**params)["Body"]
        except Exception as exc:
            if _code(exc) == "InvalidRange":  # the range starts at or past the end
                return iter(())
            self._raise(exc, path)

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(chunk_size)
            finally:
                body.close()

        return chunks()

    def download_artifacts(self, artifact_path: str, dst_path: str) -> str:
        relative = clean_relative_path(artifact_path)
        target = Path(dst_path) / relative if relative else Path(dst_path)
        if relative:
            try:
                self._head(relative)
            except ResourceDoesNotExist:
                pass
            else:
                self._download_file(relative, target)
                return str(target)
        files = list(self._walk_keys(relative))
        if not files and relative:
            raise ResourceDoesNotExist(f"No such artifact: '{artifact_path}'")
        target.mkdir(parents=True, exist_ok=True)
        if files:
            with ThreadPoolExecutor(min(DOWNLOAD_THREADS, len(files)), thread_name_prefix="podium-s3-get") as pool:
                list(pool.map(lambda f: self._download_file(f[0], Path(dst_path) / f[0]), files))
        return str(target)

    def _download_file(self, relative: str, target: Path) -> None:
        from boto3.s3.transfer import TransferConfig

        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".podium-tmp-", dir=target.parent)
        os.close(fd)
        config = TransferConfig(multipart_threshold=64 << 20, multipart_chunksize=16 << 20,
                                max_concurrency=UPLOAD_CONCURRENCY, use_threads=True)
        try:
            self.client.download_file(self.bucket, self._key(relative), tmp, Config=config)
            os.replace(tmp, target)
        except Exception as exc:
            Path(tmp).unlink(missing_ok=True)
            self._raise(exc, relative)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # ------------------------------------------------------------------------------ writing
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        prefix = clean_relative_path(artifact_path)
        name = Path(local_file).name
        with open(local_file, "rb") as src:
            self.write_stream(f"{prefix}/{name}" if prefix else name, src)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        base = Path(local_dir)
        if not base.is_dir():
            raise ResourceDoesNotExist(f"No such local directory: '{local_dir}'")
        prefix = clean_relative_path(artifact_path)
        for file in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = file.relative_to(base).as_posix()
            with open(file, "rb") as src:
                self.write_stream(f"{prefix}/{rel}" if prefix else rel, src)

    def write_stream(self, path: str, chunks: BinaryIO | Iterator[bytes], *, overwrite: bool = True,
                     before_commit=None) -> int:
        relative, key = self._file_key(path)
        if self.is_dir(relative):
            raise InvalidParameterValue(f"Cannot overwrite directory '{path}' with a file.")
        if not overwrite and self._exists_file(relative):
            raise _already_exists(path)  # early, before reading the stream; S3 checks again at commit
        blocks = _blocks(chunks)
        first = _read_part(blocks, _part_size(self.part_size, 1))
        extra = {"ContentType": _content_type(relative)}
        if not overwrite:
            extra["IfNoneMatch"] = "*"
        if len(first) < _part_size(self.part_size, 1):
            if before_commit is not None:
                before_commit()
            try:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=first, **extra)
            except Exception as exc:
                _raise_conditional(exc, path)
                self._raise(exc, relative)
            return len(first)
        return self._multipart_write(relative, key, first, blocks, extra, before_commit)

    def _exists_file(self, relative: str) -> bool:
        try:
            self._head(relative)
            return True
        except ResourceDoesNotExist:
            return False

    def _multipart_write(self, relative: str, key: str, first: bytes, blocks: Iterator[bytes], extra: dict,
                         before_commit=None) -> int:
        if_none_match = extra.pop("IfNoneMatch", None)
        try:
            upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key, **extra)["UploadId"]
        except Exception as exc:
            self._raise(exc, relative)
        pool = _parts_executor()
        slots = threading.Semaphore(self.upload_concurrency)
        futures: list[Future] = []
        pending: set[Future] = set()
        written = 0
        try:
            data, number = first, 1
            while data:
                if number > MAX_PARTS:
                    raise InvalidParameterValue(f"Artifact '{relative}' needs more than {MAX_PARTS} parts.")
                slots.acquire()  # at most upload_concurrency parts in memory besides the one being read
                future = pool.submit(self._upload_part, key, upload_id, number, data)
                future.add_done_callback(lambda _f: slots.release())
                futures.append(future)
                pending.add(future)
                for done in [f for f in pending if f.done()]:  # fail fast: stop reading once a part failed
                    pending.discard(done)
                    if done.exception() is not None:
                        raise done.exception()
                written += len(data)
                del data
                number += 1
                data = _read_part(blocks, _part_size(self.part_size, number))
            parts = [{"PartNumber": n, "ETag": f.result()} for n, f in enumerate(futures, start=1)]
            complete = {"IfNoneMatch": if_none_match} if if_none_match else {}
            if before_commit is not None:
                before_commit()  # raising aborts the upload (below)
            try:
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}, **complete)
            except Exception as exc:
                _raise_conditional(exc, relative)
                self._raise(exc, relative)
        except BaseException:
            for future in futures:
                future.cancel()
            for future in futures:  # let running parts finish before aborting, or they would revive it
                if not future.cancelled():
                    try:
                        future.exception()
                    except BaseException:  # noqa: BLE001
                        pass
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            except Exception:  # noqa: BLE001 - the original error matters more
                pass
            raise
        return written

    def _upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        response = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                           Body=data)
        return response["ETag"]

    # ------------------------------------------------------------------------------ deleting
    def delete_artifacts(self, path: str | None = None) -> None:
        relative = clean_relative_path(path)
        batch: list[dict] = [{"Key": self._key(relative)}] if relative else []
        prefix = self._dir_prefix(relative)
        for page in self._pages(prefix, None):
            batch.extend({"Key": obj["Key"]} for obj in page.get("Contents", ()))
            while len(batch) >= self.page_size:
                self._delete_batch(batch[: self.page_size])
                batch = batch[self.page_size:]
        if batch:
            self._delete_batch(batch)

    def _delete_batch(self, objects: list[dict]) -> None:
        for start in range(0, len(objects), 1000):
            chunk = objects[start:start + 1000]
            try:
                response = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
            except Exception as exc:
                self._raise(exc, chunk[0]["Key"])
            failed = [e for e in response.get("Errors", ()) if e.get("Code") != "NoSuchKey"]
            if failed:
                first = failed[0]
                raise PodiumError(f"S3 could not delete {len(failed)} object(s), e.g. '{first.get('Key')}': "
                                  f"{first.get('Code')} {first.get('Message', '')}".rstrip())

    # ------------------------------------------------------------------------------ presigned transfers
    def create_multipart_upload(self, path: str, num_parts: int) -> tuple[str, list[str]]:
        relative, key = self._file_key(path)
        if not 1 <= int(num_parts) <= MAX_PARTS:
            raise InvalidParameterValue(f"num_parts must be between 1 and {MAX_PARTS}, got {num_parts}")
        try:
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=_content_type(relative))["UploadId"]
        except Exception as exc:
            self._raise(exc, relative)
        urls = [
            self.client.generate_presigned_url(
                "upload_part", ExpiresIn=PRESIGNED_UPLOAD_TTL,
                Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": number})
            for number in range(1, int(num_parts) + 1)
        ]
        return upload_id, urls

    def complete_multipart_upload(self, path: str, upload_id: str, parts: Iterable[tuple[int, str]]) -> None:
        relative, key = self._file_key(path)
        ordered = sorted((int(n), str(etag)) for n, etag in parts)
        if not ordered:
            raise InvalidParameterValue("Completing a multipart upload needs at least one part.")
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in ordered]})
        except Exception as exc:
            code = _code(exc)
            if code == "NoSuchUpload":
                raise ResourceDoesNotExist(f"No multipart upload '{upload_id}' for '{relative}'") from exc
            if code in ("InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML"):
                raise InvalidParameterValue(f"Cannot complete the upload of '{relative}': {code}") from exc
            self._raise(exc, relative)

    def abort_multipart_upload(self, path: str, upload_id: str) -> None:
        relative, key = self._file_key(path)
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception as exc:
            if _code(exc) == "NoSuchUpload":
                raise ResourceDoesNotExist(f"No multipart upload '{upload_id}' for '{relative}'") from exc
            self._raise(exc, relative)

    def presigned_download_url(self, path: str) -> tuple[str, int]:
        relative, key = self._file_key(path)
        size = self.file_size(relative)
        url = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=PRESIGNED_DOWNLOAD_TTL)
        return url, size


# ---------------------------------------------------------------------------------------- helpers
def _already_exists(path: str) -> ResourceAlreadyExists:
    return ResourceAlreadyExists(f"Artifact '{path}' already exists and may not be overwritten.")


def _safe(relative: str) -> bool:
    """Is a path made from a key one the path rules accept unchanged (no ``..``, ``//``, ``\\``)?"""
    try:
        return clean_relative_path(relative) == relative
    except InvalidParameterValue:
        return False


def _blocks(chunks: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    if hasattr(chunks, "read"):
        while block := chunks.read(_READ_BLOCK):
            yield block
    else:
        for block in chunks:
            if block:
                yield bytes(block)


def _read_part(blocks: Iterator[bytes], size: int) -> bytes:
    """The next ``size`` bytes or a little more (whole blocks); fewer only at the end of the stream."""
    parts, have = [], 0
    for block in blocks:
        parts.append(block)
        have += len(block)
        if have >= size:
            break
    return b"".join(parts)


def _part_size(base: int, number: int) -> int:
    """Part ``number``'s size: ``base`` for parts 1-1000, doubling every 1,000 parts (capped at 5 GiB)."""
    return min(max(base, MIN_PART_SIZE) << ((number - 1) // 1000), 5 << 30)



def _content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
