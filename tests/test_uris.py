"""Tests for podium.uris: every runs:/ and models:/ form, and the malformed ones."""

from __future__ import annotations

import pytest

from podium.errors import InvalidParameterValue
from podium.uris import (
    ModelsUri,
    RunsUri,
    check_store_uri,
    is_local_path,
    local_path_of,
    parse_models_uri,
    parse_runs_uri,
    sqlite_path_of,
    without_password,
)

MODEL_ID = "m-0123456789abcdef0123456789abcdef"


# ----------------------------------------------------------------------------- runs:/
@pytest.mark.parametrize(
    ("uri", "run_id", "path"),
    [
        ("runs:/abc123/model", "abc123", "model"),
        ("runs:/abc123/model/MLmodel", "abc123", "model/MLmodel"),
        ("runs:/abc123", "abc123", ""),
        ("runs:/abc123/", "abc123", ""),
        ("runs:///abc123/model/", "abc123", "model"),
        ("runs:/abc123/notes/readme.txt", "abc123", "notes/readme.txt"),
        ("runs:/abc123/a/./b", "abc123", "a/./b"),
    ],
)
def test_parse_runs_uri_splits_run_id_and_artifact_path(uri, run_id, path):
    assert parse_runs_uri(uri) == RunsUri(run_id=run_id, path=path)


@pytest.mark.parametrize(
    "uri",
    [
        "runs:/",
        "runs://",
        "runs:/abc/../x",
        "runs:/abc/../../etc/passwd",
        "runs:/abc/a/../../..",
        "runs:/abc/a\x00b",
        "models:/name/1",
        "run:/abc/model",
        "s3://bucket/key",
        "",
    ],
)
def test_parse_runs_uri_rejects_malformed_uris(uri):
    with pytest.raises(InvalidParameterValue) as info:
        parse_runs_uri(uri)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_parse_runs_uri_keeps_dotdot_that_stays_inside_the_run():
    assert parse_runs_uri("runs:/abc/a/../b") == RunsUri("abc", "a/../b")


# ----------------------------------------------------------------------------- models:/
@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/wine/1", ModelsUri(name="wine", version=1)),
        ("models:/wine/12", ModelsUri(name="wine", version=12)),
        ("models:/wine/3/MLmodel", ModelsUri(name="wine", version=3, sub_path="MLmodel")),
        ("models:/wine/3/a/b", ModelsUri(name="wine", version=3, sub_path="a/b")),
        ("models:/wine/latest", ModelsUri(name="wine", latest=True)),
        ("models:/wine/latest/MLmodel", ModelsUri(name="wine", latest=True, sub_path="MLmodel")),
        ("models:/wine@champion", ModelsUri(name="wine", alias="champion")),
        ("models:/wine@champion/MLmodel", ModelsUri(name="wine", alias="champion", sub_path="MLmodel")),
        (f"models:/{MODEL_ID}", ModelsUri(model_id=MODEL_ID)),
        ("models:/wine%20quality/2", ModelsUri(name="wine quality", version=2)),
        ("models:/wine%20quality@prod", ModelsUri(name="wine quality", alias="prod")),
        ("models:///wine/1", ModelsUri(name="wine", version=1)),
    ],
)
def test_parse_models_uri_recognises_every_form(uri, expected):
    assert parse_models_uri(uri) == expected


@pytest.mark.parametrize("stage", ["None", "Staging", "Production", "Archived"])
@pytest.mark.parametrize("spelling", [str, str.lower, str.upper])
def test_parse_models_uri_stage_is_case_insensitive_and_canonical(stage, spelling):
    parsed = parse_models_uri(f"models:/wine/{spelling(stage)}")
    assert parsed == ModelsUri(name="wine", stage=stage)


@pytest.mark.parametrize("latest", ["latest", "LATEST", "Latest"])
def test_parse_models_uri_latest_is_case_insensitive(latest):
    assert parse_models_uri(f"models:/wine/{latest}") == ModelsUri(name="wine", latest=True)


def test_parse_models_uri_stage_with_sub_path():
    assert parse_models_uri("models:/wine/production/data/x.json") == ModelsUri(
        name="wine", stage="Production", sub_path="data/x.json"
    )


@pytest.mark.parametrize(
    "uri",
    [
        "models:/",
        "models://",
        "models:/wine/Foo",
        "models:/wine/v1",
        "models:/wine/1.5",
        "models:/wine/-1",
        "models:/@champion",
        "models:/wine@",
        "models:/@",
        "runs:/abc/model",
        "model:/wine/1",
        "wine/1",
        "",
    ],
)
def test_parse_models_uri_rejects_malformed_uris(uri):
    with pytest.raises(InvalidParameterValue) as info:
        parse_models_uri(uri)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_parse_models_uri_error_names_the_bad_selector():
    with pytest.raises(InvalidParameterValue) as info:
        parse_models_uri("models:/wine/Foo")
    assert "models:/wine/Foo" in info.value.message
    assert "'Foo'" in info.value.message


def test_models_uri_sets_exactly_one_selector():
    forms = [
        parse_models_uri("models:/wine/1"),
        parse_models_uri("models:/wine/Staging"),
        parse_models_uri("models:/wine/latest"),
        parse_models_uri("models:/wine@a"),
        parse_models_uri(f"models:/{MODEL_ID}"),
    ]
    for parsed in forms:
        chosen = [parsed.version is not None, parsed.stage is not None, parsed.latest,
                  parsed.alias is not None, parsed.model_id is not None]
        assert chosen.count(True) == 1, parsed


# ----------------------------------------------------------------------------- local paths
@pytest.mark.parametrize(
    ("uri", "local"),
    [
        ("/tmp/x", True),
        ("relative/dir", True),
        ("file:///tmp/x", True),
        ("file:/tmp/x", True),
        ("C:\\data\\x", True),
        ("C:/data/x", True),
        ("s3://bucket/x", False),
        ("mlflow-artifacts:/0/x", False),
        ("http://host/x", False),
        ("runs:/abc/model", False),
        ("models:/wine/1", False),
    ],
)
def test_is_local_path(uri, local):
    assert is_local_path(uri) is local


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("file:///tmp/x", "/tmp/x"),
        ("file:///tmp/with%20space", "/tmp/with space"),
        ("/tmp/x", "/tmp/x"),
        ("relative/dir", "relative/dir"),
    ],
)
def test_local_path_of(uri, path):
    assert local_path_of(uri) == path


# ----------------------------------------------------------------------------- store URIs
@pytest.mark.parametrize(
    ("uri", "hint"),
    [
        ("sqlite://podium-data/podium.db", "'sqlite:///podium-data/podium.db'"),
        ("podium-data/podium.db", "'sqlite:///podium-data/podium.db'"),
        ("/srv/podium/registry.sqlite", "'sqlite:////srv/podium/registry.sqlite'"),
        ("./mlruns", "'sqlite:///./mlruns/podium.db'"),
        ("file:///srv/podium", "'sqlite:////srv/podium/podium.db'"),
        ("localhost:5000", "'http://localhost:5000'"),
        ("10.0.0.7:8080/", "'http://10.0.0.7:8080/'"),
        ("postgressql://u@h/db", "'postgresql://'"),
        ("sqlit:///x.db", "'sqlite://'"),
        ("htps://h", "'http"),
        ("ada@db.internal/podium", "'postgresql://ada@db.internal/podium'"),
    ],
)
def test_check_store_uri_refuses_common_slips_with_the_uri_to_use(uri, hint):
    with pytest.raises(InvalidParameterValue) as err:
        check_store_uri(uri)
    assert hint in err.value.message


@pytest.mark.parametrize("uri", ["sqlite:///x.db", "sqlite:////abs/x.db", "sqlite://", "sqlite:///:memory:",
                                 "postgres://u@h/db", "postgresql+psycopg://u@h/db", "mysql://u:p@h/db",
                                 "http://h:5000", "https://h", "databricks://profile"])
def test_check_store_uri_accepts_well_formed_uris(uri):
    check_store_uri(uri)


@pytest.mark.parametrize("uri", ["http://h:5000", "localhost:5000"])
def test_check_store_uri_refuses_a_server_where_a_database_is_needed(uri):
    with pytest.raises(InvalidParameterValue, match="not a database"):
        check_store_uri(uri, database_only=True)


def test_messages_about_store_uris_never_show_the_password():
    with pytest.raises(InvalidParameterValue) as err:
        check_store_uri("postgresq://ada:hunter22@db/podium")
    assert "hunter22" not in err.value.message and "ada:***@db" in err.value.message
    assert without_password("mysql://u:p@h/db") == "mysql://u:***@h/db"
    assert without_password("u:p@h:5432/db") == "u:***@h:5432/db"
    assert without_password("sqlite:////srv/a:b@c.db") == "sqlite:////srv/a:b@c.db"
    with pytest.raises(InvalidParameterValue) as err:
        check_store_uri("ada:hunter22@db:5432/podium")
    assert "hunter22" not in err.value.message and "'postgresql://ada:***@db:5432/podium'" in err.value.message


@pytest.mark.parametrize(("uri", "path"), [("sqlite:///a/b.db", "a/b.db"), ("sqlite:////a/b.db?mode=ro", "/a/b.db"),
                                           ("sqlite://", None), ("sqlite:///:memory:", None),
                                           ("postgresql://h/db", None)])
def test_sqlite_path_of(uri, path):
    assert sqlite_path_of(uri) == path
