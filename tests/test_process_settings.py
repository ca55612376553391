"""``podium.settings``: each variable, which of two names wins, and the defaults (read per call)."""

from __future__ import annotations

import pytest

from podium import settings

_ALL = (
    "PODIUM_TRACKING_URI", "MLFLOW_TRACKING_URI", "PODIUM_REGISTRY_URI", "MLFLOW_REGISTRY_URI",
    "PODIUM_ARTIFACT_ROOT", "PODIUM_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME", "PODIUM_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_ID", "PODIUM_HTTP_TIMEOUT", "PODIUM_HTTP_MAX_RETRIES", "PODIUM_TRACKING_TOKEN",
    "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "PODIUM_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
    "PODIUM_TRACKING_PASSWORD", "PODIUM_S3_ENDPOINT_URL", "MLFLOW_S3_ENDPOINT_URL", "AWS_DEFAULT_REGION",
    "AWS_REGION", "PODIUM_S3_IGNORE_TLS", "MLFLOW_S3_IGNORE_TLS", "AWS_ACCESS_KEY_ID", "AWS_PROFILE",
    "PODIUM_NO_PROGRESS", "COLUMNS",
)


@pytest.fixture
def env(monkeypatch):
    for name in _ALL:
        monkeypatch.delenv(name, raising=False)

    def set_(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_


@pytest.mark.parametrize(("variables", "read", "expected"), [
    ({}, lambda: settings.tracking_uri("sqlite:///x.db"), "sqlite:///x.db"),
    ({"PODIUM_TRACKING_URI": "http://p", "MLFLOW_TRACKING_URI": "http://m"}, settings.tracking_uri, "http://p"),
    ({"MLFLOW_TRACKING_URI": "http://m"}, settings.tracking_uri, "http://m"),
    ({"PODIUM_REGISTRY_URI": "", "MLFLOW_REGISTRY_URI": "http://m"}, settings.registry_uri, "http://m"),
    ({}, settings.registry_uri, None),
    ({"PODIUM_ARTIFACT_ROOT": "s3://b/p"}, settings.artifact_root, "s3://b/p"),
    ({"MLFLOW_EXPERIMENT_NAME": "m", "PODIUM_EXPERIMENT_NAME": "p"}, settings.experiment_name, "p"),
    ({"MLFLOW_EXPERIMENT_ID": "7"}, settings.experiment_id, "7"),
    ({}, settings.http_timeout, 120.0),
    ({"PODIUM_HTTP_TIMEOUT": "2.5", "PODIUM_HTTP_MAX_RETRIES": "0"}, lambda: (settings.http_timeout(),
                                                                                settings.http_max_retries()), (2.5, 0)),
    ({"MLFLOW_TRACKING_TOKEN": "t", "MLFLOW_TRACKING_USERNAME": "u", "PODIUM_TRACKING_PASSWORD": "pw"},
     settings.tracking_credentials, ("t", "u", "pw")),
    ({"PODIUM_S3_ENDPOINT_URL": "http://s3", "AWS_REGION": "eu", "MLFLOW_S3_IGNORE_TLS": "yes"},
     lambda: (lambda s: (s.endpoint, s.region, s.verify))(settings.s3_settings()), ("http://s3", "eu", False)),
    ({}, lambda: settings.s3_settings().verify, True),
    ({"PODIUM_NO_PROGRESS": "1", "COLUMNS": "80"}, lambda: (settings.progress_disabled(), settings.columns_set()),
     (True, True)),
])
def test_each_setting_reads_its_variables(env, variables, read, expected):
    env(**variables)
    assert read() == expected


def test_the_default_tracking_uri_is_the_embedded_store_below_the_working_directory(env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert settings.tracking_uri() == f"sqlite:///{(tmp_path / 'podium-data' / 'podium.db').as_posix()}"
