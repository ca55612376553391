"""Every setting of ``podium server``: its CLI flag, its ``PODIUM_*`` environment variable, its
config-file key and its default.

:data:`SETTINGS` is the one table. The CLI builds its options from it, and ``docs/configuration.md``
lists it row for row (``tests/server/test_settings.py`` fails when they differ), so the code, the
``--help`` text and the docs cannot disagree.

Where a value comes from, first match wins:

1. a command-line flag (``--port 8080``);
2. its environment variable (``PODIUM_PORT=8080``);
3. the config file named by ``--config FILE`` or ``PODIUM_CONFIG`` (TOML, one top-level key per
   setting, named like the dataclass field: ``port = 8080``);
4. the default; for ``backend_store_uri``, before it, the tracking URI (``podium --tracking-uri URI
   server`` or ``PODIUM_TRACKING_URI``) when it names a database, so the server started after
   ``export PODIUM_TRACKING_URI=sqlite:///…`` serves that store. A tracking URI that is a server
   (``http://…``) is refused there: a server needs a database.

Values are checked wherever they come from: an unknown key in the file, ``PODIUM_PORT=eighty``,
``PODIUM_ACCESS_LOG=maybe`` or ``log_level = "loud"`` stop the server with a message naming the
source, instead of being ignored. Relative paths are resolved against the working directory
(whichever source they come from) once, in the parent process, so every worker process sees the
same absolute locations. Worker processes receive the resolved settings as ``PODIUM_*`` variables
(:meth:`ServerSettings.to_env`).
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable

from podium.domain.gc import parse_duration

from podium.errors import InvalidParameterValue

__all__ = [
    "ADMIN_PASSWORD_ENV",
    "MULTIPROC_ENV",
    "SETTINGS",
    "ServerSettings",
    "Setting",
    "admin_password",
    "available_cores",
    "default_workers",
    "load_config_file",
    "metrics_dir",
    "set_metrics_dir",
]

#: the first admin's password on a database without users (``--auth``; read once, at start)
ADMIN_PASSWORD_ENV = "PODIUM_ADMIN_PASSWORD"
#: prometheus_client's variable: the directory where every worker process writes its metric files
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True)
class Setting:
    """One row of the settings table. ``key`` is its name in the config file (``None``: not settable there)."""

    field: str
    flag: str
    env: str
    default: object
    help: str
    type: type = str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    in_file: bool = True
    #: a further check of the value (raises ValueError with the reason), e.g. a duration's spelling
    check: "Callable[[object], object] | None" = None
    #: computes the default at start when ``default`` names a rule (``workers``: "auto")
    default_rule: "Callable[[], object] | None" = None

    def default_value(self):
        """The default this process uses (``default`` is what ``--help`` and the docs show)."""
        return self.default_rule() if self.default_rule is not None else self.default

    @property
    def key(self) -> str | None:
        return self.field if self.in_file else None


SETTINGS: tuple[Setting, ...] = (
    Setting("config", "--config", "PODIUM_CONFIG", "",
            "TOML file with settings (keys as in docs/configuration.md); flags and PODIUM_* variables "
            "override it.", in_file=False),
    Setting("backend_store_uri", "--backend-store-uri", "PODIUM_BACKEND_STORE_URI",
            "sqlite:///./podium-data/podium.db",
            "Database for experiments, runs and the model registry: sqlite:///path.db, "
            "postgresql://user:pass@host/db or mysql://user:pass@host/db. Unset, the tracking URI "
            "(--tracking-uri, PODIUM_TRACKING_URI) when it names a database."),
    Setting("artifacts_destination", "--artifacts-destination", "PODIUM_ARTIFACTS_DESTINATION",
            "./podium-data/artifacts",
            "Where the artifact proxy (mlflow-artifacts:/ URIs) keeps files: a directory, or an "
            "object-store URI such as s3://bucket/prefix."),
    Setting("allowed_source_prefixes", "--allowed-source-prefix", "PODIUM_ALLOWED_SOURCE_PREFIXES", (),
            "Where else a model version's files may be (repeat the flag; comma-separated in the variable, a "
            "list in the file): s3://bucket/prefix or a directory. By default only the server's artifact store: "
            "the server reads a new version's files with its own credentials (docs/security.md, Source rules).",
            tuple),
    Setting("host", "--host", "PODIUM_HOST", "127.0.0.1",
            "Interface to listen on (0.0.0.0 for every interface)."),
    Setting("port", "--port", "PODIUM_PORT", 5000, "TCP port to listen on.", int, minimum=0, maximum=65535),
    Setting("workers", "--workers", "PODIUM_WORKERS", "auto",
            "Server processes. Default (auto): 2 when the process may use 2 or more cores (CPU affinity and a "
            "cgroup CPU limit count), else 1: on 2 cores 2 served more reads and transitions than 1 on SQLite and "
            "PostgreSQL alike (decision 0028).",
            int, minimum=1, default_rule=lambda: default_workers()),
    Setting("log_level", "--log-level", "PODIUM_LOG_LEVEL", "info", "Log level.", str,
            ("critical", "error", "warning", "info", "debug")),
    Setting("access_log", "--access-log/--no-access-log", "PODIUM_ACCESS_LOG", True,
            "One log line per request: method, path, status, duration in ms.", bool),
    Setting("log_format", "--log-format", "PODIUM_LOG_FORMAT", "text",
            "Log line format: text, or json (one JSON object per line).", str, ("text", "json")),
    Setting("db_threads", "--db-threads", "PODIUM_DB_THREADS", 4,
            "Threads per worker that run database calls off the event loop (more for PostgreSQL/MySQL).",
            int, minimum=1),
    Setting("metrics", "--metrics/--no-metrics", "PODIUM_METRICS", True,
            "Serve Prometheus metrics at GET /metrics (request counts and latency by route, in-flight "
            "requests, database pool).", bool),
    Setting("auth", "--auth/--no-auth", "PODIUM_AUTH", False,
            "Require credentials (HTTP Basic password or API token) on every route but /health, /version and "
            "/metrics, and enforce model permissions (docs/security.md).", bool),
    Setting("default_role", "--default-role", "PODIUM_DEFAULT_ROLE", "read",
            "With --auth: the registry-wide role of every authenticated user (tracking, creating models, "
            "models without a grant for them): none, read or edit.", str, ("none", "read", "edit")),
    Setting("max_json_body_bytes", "--max-json-body-bytes", "PODIUM_MAX_JSON_BODY_BYTES", 32 << 20,
            "Largest JSON request body accepted, in bytes; a bigger one is refused with 413 before it is read "
            "(artifact uploads are streamed and not limited by this).", int, minimum=1024),
    Setting("body_idle_timeout", "--body-idle-timeout", "PODIUM_BODY_IDLE_TIMEOUT", 60,
            "Seconds a client may go without sending any of its request body (a JSON body or an upload) "
            "before the request is dropped with 400 and the connection closed.", int, minimum=1),
    Setting("login_attempts_per_minute", "--login-attempts-per-minute", "PODIUM_LOGIN_ATTEMPTS_PER_MINUTE", 10,
            "With --auth: failed password checks allowed per username and per client address in any 60 s; "
            "further attempts get 429 with Retry-After (counted in the database: every worker and server on it "
            "shares the limit).", int, minimum=1),
    Setting("session_secret", "--session-secret", "PODIUM_SESSION_SECRET", "",
            "Key that signs the web UI's session and CSRF cookies (at least 32 characters; prefer the variable or "
            "the file over the flag, which other local users can see). Unset, the server makes a random one at "
            "start and shares it with its workers: sign-ins then end when the server restarts. Give every server "
            "behind one address the same value."),
    Setting("session_hours", "--session-hours", "PODIUM_SESSION_HOURS", 12,
            "With --auth: hours a web UI sign-in lasts (the session cookie's expiry); then the user signs in again.",
            int, minimum=1, maximum=24 * 90),
    Setting("webhook_delivery", "--webhook-delivery/--no-webhook-delivery", "PODIUM_WEBHOOK_DELIVERY", True,
            "Run the webhook delivery worker in this server's processes (any number of servers on one database "
            "share the work; each delivery is sent by one of them).", bool),
    Setting("webhook_allowed_schemes", "--webhook-allowed-scheme", "PODIUM_WEBHOOK_ALLOWED_SCHEMES", (),
            "URL schemes a webhook may use (repeat the flag; comma-separated in the variable). Unset, MLflow's "
            "MLFLOW_WEBHOOK_ALLOWED_SCHEMES, else https.", tuple),
    Setting("webhook_allow_private_ips", "--webhook-allow-private-ips/--no-webhook-allow-private-ips",
            "PODIUM_WEBHOOK_ALLOW_PRIVATE_IPS", False,
            "Let webhooks reach private, loopback and link-local addresses (checked when connecting). Unset, "
            "MLflow's MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS, else false.", bool),
    Setting("webhook_allowed_networks", "--webhook-allowed-network", "PODIUM_WEBHOOK_ALLOWED_NETWORKS", (),
            "Networks (CIDR, e.g. 10.1.0.0/16) webhooks may reach although they are not public (repeat the flag; "
            "comma-separated in the variable).", tuple),
    Setting("webhook_secret_key_file", "--webhook-secret-key-file", "PODIUM_WEBHOOK_SECRET_KEY_FILE", "",
            "File holding the key that encrypts webhook secrets at rest (created, mode 0600, when missing). "
            "Default: webhook-secret.key beside the SQLite database, else in ./podium-data. Every server on one "
            "database needs the same file."),
    Setting("webhook_timeout", "--webhook-timeout", "PODIUM_WEBHOOK_TIMEOUT", 10,
            "Seconds a webhook receiver may take to connect, and then to answer, before the attempt fails.",
            int, minimum=1, maximum=300),
    Setting("webhook_retry_initial_ms", "--webhook-retry-initial-ms", "PODIUM_WEBHOOK_RETRY_INITIAL_MS", 5000,
            "Delay before the first retry of a failed delivery, in ms; each retry doubles it (with jitter).",
            int, minimum=1),
    Setting("webhook_retry_max_ms", "--webhook-retry-max-ms", "PODIUM_WEBHOOK_RETRY_MAX_MS", 3600000,
            "Longest delay between two attempts of a delivery, in ms.", int, minimum=1),
    Setting("webhook_retry_hours", "--webhook-retry-hours", "PODIUM_WEBHOOK_RETRY_HOURS", 24,
            "Hours after the event during which a failing delivery is retried; then it is marked failed.",
            int, minimum=1),
    Setting("webhook_poll_ms", "--webhook-poll-ms", "PODIUM_WEBHOOK_POLL_MS", 500,
            "How often the delivery worker looks for due deliveries when idle, in ms.", int, minimum=10,
            maximum=10000),
    Setting("gc_interval", "--gc-interval", "PODIUM_GC_INTERVAL", "0",
            "Run garbage collection (podium gc) every this long: 1d, 6h, 30m; 0 never. One server process per "
            "database collects per interval, however many share it (docs/operations.md).", check=parse_duration),
    Setting("gc_retention", "--gc-retention", "PODIUM_GC_RETENTION", "30d",
            "With --gc-interval: collect only what was deleted at least this long ago (podium gc --older-than).",
            check=parse_duration),
)

#: MLflow's variables, read when Podium's own is not set
_MLFLOW_FALLBACKS = {"webhook_allowed_schemes": "MLFLOW_WEBHOOK_ALLOWED_SCHEMES",
                     "webhook_allow_private_ips": "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS"}

_BY_FIELD = {s.field: s for s in SETTINGS}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _from_text(setting: Setting, raw: str, source: str):
    """A value given as text (an environment variable), converted and checked."""
    text = raw.strip()
    if setting.type is tuple:
        return _checked(setting, tuple(part.strip() for part in raw.split(",") if part.strip()), source)
    if setting.type is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise _invalid(setting, raw, source, "expected true or false")
    if setting.type is int:
        try:
            return _checked(setting, int(text), source)
        except ValueError:
            raise _invalid(setting, raw, source, "expected an integer") from None
    return _checked(setting, raw, source)


def _checked(setting: Setting, value, source: str):
    """``value`` (already of the setting's type) within the setting's choices and range."""
    if setting.type is tuple:
        value = tuple(value)
        bad = [v for v in value if "," in v or not v.strip()]
        if bad:
            raise _invalid(setting, bad[0], source, "expected a URI or a directory without commas")
        return value
    if setting.field == "session_secret" and value and len(value) < 32:
        raise _invalid(setting, "***", source, "expected at least 32 characters (e.g. `openssl rand -base64 48`)")
    if setting.choices:
        value = str(value).lower()
        if value not in setting.choices:
            raise _invalid(setting, value, source, "expected one of " + ", ".join(setting.choices))
    if setting.minimum is not None and value < setting.minimum:
        raise _invalid(setting, value, source, f"expected at least {setting.minimum}")
    if setting.maximum is not None and value > setting.maximum:
        raise _invalid(setting, value, source, f"expected at most {setting.maximum}")
    if setting.check is not None:
        try:
            setting.check(value)
        except ValueError as exc:
            raise _invalid(setting, value, source, str(exc)) from None
    return value


def _from_file(setting: Setting, value, source: str):
    """A value from the TOML file: it must already have the right type (``port = "80"`` is refused)."""
    expected = setting.type
    if expected is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _invalid(setting, value, source, f"expected a TOML {_TOML_TYPES[expected]}")
        return _checked(setting, tuple(value), source)
    ok = isinstance(value, bool) if expected is bool else (
        isinstance(value, int) and not isinstance(value, bool) if expected is int else isinstance(value, str))
    if not ok:
        raise _invalid(setting, value, source, f"expected a TOML {_TOML_TYPES[expected]}")
    return _checked(setting, value, source)


_TOML_TYPES = {bool: "boolean (true/false)", int: "integer", str: "string", tuple: "list of strings"}


def _invalid(setting: Setting, value, source: str, why: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Invalid value {value!r} for {setting.field} ({source}): {why}.")


def _database_of_tracking_uri(uri: str) -> str:
    """The tracking URI as the server's database; a server URL is refused (a server needs a database)."""
    if uri.lower().startswith(("http://", "https://")):
        raise InvalidParameterValue(
            f"The tracking URI '{uri}' (--tracking-uri or PODIUM_TRACKING_URI) is a server, not a database, so "
            "it cannot be this server's store: give --backend-store-uri (or PODIUM_BACKEND_STORE_URI), or unset "
            "PODIUM_TRACKING_URI.")
    return uri


def _artifacts_beside(uri: str) -> str | None:
    """``<directory of the file>/artifacts`` for a SQLite file URI (what embedded mode uses), else None."""
    if not uri.startswith("sqlite:///") or ":memory:" in uri:
        return None
    return str(Path(uri[len("sqlite:///"):].split("?", 1)[0]).expanduser().parent / "artifacts")


def load_config_file(path: str) -> dict:
    """The settings in a TOML config file, checked: ``{field: value}``."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise InvalidParameterValue(f"Config file {path!r} does not exist.") from None
    except IsADirectoryError:
        raise InvalidParameterValue(f"Config file {path!r} is a directory.") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidParameterValue(f"Config file {path!r} is not valid TOML: {exc}.") from None
    keys = {s.key: s for s in SETTINGS if s.key}
    unknown = sorted(set(data) - set(keys))
    if unknown:
        raise InvalidParameterValue(
            f"Unknown setting(s) in config file {path!r}: {', '.join(unknown)}. "
            f"Known: {', '.join(keys)} (see docs/configuration.md).")
    return {keys[k].field: _from_file(keys[k], v, f"config file {path}") for k, v in data.items()}


@dataclass(frozen=True)
class ServerSettings:
    """The server's configuration (see :data:`SETTINGS` for each field's flag, variable and key)."""

    config: str = ""
    backend_store_uri: str = "sqlite:///./podium-data/podium.db"
    artifacts_destination: str = "./podium-data/artifacts"
    allowed_source_prefixes: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = field(default_factory=lambda: default_workers())
    log_level: str = "info"
    access_log: bool = True
    log_format: str = "text"
    db_threads: int = 4
    metrics: bool = True
    auth: bool = False
    default_role: str = "read"
    max_json_body_bytes: int = 32 << 20
    body_idle_timeout: int = 60
    login_attempts_per_minute: int = 10
    session_secret: str = ""
    session_hours: int = 12
    webhook_delivery: bool = True
    webhook_allowed_schemes: tuple[str, ...] = ()
    webhook_allow_private_ips: bool = False
    webhook_allowed_networks: tuple[str, ...] = ()
    webhook_secret_key_file: str = ""
    webhook_timeout: int = 10
    webhook_retry_initial_ms: int = 5000
    webhook_retry_max_ms: int = 3600000
    webhook_retry_hours: int = 24
    webhook_poll_ms: int = 500
    gc_interval: str = "0"
    gc_retention: str = "30d"

    @classmethod
    def from_env(cls, environ: dict | None = None, *, tracking_uri: str | None = None,
                 **overrides) -> "ServerSettings":
        """Flags (``overrides``; ``None`` = not given), then ``PODIUM_*`` variables, then the config
        file, then defaults; the database defaults to the tracking URI (``tracking_uri``, the root
        ``--tracking-uri`` flag, else ``PODIUM_TRACKING_URI``). Raises
        :class:`~podium.errors.InvalidParameterValue` for a bad value."""
        env = os.environ if environ is None else environ
        tracking_uri = tracking_uri or env.get("PODIUM_TRACKING_URI") or None
        config = overrides.get("config") or env.get("PODIUM_CONFIG") or ""
        from_file = load_config_file(config) if config else {}
        values, defaulted = {}, set()
        for s in SETTINGS:
            if overrides.get(s.field) not in (None, ()):  # a repeatable flag not given is ()
                values[s.field] = _checked(s, overrides[s.field], s.flag)
            elif env.get(s.env) not in (None, ""):
                values[s.field] = _from_text(s, env[s.env], s.env)
            elif env.get(_MLFLOW_FALLBACKS.get(s.field, "")) not in (None, ""):
                values[s.field] = _from_text(s, env[_MLFLOW_FALLBACKS[s.field]], _MLFLOW_FALLBACKS[s.field])
            elif s.field in from_file:
                values[s.field] = from_file[s.field]
            elif s.field == "backend_store_uri" and tracking_uri:
                values[s.field] = _database_of_tracking_uri(tracking_uri)
                defaulted.add("backend_store_uri (the tracking URI)")
            else:
                values[s.field] = s.default_value()
                defaulted.add(s.field)
        if {"artifacts_destination", "backend_store_uri (the tracking URI)"} <= defaulted:
            # the tracking URI's store, served: its artifacts where embedded mode keeps them (beside the file)
            values["artifacts_destination"] = _artifacts_beside(tracking_uri) or values["artifacts_destination"]
        values["config"] = config
        return cls(**values).resolved()

    def resolved(self) -> "ServerSettings":
        """Relative SQLite and artifact paths made absolute (against the current directory).

        Object-store destinations (``s3://...``, any ``scheme://`` but ``file://``) are kept as given."""
        uri = self.backend_store_uri
        if uri.startswith("sqlite:///") and ":memory:" not in uri:
            path, _, query = uri[len("sqlite:///"):].partition("?")
            if not Path(path).is_absolute():
                uri = "sqlite:///" + (Path.cwd() / path).resolve().as_posix() + (f"?{query}" if query else "")
        dest = self.artifacts_destination
        if dest.startswith("file://"):
            dest = dest[len("file://"):]
        if "://" not in dest:
            dest = str(Path(dest).expanduser().resolve())
        config = str(Path(self.config).expanduser().resolve()) if self.config else ""
        allowed = tuple(p if "://" in p else str(Path(p.removeprefix("file:")).expanduser().resolve())
                        for p in self.allowed_source_prefixes)
        key_file = self.webhook_secret_key_file
        if not key_file:
            beside = _artifacts_beside(uri)
            key_file = str(Path(beside).parent / "webhook-secret.key") if beside else "./podium-data/webhook-secret.key"
        key_file = str(Path(key_file).expanduser().resolve())
        return replace(self, backend_store_uri=uri, artifacts_destination=dest, config=config,
                       allowed_source_prefixes=allowed, webhook_secret_key_file=key_file)

    def with_session_secret(self) -> "ServerSettings":
        """These settings with a session key: the configured one, else a new random one (made once in
        the parent process, so every worker signs and checks cookies with the same key)."""
        if self.session_secret:
            return self
        import secrets

        return replace(self, session_secret=secrets.token_urlsafe(48))

    def export_to_workers(self) -> None:
        """Set these settings as ``PODIUM_*`` variables of this process, which worker processes inherit."""
        os.environ.update(self.to_env())

    def to_env(self) -> dict[str, str]:
        """These settings as ``PODIUM_*`` variables (how worker processes receive them)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, tuple):
                value = ",".join(value)
            out[_BY_FIELD[f.name].env] = str(value)
        return out


def admin_password(environ: dict | None = None) -> str | None:
    """``PODIUM_ADMIN_PASSWORD`` (from ``environ`` when given, else the process environment)."""
    return (os.environ if environ is None else environ).get(ADMIN_PASSWORD_ENV)


#: the most worker processes the default starts: measured on 2 cores (decision 0028); more cores need a
#: deliberate --workers (each worker has its own database pool and memory)
DEFAULT_WORKERS_CAP = 2


def available_cores(cpu_max: str = "/sys/fs/cgroup/cpu.max") -> int:
    """The cores this process may run on: its CPU affinity (``taskset``, cpusets), lowered by a cgroup v2
    CPU quota (``cpu.max``, what a container's CPU limit sets), at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path(cpu_max).read_text().split()[:2]
        if quota != "max":
            cores = min(cores, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def default_workers() -> int:
    """``--workers`` when not given: ``min(2, available cores)`` (decision 0028)."""
    return min(DEFAULT_WORKERS_CAP, available_cores())


def metrics_dir() -> str | None:
    """The multiprocess metrics directory (``PROMETHEUS_MULTIPROC_DIR``), if set."""
    return os.environ.get(MULTIPROC_ENV) or None


def set_metrics_dir(path: str | None) -> None:
    """Point this process and the workers it starts at ``path`` (None: unset the variable)."""
    if path is None:
        os.environ.pop(MULTIPROC_ENV, None)
    else:
        os.environ[MULTIPROC_ENV] = path
