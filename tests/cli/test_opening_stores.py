"""Opening a store from the command line: every mistake is one line with a hint, never a traceback.

A slip in the tracking URI, a directory given as a SQLite file, a database server that refuses the
user or is not there, a missing driver (simulated by blocking its import in a subprocess, the true
edge), the same through ``podium server``; the server serving the tracking URI's database; and the
warning when a read starts a new, empty SQLite store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner

from podium import PodiumClient
from podium.cli import main
from tests.databases import MYSQL_ENV, POSTGRES_ENV
from tests.server.helpers import free_port

from .helpers import assert_one_line_error

SECRET = "s3cret-pw"


def _podium(*args: str, block: tuple[str, ...] = (), cwd=None, env: dict | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
    """``podium *args`` in a fresh interpreter, with the modules in ``block`` made unimportable."""
    code = (f"import sys; sys.modules.update(dict.fromkeys({list(block)!r})); "
            "from podium.cli import main; main(prog_name='podium')")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd,
                          env=_clean_env(env), timeout=timeout)


def _clean_env(extra: dict | None = None) -> dict:
    """This process's environment without PODIUM_*/MLFLOW_* variables, plus ``extra``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "MLFLOW_"))}
    return {**clean, **(extra or {})}


def _assert_one_line(proc: subprocess.CompletedProcess, error_code: str, *hints: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and lines[0].startswith(f"Error: {error_code}: "), proc.stderr
    for hint in hints:
        assert hint in lines[0], lines[0]
    assert SECRET not in proc.stderr + proc.stdout


def _cli(*args: str):
    return CliRunner().invoke(main, list(args))


def _server_url(env: str, **parts: str) -> str:
    from sqlalchemy.engine import make_url

    base = os.environ.get(env)
    if not base:
        pytest.skip(f"{env} is not set")
    return make_url(base).set(**parts).render_as_string(hide_password=False)


# -- slips in the URI --------------------------------------------------------------------------
def test_sqlite_uri_with_two_slashes_suggests_three():
    result = _cli("--tracking-uri", "sqlite://podium-data/podium.db", "models", "list")
    assert_one_line_error(result, 1, "INVALID_PARAMETER_VALUE")
    assert "'sqlite:///podium-data/podium.db'" in result.stderr


def test_a_directory_as_sqlite_path_names_a_file_in_it(tmp_path):
    result = _cli("--tracking-uri", f"sqlite:///{tmp_path.as_posix()}", "models", "list")
    assert_one_line_error(result, 1, "INVALID_PARAMETER_VALUE")
    assert "is a directory" in result.stderr and f"'sqlite:///{tmp_path.as_posix()}/podium.db'" in result.stderr


def test_a_sqlite_file_below_a_file_is_one_line(tmp_path):
    (tmp_path / "notes").write_text("not a directory")
    result = _cli("--tracking-uri", f"sqlite:///{(tmp_path / 'notes' / 'podium.db').as_posix()}", "models", "list")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.splitlines()[-1] == (f"Error: INVALID_PARAMETER_VALUE: Cannot create the directory "
                                              f"'{tmp_path / 'notes'}' for the SQLite database: a file has that name.")


def test_a_sqlite_file_that_cannot_be_opened_is_one_line(tmp_path):
    path = (tmp_path / ("x" * 300 + ".db")).as_posix()  # longer than a file name may be
    result = _cli("--tracking-uri", f"sqlite:///{path}", "models", "list")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.splitlines()[-1].startswith(f"Error: INVALID_PARAMETER_VALUE: Cannot open the SQLite "
                                                     f"database '{path}': unable to open database file.")


def test_a_plain_path_ending_in_db_is_suggested_as_that_file(tmp_path):
    path = (tmp_path / "podium.db").as_posix()
    result = _cli("--tracking-uri", path, "models", "list")
    assert_one_line_error(result, 1, "INVALID_PARAMETER_VALUE")
    assert f"use 'sqlite:///{path}'." in result.stderr and "podium.db/podium.db" not in result.stderr


def test_host_and_port_without_scheme_suggests_http():
    result = _cli("--tracking-uri", "localhost:5000", "models", "list")
    assert_one_line_error(result, 1, "INVALID_PARAMETER_VALUE")
    assert "'http://localhost:5000'" in result.stderr and "sqlite" not in result.stderr


def test_a_misspelt_scheme_is_invalid_not_temporary():
    result = _cli("--tracking-uri", f"postgresq://ada:{SECRET}@db/podium", "models", "list")
    assert_one_line_error(result, 1, "INVALID_PARAMETER_VALUE")
    assert "did you mean 'postgresql://'" in result.stderr and SECRET not in result.stderr


# -- database servers that say no ----------------------------------------------------------------
def test_postgresql_unknown_role_names_host_port_and_user_never_the_password():
    url = _server_url(POSTGRES_ENV, username="podium_no_such_role", password=SECRET)
    proc = _podium("--tracking-uri", url, "models", "list")
    _assert_one_line(proc, "INVALID_PARAMETER_VALUE", 'role "podium_no_such_role" does not exist',
                     "user podium_no_such_role", "Check the user, password and database name")


def test_postgresql_unknown_database_is_one_line():
    url = _server_url(POSTGRES_ENV, database="podium_no_such_database")
    proc = _podium("--tracking-uri", url, "models", "list")
    _assert_one_line(proc, "INVALID_PARAMETER_VALUE", 'database "podium_no_such_database" does not exist')


def test_mysql_wrong_password_is_one_line_without_the_password():
    url = _server_url(MYSQL_ENV, password=SECRET)
    proc = _podium("--tracking-uri", url, "models", "list")
    _assert_one_line(proc, "INVALID_PARAMETER_VALUE", "Access denied")


def test_a_database_server_that_is_not_there_is_temporarily_unavailable():
    port = free_port()
    proc = _podium("--tracking-uri", f"postgresql://ada:{SECRET}@127.0.0.1:{port}/podium", "models", "list")
    _assert_one_line(proc, "TEMPORARILY_UNAVAILABLE", f"127.0.0.1:{port}", "user ada", "Is the database server running")


@pytest.mark.parametrize("scheme, module, extra", [("postgresql", "psycopg", "postgres"), ("mysql", "pymysql", "mysql")])
def test_a_missing_driver_names_the_extra_to_install(scheme, module, extra):
    proc = _podium("--tracking-uri", f"{scheme}://ada@127.0.0.1/podium", "models", "list", block=(module,))
    _assert_one_line(proc, "NOT_IMPLEMENTED", f"pip install 'podium[{extra}]'")


# -- podium server -------------------------------------------------------------------------------
@pytest.mark.parametrize("uri, block, error_code, hint", [
    ("sqlite://podium-data/podium.db", (), "INVALID_PARAMETER_VALUE", "'sqlite:///podium-data/podium.db'"),
    ("postgresql://ada@127.0.0.1/podium", ("psycopg",), "NOT_IMPLEMENTED", "pip install 'podium[postgres]'"),
    ("http://127.0.0.1:5000", (), "INVALID_PARAMETER_VALUE", "is a server, not a database"),
])
def test_server_reports_a_store_it_cannot_open_in_one_line(tmp_path, uri, block, error_code, hint):
    proc = _podium("server", "--port", "0", "--backend-store-uri", uri, block=block, cwd=tmp_path)
    _assert_one_line(proc, error_code, hint)


def test_server_reports_a_refused_database_user_in_one_line(tmp_path):
    url = _server_url(POSTGRES_ENV, username="podium_no_such_role", password=SECRET)
    proc = _podium("server", "--port", "0", "--backend-store-uri", url, cwd=tmp_path)
    _assert_one_line(proc, "INVALID_PARAMETER_VALUE", 'role "podium_no_such_role" does not exist')


def test_server_serves_the_tracking_uri_database_when_no_store_is_given(tmp_path):
    db = f"sqlite:///{(tmp_path / 'demo' / 'podium.db').as_posix()}"
    PodiumClient(db).create_registered_model("from-the-tracking-uri")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from podium.cli import main; main(prog_name='podium')", "server", "--port", str(port)],
        cwd=tmp_path, env=_clean_env({"PODIUM_TRACKING_URI": db}),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "podium server exited"
            assert time.monotonic() < deadline, "podium server did not answer"
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/2.0/mlflow/registered-models/search", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert [m["name"] for m in answer.json()["registered_models"]] == ["from-the-tracking-uri"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_server_refuses_a_tracking_uri_that_is_a_server(tmp_path):
    proc = _podium("--tracking-uri", "http://127.0.0.1:5000", "server", "--port", "0", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "is a server, not a database" in proc.stderr and "--backend-store-uri" in proc.stderr


# -- new, empty stores ---------------------------------------------------------------------------
def test_a_read_on_a_missing_sqlite_file_warns_that_it_starts_an_empty_store(tmp_path):
    path = tmp_path / "typo" / "podium.db"
    result = _cli("--tracking-uri", f"sqlite:///{path.as_posix()}", "models", "list", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == {"registered_models": []}
    assert result.stderr.startswith(f"Warning: no store at {path}; starting a new, empty one there.")
    assert "--tracking-uri" in result.stderr and result.stderr.count("\n") == 1
    again = _cli("--tracking-uri", f"sqlite:///{path.as_posix()}", "models", "list", "--json")
    assert again.exit_code == 0 and again.stderr == ""


def test_a_read_in_a_directory_without_podium_data_warns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _cli("runs", "list", "--json")
    assert result.exit_code == 0
    assert result.stderr.startswith(f"Warning: no store at {tmp_path / 'podium-data' / 'podium.db'};")


def test_users_list_warns_but_users_create_starts_a_store_silently(tmp_path):
    listed = f"sqlite:///{(tmp_path / 'a.db').as_posix()}"
    result = _cli("--tracking-uri", listed, "users", "list", "--json")
    assert result.exit_code == 0 and result.stderr.startswith("Warning: no store at ")
    created = f"sqlite:///{(tmp_path / 'b.db').as_posix()}"
    result = _cli("--tracking-uri", created, "users", "create", "ada", "--no-password")
    assert result.exit_code == 0 and result.stderr == ""
    assert (tmp_path / "b.db").is_file()
