"""Every setting of ``podium server``: its CLI flag, its ``PODIUM_*`` environment variable, its default.

=======================  ==============================  ==========================================
flag                     environment variable            default
=======================  ==============================  ==========================================
--backend-store-uri      PODIUM_BACKEND_STORE_URI        ``sqlite:///./podium-data/podium.db``
--artifacts-destination  PODIUM_ARTIFACTS_DESTINATION    ``./podium-data/artifacts``
--host                   PODIUM_HOST                     ``127.0.0.1``
--port                   PODIUM_PORT                     ``5000``
--workers                PODIUM_WORKERS                  ``1``
--log-level              PODIUM_LOG_LEVEL                ``info``
--access-log/--no-...    PODIUM_ACCESS_LOG               on
--log-format             PODIUM_LOG_FORMAT               ``text`` (or ``json``: one JSON object a line)
--db-threads             PODIUM_DB_THREADS               ``4``
=======================  ==============================  ==========================================

A flag beats its environment variable, which beats the default. :data:`SETTINGS` is the one table:
the CLI builds its options from it and ``docs/rest-api.md`` lists it, so they cannot disagree.
Relative paths are resolved against the working directory once, in the parent process, so every
worker process sees the same absolute locations.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

__all__ = ["SETTINGS", "ServerSettings", "Setting"]


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    field: str
    flag: str
    env: str
    default: object
    help: str
    type: type = str
    choices: tuple[str, ...] = ()


SETTINGS: tuple[Setting, ...] = (
    Setting("backend_store_uri", "--backend-store-uri", "PODIUM_BACKEND_STORE_URI",
            "sqlite:///./podium-data/podium.db",
            "Database for experiments, runs and the model registry: sqlite:///path.db, "
            "postgresql://user:pass@host/db or mysql://user:pass@host/db."),
    Setting("artifacts_destination", "--artifacts-destination", "PODIUM_ARTIFACTS_DESTINATION",
            "./podium-data/artifacts",
            "Directory where the artifact proxy (mlflow-artifacts:/ URIs) keeps files."),
    Setting("host", "--host", "PODIUM_HOST", "127.0.0.1",
            "Interface to listen on (0.0.0.0 for every interface)."),
    Setting("port", "--port", "PODIUM_PORT", 5000, "TCP port to listen on.", int),
    Setting("workers", "--workers", "PODIUM_WORKERS", 1,
            "Server processes. One is fastest on SQLite (decision 0002); more help on PostgreSQL/MySQL.", int),
    Setting("log_level", "--log-level", "PODIUM_LOG_LEVEL", "info", "Log level.", str,
            ("critical", "error", "warning", "info", "debug")),
    Setting("access_log", "--access-log/--no-access-log", "PODIUM_ACCESS_LOG", True,
            "One log line per request: method, path, status, duration in ms.", bool),
    Setting("log_format", "--log-format", "PODIUM_LOG_FORMAT", "text",
            "Log line format: text, or json (one JSON object per line).", str, ("text", "json")),
    Setting("db_threads", "--db-threads", "PODIUM_DB_THREADS", 4,
            "Threads per worker that run database calls off the event loop (more for PostgreSQL/MySQL).", int),
)


def _parse(setting: Setting, raw: str):
    if setting.type is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return setting.type(raw)


@dataclass(frozen=True)
class ServerSettings:
    """The server's configuration (see the module docstring for each field's flag and variable)."""

    backend_store_uri: str = "sqlite:///./podium-data/podium.db"
    artifacts_destination: str = "./podium-data/artifacts"
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    log_level: str = "info"
    access_log: bool = True
    log_format: str = "text"
    db_threads: int = 4

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> "ServerSettings":
        """Defaults, then ``PODIUM_*`` variables, then ``overrides`` (CLI flags; ``None`` = not given)."""
        env = os.environ if environ is None else environ
        values = {}
        for s in SETTINGS:
            if overrides.get(s.field) is not None:
                values[s.field] = overrides[s.field]
            elif env.get(s.env) not in (None, ""):
                values[s.field] = _parse(s, env[s.env])
            else:
                values[s.field] = s.default
        return cls(**values).resolved()

    def resolved(self) -> "ServerSettings":
        """Relative SQLite and artifact paths made absolute (against the current directory)."""
        uri = self.backend_store_uri
        if uri.startswith("sqlite:///") and ":memory:" not in uri:
            path, _, query = uri[len("sqlite:///"):].partition("?")
            if not Path(path).is_absolute():
                uri = "sqlite:///" + (Path.cwd() / path).resolve().as_posix() + (f"?{query}" if query else "")
        dest = self.artifacts_destination
        if dest.startswith("file://"):
            dest = dest[len("file://"):]
        dest = str(Path(dest).expanduser().resolve())
        return replace(self, backend_store_uri=uri, artifacts_destination=dest)

    def to_env(self) -> dict[str, str]:
        """These settings as ``PODIUM_*`` variables (how worker processes receive them)."""
        by_field = {s.field: s for s in SETTINGS}
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[by_field[f.name].env] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return out
