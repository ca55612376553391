"""The diff logic of ``podium models compare``: pure functions over entities and fetched files."""

from __future__ import annotations

import json

import pytest

from podium.domain.entities import LoggedModel, Metric, ModelVersion, Run, RunData, RunInfo
from podium.domain.manifests import ManifestFile
from podium.errors import InvalidParameterValue
from podium.services.compare import (
    VersionSnapshot,
    compare_snapshots,
    diff_section,
    requirement_entries,
    signature_entries,
    validate_versions,
)

READABLE = frozenset({"run", "logged_model", "mlmodel", "requirements", "files"})


def _signature(inputs, outputs=None, params=None) -> dict:
    return {"signature": {"inputs": json.dumps(inputs), "outputs": json.dumps(outputs) if outputs else None,
                          "params": json.dumps(params) if params else None}}


def _version(n: int, **kw) -> ModelVersion:
    return ModelVersion(name="wine", version=n, creation_timestamp=1000 * n, last_updated_timestamp=1000 * n,
                        source=f"models:/m-{n}", run_id=f"run{n}", model_id=f"m-{n}", **kw)


def _run(n: int, params: dict, metrics: dict) -> Run:
    info = RunInfo(f"run{n}", "1", f"train-{n}", "me", "FINISHED", 0, 1, f"/art/run{n}")
    return Run(info, RunData(metrics=metrics, params=params))


def _logged(n: int, params: dict, metrics: list[Metric]) -> LoggedModel:
    return LoggedModel(f"m-{n}", "1", "model", f"/art/m-{n}", 0, 0, params=params, metrics=tuple(metrics))


def _section(comparison: dict, name: str) -> dict:
    return next(s for s in comparison["sections"] if s["name"] == name)


def _differing(section: dict) -> dict:
    return {r["key"]: r["values"] for r in section["rows"] if r["different"]}


def test_diff_section_marks_rows_and_lists_changes_against_the_first_version():
    section = diff_section("params", "Run params", [{"C": "1.0", "solver": "lbfgs", "old": "x"},
                                                   {"C": "0.1", "solver": "lbfgs", "new": "y"}], [3, 4])
    rows = {r["key"]: r for r in section["rows"]}
    assert rows["C"] == {"key": "C", "values": ["1.0", "0.1"], "different": True}
    assert rows["solver"]["different"] is False
    assert rows["old"]["values"] == ["x", None] and rows["new"]["values"] == [None, "y"]
    assert section["changes"] == [{"version": 4, "base": 3, "added": ["new"], "removed": ["old"], "changed": ["C"]}]
    assert section["available"] == [True, True]


def test_diff_section_with_unavailable_data_has_unknown_values_and_no_changes():
    section = diff_section("params", "Run params", [{"C": "1"}, None, {"C": "1"}], [1, 2, 3])
    assert section["available"] == [True, False, True]
    assert section["rows"][0]["values"] == ["1", None, "1"]
    assert [c["version"] for c in section["changes"]] == [3]


def test_non_finite_metrics_are_json_strings():
    section = diff_section("metrics", "Run metrics", [{"loss": float("nan")}, {"loss": float("inf")}], [1, 2])
    assert section["rows"][0]["values"] == ["NaN", "Infinity"]
    json.dumps(section, allow_nan=False)


def test_signature_entries_of_columns_tensors_and_params():
    mlmodel = _signature(
        [{"type": "double", "name": "alcohol", "required": True}, {"type": "long", "name": "year", "required": False}],
        [{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}],
        [{"name": "threshold", "type": "double", "default": 0.5, "shape": None}],
    )
    assert signature_entries(mlmodel) == {
        "inputs.alcohol": "double",
        "inputs.year": "long (optional)",
        "outputs[0]": "tensor int64 shape [-1]",
        "params.threshold": "double default=0.5",
    }
    assert signature_entries({"flavors": {}}) == {}
    assert signature_entries(None) is None


def test_signature_diff_reports_added_removed_and_changed_columns():
    v1 = _signature([{"type": "double", "name": "a"}, {"type": "double", "name": "b"}],
                    [{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}])
    v2 = _signature([{"type": "double", "name": "a"}, {"type": "string", "name": "b"}, {"type": "long", "name": "c"}],
                    [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 2]}}])
    section = diff_section("signature", "Signature", [signature_entries(v1), signature_entries(v2)], [1, 2])
    assert section["changes"] == [{"version": 2, "base": 1, "added": ["inputs.c"], "removed": [],
                                   "changed": ["inputs.b", "outputs[0]"]}]
    assert [r["key"] for r in section["rows"]] == ["inputs.a", "inputs.b", "outputs[0]", "inputs.c"]


def test_requirement_entries_parse_pins_markers_extras_and_options():
    text = """
# generated
mlflow==3.1.0
scikit-learn>=1.4,<1.6 ; python_version >= "3.9"
Scikit_Learn_Extra
pandas[performance]==2.2.0  # pinned
-r other.txt
--index-url https://example.org/simple
git+https://github.com/x/y.git
"""
    assert requirement_entries(text) == {
        "mlflow": "==3.1.0",
        "scikit-learn": '>=1.4,<1.6 ; python_version >= "3.9"',
        "scikit-learn-extra": "(any version)",
        "pandas": "[performance] ==2.2.0",
        "-r other.txt": "(option)",
        "--index-url https://example.org/simple": "(option)",
        "git+https://github.com/x/y.git": "(unparsed)",
    }
    assert requirement_entries(None) is None


def test_requirements_diff_shows_changed_pins():
    section = diff_section("requirements", "Requirements",
                           [requirement_entries("numpy==1.26.0\nscikit-learn==1.4.2\nskops==0.9\n"),
                            requirement_entries("numpy==2.0.0\nscikit-learn==1.4.2\npandas==2.2\n")], [1, 2])
    assert section["changes"] == [{"version": 2, "base": 1, "added": ["pandas"], "removed": ["skops"],
                                   "changed": ["numpy"]}]


def test_compare_snapshots_side_by_side():
    files1 = (ManifestFile("MLmodel", 10, "a" * 64), ManifestFile("model.skops", 100, "b" * 64))
    files2 = (ManifestFile("MLmodel", 12, "c" * 64), ManifestFile("model.skops", 100, "b" * 64))
    s1 = VersionSnapshot(
        _version(1, current_stage="Production", aliases=["champion"], tags={"team": "ml"}, description="baseline"),
        _run(1, {"C": "1.0", "max_iter": "100"}, {"accuracy": 0.91}),
        _logged(1, {"C": "1.0"}, [Metric("accuracy", 0.90, 1, 0), Metric("accuracy", 0.91, 2, 1)]),
        _signature([{"type": "double", "name": "a"}]), "scikit-learn==1.4.2\n", files1, "d" * 64, READABLE)
    s2 = VersionSnapshot(
        _version(2, tags={"team": "ml"}, description="tuned"),
        _run(2, {"C": "0.1", "max_iter": "100"}, {"accuracy": 0.95}),
        _logged(2, {"C": "0.1"}, [Metric("accuracy", 0.95, 1, 0)]),
        _signature([{"type": "double", "name": "a"}, {"type": "double", "name": "b"}]), "scikit-learn==1.5.0\n",
        files2, "e" * 64, READABLE)
    comparison = compare_snapshots("wine", [s1, s2])
    json.dumps(comparison, allow_nan=False)
    assert comparison["versions"] == [1, 2]
    assert comparison["headers"][0]["aliases"] == ["champion"]
    assert [s["name"] for s in comparison["sections"]] == [
        "metadata", "tags", "params", "metrics", "model_params", "model_metrics", "signature", "requirements", "files"]
    metadata = _differing(_section(comparison, "metadata"))
    assert metadata["stage"] == ["Production", "None"] and metadata["aliases"] == ["@champion", None]
    assert metadata["description"] == ["baseline", "tuned"]
    assert _differing(_section(comparison, "tags")) == {}
    assert _differing(_section(comparison, "params")) == {"C": ["1.0", "0.1"]}
    assert _differing(_section(comparison, "metrics")) == {"accuracy": [0.91, 0.95]}
    assert _differing(_section(comparison, "model_params")) == {"C": ["1.0", "0.1"]}
    assert _differing(_section(comparison, "model_metrics")) == {"accuracy": [0.91, 0.95]}  # the latest step
    assert _differing(_section(comparison, "signature")) == {"inputs.b": [None, "double"]}
    assert _differing(_section(comparison, "requirements")) == {"scikit-learn": ["==1.4.2", "==1.5.0"]}
    assert _differing(_section(comparison, "files")) == {
        "MLmodel": [{"size": 10, "sha256": "a" * 64}, {"size": 12, "sha256": "c" * 64}]}


def test_unreadable_parts_are_unavailable_not_absent():
    s1 = VersionSnapshot(_version(1), None, None, None, None, None, None, frozenset())
    s2 = VersionSnapshot(_version(2), _run(2, {"C": "1"}, {}), None, {}, None, (), None, READABLE)
    comparison = compare_snapshots("wine", [s1, s2])
    params = _section(comparison, "params")
    assert params["available"] == [False, True] and params["changes"] == []
    assert _section(comparison, "files")["available"] == [False, True]


def test_validate_versions_needs_two_distinct_and_caps_the_count():
    assert validate_versions(["3", 4, "3"]) == [3, 4]
    with pytest.raises(InvalidParameterValue, match="at least two"):
        validate_versions(["3", "3"])
    with pytest.raises(InvalidParameterValue):
        validate_versions(["x", "1"])
    with pytest.raises(InvalidParameterValue, match="at most"):
        validate_versions(range(1, 30))
