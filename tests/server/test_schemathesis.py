"""schemathesis against the live server's own OpenAPI document: no 5xx, no answer the schema denies.

Runs schemathesis's CLI (its examples, coverage, fuzzing and stateful phases; stateful sequences
follow the document's create -> read links) against real ``podium server`` processes: one without
``--auth``, and one with ``--auth`` fuzzed as an admin and without credentials. The multipart/presigned routes are left out: with a local artifact
destination they answer 501 NOT_IMPLEMENTED on purpose (the mlflow client relies on that answer to
fall back to a single PUT), which schemathesis counts as a server error.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


def _schemathesis() -> list[str]:
    exe = Path(sys.executable).with_name("schemathesis")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("schemathesis") or shutil.which("st")
    if not found:
        pytest.fail("schemathesis is not installed (it is in the test extra: pip install -e '.[test]')")
    return [found]


def _schemathesis_run(url: str, report_dir, *extra: str, max_examples: int = 20, schema: str | None = None) -> str:
    """``schema``: a saved copy of the document (the server's own needs credentials with --auth)."""
    source = [schema, "--url", url] if schema else [f"{url}/openapi.json"]
    proc = subprocess.run(
        [*_schemathesis(), "run", *source, "--checks", CHECKS,
         "--max-examples", str(max_examples), "--seed", "20261127", "--exclude-path-regex", "mpu/|presigned/",
         "--report-dir", str(report_dir), *extra],
        capture_output=True, text=True, timeout=600,
    )
    summary = proc.stdout[-6000:]
    assert proc.returncode == 0, summary  # schemathesis exits non-zero on any failed check
    assert "generated" in summary and "passed" in summary, summary
    return summary


def test_schemathesis_finds_no_server_error_and_no_schema_violation(server, tmp_path):
    summary = _schemathesis_run(server.url, tmp_path)
    # the stateful phase chains operations through the document's links (create -> get, ...)
    assert "Stateful" in summary and "API Links" in summary, summary


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    from tests.auth_server import start_auth_server

    server = start_auth_server(tmp_path_factory.mktemp("fuzz-auth"), {"admin": True, "alice": False})
    yield server
    server.stop()


def test_schemathesis_as_an_admin_on_a_server_with_auth_finds_no_server_error(auth_server, tmp_path):
    from tests.auth_server import password_of

    _schemathesis_run(auth_server.url, tmp_path, "--auth", f"admin:{password_of('admin')}")


def test_schemathesis_without_credentials_on_a_server_with_auth_finds_no_server_error(auth_server, tmp_path):
    """What an unauthenticated caller can reach: every route, every input, and still only 401s (and
    the public /health, /version, /metrics, /openapi.json) as the document declares."""
    from tests.auth_server import AuthServer

    schema = tmp_path / "openapi.json"
    schema.write_bytes(httpx.get(f"{auth_server.url}/openapi.json", auth=AuthServer.basic("admin")).content)
    _schemathesis_run(auth_server.url, tmp_path, max_examples=5, schema=str(schema))
