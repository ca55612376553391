"""``podium models verify`` and ``podium models compare`` on a SQLite file (CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import podium

from .helpers import assert_one_line_error


@pytest.fixture
def versions(seed, tmp_path):
    """Model ``wine`` with versions 1 and 2 registered from run artifacts; returns their directories."""
    seed.create_registered_model("wine")
    dirs = []
    for n, weights in ((1, b"\x01" * 2000), (2, b"\x02" * 3000)):
        src = tmp_path / f"src{n}"
        src.mkdir()
        (src / "MLmodel").write_text("flavors: {}\n")
        (src / "weights.bin").write_bytes(weights)
        (src / "requirements.txt").write_text(f"scikit-learn==1.{n}.0\nnumpy==1.26.4\n")
        run = seed.create_run("0")
        seed.log_param(run.info.run_id, "C", str(1.0 / n))
        seed.log_metric(run.info.run_id, "accuracy", 0.9 + n / 100)
        seed.log_artifacts(run.info.run_id, str(src), "model")
        seed.create_model_version("wine", f"runs:/{run.info.run_id}/model", run.info.run_id)
        dirs.append(Path(seed.get_model_version_download_uri("wine", n)))
    return dirs


def test_verify_an_intact_version_exits_0(podium_cli, versions):
    result = podium_cli("models", "verify", "wine", "1")
    assert result.exit_code == 0, result.output
    assert "wine version 1: intact (3 files match manifest" in result.stdout
    report = json.loads(podium_cli("models", "verify", "wine", "2", "--json").stdout)["verification"]
    assert report["status"] == "intact" and report["files_checked"] == 3 and report["problems"] == []


@pytest.mark.parametrize(("tamper", "problem"), [
    (lambda d: (d / "weights.bin").write_bytes(b"\x01" * 1999 + b"\x00"), "file 'weights.bin' is different"),
    (lambda d: (d / "weights.bin").write_bytes(b"\x01" * 10), "file 'weights.bin' is truncated (10 of 2000 bytes)"),
    (lambda d: (d / "MLmodel").unlink(), "file 'MLmodel' is missing"),
    (lambda d: (d / "extra.txt").write_text("x"), "file 'extra.txt' was added after registration"),
], ids=["modify", "truncate", "delete", "add"])
def test_verify_a_tampered_version_exits_4_with_one_data_loss_line(podium_cli, versions, tamper, problem):
    tamper(versions[0])
    result = podium_cli("models", "verify", "wine", "1")
    assert result.exit_code == 4, result.output
    assert result.stderr.startswith("Error: DATA_LOSS: ") and result.stderr.count("\n") == 1
    assert problem in result.stderr and "Traceback" not in result.output
    assert "tampered" in result.stdout
    as_json = podium_cli("models", "verify", "wine", "1", "--json")
    assert as_json.exit_code == 4
    assert json.loads(as_json.stdout)["verification"]["status"] == "tampered"


def test_verify_without_a_manifest_and_of_a_missing_version(podium_cli, seed, versions):
    seed.create_model_version("wine", "gs://bucket/elsewhere")  # nothing Podium can read: no manifest
    result = podium_cli("models", "verify", "wine", "3")
    assert result.exit_code == 1 and result.stderr.startswith("Error: INVALID_STATE: ")
    assert "no manifest" in result.stdout
    assert_one_line_error(podium_cli("models", "verify", "wine", "9"), 3, "RESOURCE_DOES_NOT_EXIST")


def test_compare_marks_only_the_rows_that_differ(podium_cli, versions):
    result = podium_cli("models", "compare", "wine", "1", "2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Run params: 1 of 1 differ" in out and "Run metrics: 1 of 1 differ" in out
    assert "≠  C" in out and "0.5" in out
    assert "Requirements (requirements.txt): 1 of 2 differ" in out and "==1.1.0" in out and "==1.2.0" in out
    assert "numpy" not in out  # the same pin in both: shown only with --all
    assert "v2 vs v1: changed ~scikit-learn" in out
    assert "Files: 2 of 3 differ" in out and "weights.bin" in out
    assert "Tags: none" in out
    every = podium_cli("models", "compare", "wine", "1", "2", "--all").stdout
    assert "numpy" in every and "==1.26.4" in every


def test_compare_json_and_usage_errors(podium_cli, versions):
    comparison = json.loads(podium_cli("models", "compare", "wine", "2", "1", "--json").stdout)["comparison"]
    assert comparison["versions"] == [2, 1]
    params = next(s for s in comparison["sections"] if s["name"] == "params")
    assert params["rows"] == [{"key": "C", "values": ["0.5", "1.0"], "different": True}]
    usage = podium_cli("models", "compare", "wine", "1")
    assert usage.exit_code == 2 and "at least two different versions" in usage.output
    assert_one_line_error(podium_cli("models", "compare", "wine", "1", "7"), 3, "RESOURCE_DOES_NOT_EXIST")


def test_compare_two_sklearn_versions(podium_cli, db_uri):
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    from sklearn.linear_model import LogisticRegression

    podium.set_tracking_uri(db_uri)
    X = pd.DataFrame(np.arange(40, dtype=float).reshape(20, 2), columns=["alcohol", "acidity"])
    y = (X["alcohol"] > 15).astype(int)
    with podium.start_run():
        podium.log_params({"C": 1.0})
        podium.sklearn.log_model(LogisticRegression(C=1.0).fit(X[["alcohol"]], y), name="model",
                                 registered_model_name="clf", input_example=X[["alcohol"]].head(2))
    with podium.start_run():
        podium.log_params({"C": 0.1})
        podium.sklearn.log_model(LogisticRegression(C=0.1).fit(X, y), name="model", registered_model_name="clf",
                                 input_example=X.head(2))
    out = podium_cli("models", "compare", "clf", "1", "2").stdout
    assert "Signature:" in out and "inputs.acidity" in out
    assert "v2 vs v1: added +inputs.acidity" in out
    assert "Logged model params: 1 of 1 differ" in out
