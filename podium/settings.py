"""Every environment variable the Python process reads: the client, embedded mode and the CLI.

``podium server``'s settings (flags, ``PODIUM_*`` variables, config file) are a table of their own
in :mod:`podium.server.settings`. These two modules are the only readers of ``os.environ`` in
Podium (``tests/test_import_rules.py`` checks it); everything else asks them. Values are read on
every call, so a variable set by a test or a notebook takes effect at once.

==================================================  ==========================================
variable (first one set wins)                       meaning
==================================================  ==========================================
``PODIUM_TRACKING_URI``, ``MLFLOW_TRACKING_URI``    where runs and models live (after
                                                    ``set_tracking_uri()``; default:
                                                    ``sqlite:///./podium-data/podium.db``)
``PODIUM_REGISTRY_URI``, ``MLFLOW_REGISTRY_URI``    the registry, when not the tracking URI
``PODIUM_ARTIFACT_ROOT``                            embedded mode's artifact root (a directory
                                                    or ``s3://bucket/prefix``)
``PODIUM_EXPERIMENT_NAME``, ``MLFLOW_EXPERIMENT_NAME``  the active experiment, by name...
``PODIUM_EXPERIMENT_ID``, ``MLFLOW_EXPERIMENT_ID``  ... or by id (default ``0``)
``PODIUM_HTTP_TIMEOUT``                             seconds per HTTP request (default 120)
``PODIUM_HTTP_MAX_RETRIES``                         retries of a safe request (default 5)
``PODIUM_TRACKING_TOKEN``, ``MLFLOW_TRACKING_TOKEN``  Bearer token for a server
``MLFLOW_TRACKING_USERNAME``/``_PASSWORD``          HTTP Basic credentials (``PODIUM_`` too)
``PODIUM_S3_ENDPOINT_URL``, ``MLFLOW_S3_ENDPOINT_URL``  S3-compatible endpoint
``AWS_DEFAULT_REGION``, ``AWS_REGION``              S3 region
``PODIUM_S3_IGNORE_TLS``, ``MLFLOW_S3_IGNORE_TLS``  skip TLS verification of the S3 endpoint
``PODIUM_NO_PROGRESS``                              no progress bars for big transfers
``COLUMNS``                                         table width when stdout is not a terminal
``PODIUM_SERVE_CONFIG``                             ``podium serve``'s options, handed to its
                                                    worker processes (set by ``podium serve``)
``PODIUM_WEBHOOK_SECRET_KEY_FILE``                  embedded mode's webhook secret key file
``PODIUM_WEBHOOK_ALLOWED_SCHEMES``,                 embedded mode's webhook URL schemes
``MLFLOW_WEBHOOK_ALLOWED_SCHEMES``                  (default ``https``)
``PODIUM_WEBHOOK_ALLOW_PRIVATE_IPS``,               embedded mode's ``webhooks test`` may reach
``MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS``                private addresses
``PODIUM_SERVE_WEBHOOK_SECRET``                     ``podium serve``'s webhook secret (when
                                                    ``--webhook-secret`` is not given)
==================================================  ==========================================
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_DATA_DIR",
    "S3Settings",
    "artifact_root",
    "columns_set",
    "default_tracking_uri",
    "experiment_id",
    "experiment_name",
    "export_serve_config",
    "http_max_retries",
    "http_timeout",
    "progress_disabled",
    "registry_uri",
    "s3_settings",
    "serve_config",
    "serve_webhook_secret",
    "tracking_credentials",
    "tracking_uri",
    "webhook_policy",
    "webhook_secret_key_file",
]

#: the embedded default's directory, below the working directory
DEFAULT_DATA_DIR = "podium-data"
_TRUE = ("1", "true", "yes", "on")


def _first(*names: str) -> str | None:
    """The value of the first variable of ``names`` that is set and not empty."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _flag(*names: str) -> bool:
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in names)


# ------------------------------------------------------------------------------ locations
def default_tracking_uri() -> str:
    """The embedded default: ``sqlite:///<cwd>/podium-data/podium.db``."""
    return f"sqlite:///{(Path.cwd() / DEFAULT_DATA_DIR / 'podium.db').as_posix()}"


def tracking_uri(explicit: str | None = None) -> str:
    """``explicit`` (``set_tracking_uri()``, ``--tracking-uri``), then ``PODIUM_TRACKING_URI``, then
    ``MLFLOW_TRACKING_URI``, then the embedded default."""
    return str(explicit or _first("PODIUM_TRACKING_URI", "MLFLOW_TRACKING_URI") or default_tracking_uri())


def registry_uri() -> str | None:
    return _first("PODIUM_REGISTRY_URI", "MLFLOW_REGISTRY_URI")


def artifact_root() -> str | None:
    """``PODIUM_ARTIFACT_ROOT`` as given (None when unset)."""
    return _first("PODIUM_ARTIFACT_ROOT")


def experiment_name() -> str | None:
    return _first("PODIUM_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME")


def experiment_id() -> str | None:
    return _first("PODIUM_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID")


# ------------------------------------------------------------------------------ HTTP client
def http_timeout(default: float = 120.0) -> float:
    """``PODIUM_HTTP_TIMEOUT`` (seconds) when set, else ``default``."""
    return float(os.environ.get("PODIUM_HTTP_TIMEOUT", default))


def http_max_retries(default: int = 5) -> int:
    """``PODIUM_HTTP_MAX_RETRIES`` when set, else ``default``."""
    return int(os.environ.get("PODIUM_HTTP_MAX_RETRIES", default))


def tracking_credentials() -> tuple[str | None, str | None, str | None]:
    """``(token, username, password)`` for a server, as the mlflow client reads them."""
    token = _first("PODIUM_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN")
    user = _first("MLFLOW_TRACKING_USERNAME", "PODIUM_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD") or os.environ.get("PODIUM_TRACKING_PASSWORD")
    return token, user, password


# ------------------------------------------------------------------------------ S3
@dataclass(frozen=True)
class S3Settings:
    """How to reach S3. ``credentials`` only tells cached clients apart (boto3 reads the keys itself)."""

    endpoint: str | None
    region: str | None
    verify: bool
    credentials: tuple[str | None, str | None]


def s3_settings() -> S3Settings:
    return S3Settings(
        endpoint=_first("PODIUM_S3_ENDPOINT_URL", "MLFLOW_S3_ENDPOINT_URL"),
        region=_first("AWS_DEFAULT_REGION", "AWS_REGION"),
        verify=not _flag("PODIUM_S3_IGNORE_TLS", "MLFLOW_S3_IGNORE_TLS"),
        credentials=(os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_PROFILE")),
    )


# ------------------------------------------------------------------------------ terminal
def progress_disabled() -> bool:
    return bool(os.environ.get("PODIUM_NO_PROGRESS"))


def columns_set() -> bool:
    """Did the user give a table width (``COLUMNS``)?"""
    return bool(os.environ.get("COLUMNS"))


# ------------------------------------------------------------------------------ podium serve
def export_serve_config(config: dict) -> None:
    """Hand ``podium serve``'s options to the worker processes it starts (``--workers``)."""
    os.environ["PODIUM_SERVE_CONFIG"] = json.dumps(config)


def serve_config() -> dict:
    """The options :func:`export_serve_config` handed over (empty when not in a worker)."""
    return json.loads(os.environ.get("PODIUM_SERVE_CONFIG") or "{}")


# ------------------------------------------------------------------------------ webhooks (embedded mode)
def webhook_secret_key_file() -> str | None:
    """``PODIUM_WEBHOOK_SECRET_KEY_FILE`` (None: the default beside the database)."""
    return _first("PODIUM_WEBHOOK_SECRET_KEY_FILE")


def webhook_policy() -> tuple[tuple[str, ...], bool]:
    """``(allowed URL schemes, allow private addresses)`` for webhooks managed in embedded mode."""
    schemes = _first("PODIUM_WEBHOOK_ALLOWED_SCHEMES", "MLFLOW_WEBHOOK_ALLOWED_SCHEMES") or "https"
    return (tuple(p.strip() for p in schemes.split(",") if p.strip()),
            _flag("PODIUM_WEBHOOK_ALLOW_PRIVATE_IPS", "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS"))


# ------------------------------------------------------------------------------ podium serve
def serve_webhook_secret() -> str | None:
    """The secret ``podium serve`` verifies webhook deliveries with (``PODIUM_SERVE_WEBHOOK_SECRET``)."""
    return _first("PODIUM_SERVE_WEBHOOK_SECRET")
