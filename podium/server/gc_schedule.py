"""Scheduled garbage collection inside ``podium server`` (``--gc-interval``, ``--gc-retention``).

Every worker process runs one :class:`GcScheduler`: a daemon thread that wakes up every
:func:`tick_seconds` and asks :meth:`podium.services.gc.GcService.collect_if_due` to collect. That
claims the database's ``gc`` lease row first (:meth:`podium.store.base.GcStore.claim_collection`):
the job is taken only when it is due (``next_run_at`` passed) and nobody holds it, in one
transaction, so however many processes (workers, servers, hosts) share the database, one collects
per interval. A collector that dies mid-way keeps the job until its lease expires (the interval, at
least 10 minutes); what it left unfinished is finished by the next collection.

The collection runs as the actor ``system`` (so the purge history says who did it), and logs one
line per collection that found something (``podium.gc`` logger), and a warning per problem.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from podium.auth.actor import Actor, acting_as
from podium.domain.gc import format_duration, parse_duration

__all__ = ["GcScheduler", "scheduler_for", "tick_seconds"]

_log = logging.getLogger("podium.gc")
SYSTEM = Actor("system", via="local")


def tick_seconds(interval_ms: int) -> float:
    """How often a process looks whether the job is due: a quarter of the interval, 1 s to 60 s."""
    return min(60.0, max(1.0, interval_ms / 4000))


class GcScheduler:
    """One process's collector thread (see the module docstring)."""

    def __init__(self, service, interval_ms: int, retention_ms: int, holder: str | None = None) -> None:
        self.service = service
        self.interval_ms = interval_ms
        self.retention_ms = retention_ms
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            _log.info("gc: collecting every %s (retention %s) when this process holds the database's lease (%s)",
                      format_duration(self.interval_ms), format_duration(self.retention_ms), self.holder)
            self._thread = threading.Thread(target=self._run, name="podium-gc", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(tick_seconds(self.interval_ms))

    def run_once(self):
        """Collect if this process wins the job now; the report, or None."""
        try:
            with acting_as(SYSTEM):
                report = self.service.collect_if_due(self.holder, self.interval_ms, self.retention_ms)
        except Exception:  # noqa: BLE001 - a failed collection is retried at the next interval
            _log.warning("Garbage collection failed; retrying at the next interval.", exc_info=True)
            return None
        if report is not None:
            for warning in report.warnings:
                _log.warning("gc: %s", warning)
            if report.purged or report.artifacts:
                deleted = sum(1 for a in report.artifacts if a["action"] == "deleted")
                _log.info("gc by %s: purged %d object(s) (%d rows), deleted %d location(s) (%d bytes)",
                          self.holder, len(report.purged), report.rows, deleted, report.bytes)
        return report


def scheduler_for(settings, backend) -> GcScheduler | None:
    """The scheduler a server's settings ask for (``--gc-interval`` not 0), else None."""
    interval = parse_duration(settings.gc_interval)
    if not interval or backend is None or backend.gc is None:
        return None
    return GcScheduler(backend.gc, interval, parse_duration(settings.gc_retention))
