"""Which model answers: load, verify and warm up a version, then swap it in with one assignment.

:class:`ModelFollower` holds the :class:`ServedModel` that requests use. A request reads
``follower.current`` once and keeps that object to the end, so a swap never changes the model under
a request that has started, and a request never sees half of one version and half of another.

For a URI that names a moving target (``models:/name@alias``, ``models:/name/<stage>``,
``models:/name/latest``) a background thread resolves the target every ``poll_interval`` seconds.
When it names another version, that version is loaded in the background through
``podium.pyfunc.load_model("models:/name/<n>")`` (which downloads the files and checks them against
the SHA-256 manifest recorded at registration: :mod:`podium.model_integrity`), its saved input
example (if any) is run through it, and only then does it replace the served one. A version that
fails any of these steps is never served: the old one keeps serving, the failure is kept in
:attr:`ModelFollower.last_swap_error` (``/health`` shows it; a later successful swap clears it) and
logged; the same version is tried again after :data:`RETRY_FAILED_AFTER` seconds if the target still
names it (a registry that was briefly unreachable), at once if the target moves. A fixed URI
(``models:/name/3``, ``runs:/...``, a directory) is loaded once.

Each swap, and each refusal (once per refused version), is recorded in the registry's history of
that version (``serving.swapped``, ``serving.swap_failed``: :meth:`PodiumClient.record_serving_event
<podium.client.PodiumClient.record_serving_event>`) with the scorer's identity (:attr:`ModelFollower.scorer`).
Recording is best effort: a registry that refuses it (no ``edit`` permission under ``--auth``) or
cannot be reached is logged once, and serving goes on.

:meth:`ModelFollower.poke` makes the poller resolve at once (``podium serve``'s webhook receiver
calls it), instead of at the next ``poll_interval``.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

from podium.errors import PodiumError
from podium.uris import is_local_path, local_path_of, parse_models_uri

__all__ = ["RETRY_FAILED_AFTER", "ModelFollower", "ServedModel"]

#: seconds before a version that failed to load, verify or warm up is tried again (if still named)
RETRY_FAILED_AFTER = 60.0

logger = logging.getLogger("podium.serving")


@dataclass(frozen=True)
class ServedModel:
    """A loaded, verified, warmed-up model and what it is (``version`` is None outside the registry)."""

    model: Any
    uri: str
    name: str | None
    version: int | None
    loaded_at: float
    model_dir: str


class ModelFollower:
    """The served model for ``model_uri``, kept in step with the registry (module docstring)."""

    def __init__(self, model_uri: str, tracking_uri: str | None = None, poll_interval: float = 2.0,
                 scorer: str | None = None) -> None:
        self.model_uri = model_uri
        self.tracking_uri = tracking_uri
        self.poll_interval = poll_interval
        #: who this scorer is, in the registry's history: ``host:port pid N`` (the port it listens on)
        self.scorer = f"{scorer or socket.gethostname()} pid {os.getpid()}"
        self.current: ServedModel | None = None
        self.last_swap_error: dict | None = None
        self._target = parse_models_uri(model_uri) if model_uri.startswith("models:/") else None
        self._failed: tuple[int | None, float] | None = None  # (version, when) of the last failed load
        self._unresolved = False
        self._retired: ServedModel | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._reported_failure: int | None = None  # the refused version already recorded in the history
        self._recording_failed = False
        self._thread: threading.Thread | None = None
        self._downloads: str | None = None  # where registered versions are downloaded (made by start())

    @property
    def name(self) -> str | None:
        """The registered model the URI names (None for ``runs:/``, a directory, a logged model id)."""
        return self._target.name if self._target is not None else None

    @property
    def follows(self) -> bool:
        """Does the URI name an alias, a stage or ``latest`` (something that can move)?"""
        t = self._target
        return t is not None and bool(t.alias or t.stage or t.latest)

    # -------------------------------------------------------------------------- life cycle
    def start(self) -> None:
        """Load the model the URI names now (errors propagate: nothing to serve), then follow it."""
        self._downloads = tempfile.mkdtemp(prefix="podium-serve-")
        self.current = self._load(self.resolve())
        logger.info("Serving %s (version %s).", self.model_uri, self.current.version)
        if self.follows:
            self._thread = threading.Thread(target=self._poll_loop, name="podium-serve-poller", daemon=True)
            self._thread.start()

    def poke(self) -> None:
        """Resolve the target now instead of at the next poll (a webhook said the model changed)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._downloads:
            shutil.rmtree(self._downloads, ignore_errors=True)

    def _poll_loop(self) -> None:
        while True:
            self._wake.wait(self.poll_interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            self.check()

    def check(self) -> bool:
        """Resolve the target once and swap if it moved; True when a new version now serves."""
        try:
            version = self.resolve()
        except Exception as exc:  # the registry is unreachable, the alias deleted...: keep serving
            if not self._unresolved:  # said once, not at every poll
                logger.warning("Could not resolve %s (still serving version %s): %s", self.model_uri,
                               self.current.version if self.current else None, _one_line(exc))
            self._unresolved = True
            return False
        self._unresolved = False
        current = self.current
        if current is not None and version == current.version:
            self._failed = None  # back on the served version (a rollback): a new move is tried at once
            return False
        if self._failed is not None and self._failed[0] == version \
                and time.monotonic() - self._failed[1] < RETRY_FAILED_AFTER:
            return False
        try:
            loaded = self._load(version)
        except Exception as exc:
            self._failed = (version, time.monotonic())
            self.last_swap_error = {"version": version, "error": _one_line(exc), "timestamp": int(time.time() * 1000)}
            logger.error("Not serving %s version %s: %s (version %s keeps serving).", self._target.name, version,
                         _one_line(exc), current.version if current else None)
            if self._reported_failure != version:
                self._reported_failure = version
                self._record("serving.swap_failed", version, current, _one_line(exc))
            return False
        self.current = loaded  # the swap: one reference assignment
        self._failed = None
        self._reported_failure = None
        self.last_swap_error = None
        self._retire(current)
        logger.info("Swapped %s from version %s to %s.", self.model_uri, current.version if current else None,
                    version)
        self._record("serving.swapped", version, current)
        return True

    def _record(self, action: str, version: int | None, serving: ServedModel | None, reason: str | None = None) -> None:
        """Record the swap or refusal in the registry's history (best effort: module docstring)."""
        if version is None or self._target is None or not self._target.name:
            return
        try:
            self._client().record_serving_event(
                self._target.name, version, action, self.scorer, model_uri=self.model_uri,
                serving_version=serving.version if serving is not None else None,
                reason=reason[:5000] if reason else None)
            self._recording_failed = False
        except Exception as exc:  # the registry refused or is away: serving is what matters
            if not self._recording_failed:
                logger.warning("Could not record %s of %s version %s in the registry's history: %s", action,
                               self._target.name, version, _one_line(exc))
            self._recording_failed = True

    def _retire(self, old: ServedModel | None) -> None:
        """Keep the files of the version just swapped out (requests may still be using it) and remove
        those of the one before it."""
        if self._retired is not None and self._downloads and self._retired.model_dir.startswith(self._downloads):
            shutil.rmtree(self._retired.model_dir, ignore_errors=True)
        self._retired = old

    # -------------------------------------------------------------------------- resolving and loading
    def _client(self):
        from podium.client import PodiumClient

        return PodiumClient(tracking_uri=self.tracking_uri)

    def resolve(self) -> int | None:
        """The version number the URI names now (None for a URI outside the registry)."""
        t = self._target
        if t is None or t.model_id:
            return None
        if t.version is not None:
            return t.version
        client = self._client()
        if t.alias:
            return int(client.get_model_version_by_alias(t.name, t.alias).version)
        found = client.get_latest_versions(t.name, [t.stage] if t.stage else None)
        if not found:
            from podium.errors import ResourceDoesNotExist

            where = f" in stage '{t.stage}'" if t.stage else ""
            raise ResourceDoesNotExist(f"Model '{t.name}' has no version{where}.")
        return max(int(v.version) for v in found)

    def _load(self, version: int | None) -> ServedModel:
        """Download (a registered version's files are checked against its manifest on the way), load,
        then warm up with the input example."""
        from podium.artifacts import download_artifacts

        t = self._target
        if version is None:
            uri = self.model_uri
        else:
            uri = f"models:/{t.name}/{version}" + (f"/{t.sub_path}" if t.sub_path else "")
        if is_local_path(uri):
            return self._load_dir(local_path_of(uri), version)
        dst = tempfile.mkdtemp(prefix=f"v{version}-" if version else "model-", dir=self._downloads)
        try:
            return self._load_dir(download_artifacts(artifact_uri=uri, dst_path=dst, tracking_uri=self.tracking_uri),
                                  version)
        except BaseException:
            shutil.rmtree(dst, ignore_errors=True)
            raise

    def _load_dir(self, model_dir: str, version: int | None) -> ServedModel:
        import podium.pyfunc
        from podium.flavors.model import Model

        model = podium.pyfunc.load_model(model_dir)
        _warm_up(model, Model.load(model_dir), model_dir)
        t = self._target
        return ServedModel(model, self.model_uri, t.name if t else None, version, time.time(), model_dir)


def _warm_up(model, meta, model_dir: str) -> None:
    """Run the saved input example through the model (nothing to do without one)."""
    example = meta.load_input_example(model_dir)
    if example is not None:
        try:
            model.predict(example)
        except Exception as exc:
            raise PodiumError(f"its input example failed to predict: {_one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())
