"""The server's source rules (podium.services.sources), without a server.

The attacks over HTTP are in tests/server/test_hostile_input.py; these pin the edges of the rules.
"""

from __future__ import annotations

import pytest

from podium.errors import InvalidParameterValue
from podium.services.sources import SourceRules


@pytest.fixture
def local_rules(tmp_path):
    (tmp_path / "artifacts").mkdir()
    return SourceRules(str(tmp_path / "artifacts"), ["s3://team/models", str(tmp_path / "shared")]), tmp_path


def test_the_proxy_space_in_every_spelling_maps_to_one_path(local_rules):
    sources, root = local_rules
    dest = root / "artifacts"
    for spelling in ("mlflow-artifacts:/0/r/artifacts/m", "mlflow-artifacts:0/r/artifacts/m",
                     "mlflow-artifacts:///0/r/artifacts/m", str(dest / "0/r/artifacts/m"),
                     (dest / "0/r/artifacts/m").as_uri(), "mlflow-artifacts:/0/x/../r/artifacts/m"):
        assert sources.proxy_path(spelling) == "0/r/artifacts/m", spelling
    assert sources.proxy_path("mlflow-artifacts:/") == ""
    assert sources.proxy_path("mlflow-artifacts://other-server:5000/0/r/artifacts/m") is None
    assert sources.proxy_path(str(root / "artifacts-2" / "0")) is None
    assert sources.proxy_path(str(dest / ".." / "elsewhere")) is None


def test_a_symlink_out_of_the_destination_is_judged_where_it_points(local_rules):
    sources, root = local_rules
    (root / "outside").mkdir()
    (root / "artifacts" / "link").symlink_to(root / "outside")
    assert sources.proxy_path(str(root / "artifacts" / "link")) is None
    with pytest.raises(InvalidParameterValue):
        sources.check(str(root / "artifacts" / "link"), str(root / "artifacts" / "link"))


@pytest.mark.parametrize("location", ["s3://team/models", "s3://team/models/a/b", "S3://team/models/a"])
def test_allowed_prefixes_admit_their_own_segments(local_rules, location):
    sources, _ = local_rules
    sources.check(location, location)


@pytest.mark.parametrize("location", ["s3://team/models-old/a", "s3://team-2/models/a", "s3://team", "s3://other/a",
                                      "s3://team/models/../secrets", "gs://team/models/a", "/etc/passwd"])
def test_everything_else_is_refused_naming_the_setting(local_rules, location):
    sources, _ = local_rules
    with pytest.raises(InvalidParameterValue, match="--allowed-source-prefix"):
        sources.check(location, location)


def test_every_bucket_when_the_operator_says_so():
    SourceRules("s3://artifacts/podium", ["s3://"]).check("s3://any/thing", "s3://any/thing")
    with pytest.raises(InvalidParameterValue):
        SourceRules("s3://artifacts/podium", ["s3://"]).check("gs://any/thing", "gs://any/thing")


def test_an_s3_destination_is_the_artifact_store():
    sources = SourceRules("s3://artifacts/podium")
    assert sources.proxy_path("s3://artifacts/podium/0/r/artifacts") == "0/r/artifacts"
    assert sources.proxy_path("s3://artifacts/podium-2/0") is None


def test_the_guard_reads_only_admitted_locations(local_rules):
    sources, root = local_rules
    read = []
    locate = sources.guard(lambda location: read.append(location) or ("store", ""))
    assert locate("mlflow-artifacts:/0/r/artifacts/m") == ("store", "")
    assert locate("s3://team/models/a") == ("store", "")
    assert locate("s3://secret/a") is None and locate("/etc") is None
    assert read == ["mlflow-artifacts:/0/r/artifacts/m", "s3://team/models/a"]
