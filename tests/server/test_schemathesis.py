"""schemathesis against the live server's own OpenAPI document: no 5xx, no answer the schema denies.

Runs schemathesis's CLI (its examples, coverage, fuzzing and stateful phases) against a real
``podium server`` process. The multipart/presigned routes are left out: with a local artifact
destination they answer 501 NOT_IMPLEMENTED on purpose (the mlflow client relies on that answer to
fall back to a single PUT), which schemathesis counts as a server error.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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


def test_schemathesis_finds_no_server_error_and_no_schema_violation(server, tmp_path):
    proc = subprocess.run(
        [*_schemathesis(), "run", f"{server.url}/openapi.json", "--checks", CHECKS,
         "--max-examples", "20", "--seed", "20261127", "--exclude-path-regex", "mpu/|presigned/",
         "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    summary = proc.stdout[-6000:]
    assert proc.returncode == 0, summary  # schemathesis exits non-zero on any failed check
    assert "generated" in summary and "passed" in summary, summary
