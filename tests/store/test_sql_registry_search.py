"""Searching registered models and model versions through SQL: filters, ordering, paging.

Every filter example of shared/reference §4 is run here, plus Podium's OR / NOT / parentheses, with the
exact expected result sets. Ordering tests use lowercase ASCII names so that they hold under any
database collation.
"""

from __future__ import annotations

import base64
import json
import math

import pytest
from sqlalchemy import update

from podium.errors import InvalidParameterValue
from podium.store.sql.tables import model_versions, registered_models

PROMPT = "tag.`mlflow.prompt.is_prompt` != 'true'"


def rm_names(page) -> set[str]:
    return {m.name for m in page}


def mv_keys(page) -> set[tuple[str, int]]:
    return {(v.name, v.version) for v in page}


@pytest.fixture
def catalog(registry):
    """Five registered models and seven versions with distinct sources, runs and tags."""
    r = registry.registry  # the store: sources are not checked against runs here
    r.create_registered_model("wine-quality", tags={"team": "ml"})
    r.create_model_version("wine-quality", "models:/m-aaa", run_id="run1", tags={"approved_by": "luca"})
    r.create_model_version("wine-quality", "runs:/run2/model", run_id="run2")
    r.create_model_version("wine-quality", "/local/path", tags={"approved_by": "anna"})
    r.create_registered_model("wine-color", tags={"team": "data"})
    r.create_model_version("wine-color", "models:/m-bbb", run_id="run1")
    r.create_registered_model("Wine-Red")
    r.create_model_version("Wine-Red", "s3://bucket/x", run_id="run3", tags={"approved_by": "Luca"})
    r.create_registered_model("beer", tags={"team": "ml", "mlflow.prompt.is_prompt": "false"})
    r.create_registered_model("prompt-1", tags={"mlflow.prompt.is_prompt": "true"})
    r.create_model_version("prompt-1", "models:/m-ccc", run_id="run4")
    return registry


ALL_MODELS = {"wine-quality", "wine-color", "Wine-Red", "beer", "prompt-1"}
ALL_VERSIONS = {
    ("wine-quality", 1),
    ("wine-quality", 2),
    ("wine-quality", 3),
    ("wine-color", 1),
    ("Wine-Red", 1),
    ("prompt-1", 1),
}


# ============================================================================ registered models
@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        (None, ALL_MODELS),
        ("", ALL_MODELS),
        ("   ", ALL_MODELS),
        # shared/reference §4 and the mlflow client's appended prompt clause
        ("name='wine-quality'", {"wine-quality"}),
        (f"name='wine-quality' AND {PROMPT}", {"wine-quality"}),
        (PROMPT, ALL_MODELS - {"prompt-1"}),
        ("attribute.name = 'beer'", {"beer"}),
        ('name = "beer"', {"beer"}),
        ("name != 'beer'", ALL_MODELS - {"beer"}),
        ("name <> 'beer'", ALL_MODELS - {"beer"}),
        ("name LIKE 'wine%'", {"wine-quality", "wine-color"}),
        ("name ILIKE 'wine%'", {"wine-quality", "wine-color", "Wine-Red"}),
        ("name LIKE 'WINE%'", set()),
        ("name ILIKE 'WINE-RED'", {"Wine-Red"}),
        ("name LIKE '%-%'", ALL_MODELS - {"beer"}),
        ("name LIKE 'wine_color'", {"wine-color"}),
        ("name LIKE 'w_ne%'", {"wine-quality", "wine-color"}),
        ("name LIKE '_ine%'", {"wine-quality", "wine-color", "Wine-Red"}),
        ("name LIKE 'beer_'", set()),
        ("name LIKE '%'", ALL_MODELS),
        ("name IN ('wine-color', 'beer', 'nope')", {"wine-color", "beer"}),
        ("name NOT IN ('wine-color', 'beer')", {"wine-quality", "Wine-Red", "prompt-1"}),
        ("name IN ('x')", set()),
        ("tags.team = 'ml'", {"wine-quality", "beer"}),
        ("tag.team = 'ml'", {"wine-quality", "beer"}),
        ("tags.team != 'ml'", {"wine-color"}),
        ("tags.team LIKE 'd%'", {"wine-color"}),
        ("tags.team ILIKE 'ML'", {"wine-quality", "beer"}),
        ("tags.team IS NULL", {"Wine-Red", "prompt-1"}),
        ("tags.team IS NOT NULL", {"wine-quality", "wine-color", "beer"}),
        ("tags.`mlflow.prompt.is_prompt` = 'true'", {"prompt-1"}),
        ('tags."mlflow.prompt.is_prompt" = \'false\'', {"beer"}),
        (f"name LIKE 'wine%' AND {PROMPT}", {"wine-quality", "wine-color"}),
        (f"tags.team = 'ml' AND {PROMPT}", {"wine-quality", "beer"}),
        ("tags.team = 'ml' AND name LIKE 'b%'", {"beer"}),
        # Podium's OR / NOT / parentheses
        ("name = 'beer' OR tags.team = 'data'", {"beer", "wine-color"}),
        ("name = 'beer' or name = 'prompt-1'", {"beer", "prompt-1"}),
        ("NOT name LIKE 'wine%'", {"Wine-Red", "beer", "prompt-1"}),
        ("NOT tags.team = 'ml'", {"wine-color", "Wine-Red", "prompt-1"}),
        ("(name = 'wine-quality' OR name = 'wine-color') AND tags.team = 'data'", {"wine-color"}),
        ("name = 'wine-quality' OR name = 'wine-color' AND tags.team = 'data'", {"wine-quality", "wine-color"}),
        ("NOT (name = 'beer' OR name LIKE 'wine%')", {"Wine-Red", "prompt-1"}),
        (f"(name = 'beer' OR name = 'prompt-1') AND {PROMPT}", {"beer"}),
        ("NOT NOT name = 'beer'", {"beer"}),
    ],
)
def test_search_registered_models_filter(catalog, filter_string, expected):
    assert rm_names(catalog.search_registered_models(filter_string, max_results=100)) == expected


def test_search_registered_models_returns_full_entities(catalog):
    catalog.registry.set_registered_model_alias("wine-quality", "champion", 2)
    [model] = catalog.search_registered_models("name = 'wine-quality'")
    assert model.tags == {"team": "ml"}
    assert model.aliases == {"champion": 2}
    assert [(v.current_stage, v.version) for v in model.latest_versions] == [("None", 3)]
    assert model == catalog.get_registered_model("wine-quality")


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("version_number = 1", "Invalid attribute key 'version_number' specified. Valid keys are 'name'; did you mean 'tags.version_number'?"),
        ("foo = 'x'", "Invalid attribute key 'foo' specified. Valid keys are 'name'; did you mean 'tags.foo'?"),
        ("run_id = 'x'", "Invalid attribute key 'run_id' specified. Valid keys are 'name'; did you mean 'tags.run_id'?"),
    ],
)
def test_search_registered_models_bad_filter_key_uses_mlflow_message(catalog, filter_string, message):
    with pytest.raises(InvalidParameterValue) as info:
        catalog.search_registered_models(filter_string)
    assert info.value.message == message


@pytest.mark.parametrize(
    "filter_string",
    ["name = ", "name", "name = 'a' AND", "name = 'a' OR", "(name = 'a'", "name = 'a')", "name LIKE 3",
     "tags.team > 'a'", "name IN 'a'", "= 'a'"],
)
def test_search_registered_models_malformed_filter_is_invalid_parameter(catalog, filter_string):
    with pytest.raises(InvalidParameterValue):
        catalog.search_registered_models(filter_string)


@pytest.fixture
def simple_models(registry, clock):
    """m0..m6 created in that order, at distinct milliseconds; m3 updated last."""
    for i in range(7):
        registry.create_registered_model(f"m{i}")
    registry.update_registered_model("m3", "touched")
    return registry


def test_search_registered_models_default_order_is_name_ascending(registry):
    for name in ("mc", "ma", "md", "mb"):
        registry.create_registered_model(name)
    assert [m.name for m in registry.search_registered_models()] == ["ma", "mb", "mc", "md"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["name DESC"], ["m6", "m5", "m4", "m3", "m2", "m1", "m0"]),
        (["name ASC"], ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]),
        (["name"], ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]),
        (["timestamp DESC"], ["m6", "m5", "m4", "m3", "m2", "m1", "m0"]),
        (["creation_timestamp ASC"], ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]),
        (["last_updated_timestamp DESC"], ["m3", "m6", "m5", "m4", "m2", "m1", "m0"]),
        (["last_updated_timestamp ASC"], ["m0", "m1", "m2", "m4", "m5", "m6", "m3"]),
    ],
)
def test_search_registered_models_order_by(simple_models, order_by, expected):
    assert [m.name for m in simple_models.search_registered_models(order_by=order_by)] == expected


def test_search_registered_models_equal_order_keys_fall_back_to_name(registry):
    for name in ("mc", "ma", "mb"):
        registry.create_registered_model(name)
    with registry.registry.db.write() as conn:
        conn.execute(update(registered_models).values(last_updated_timestamp=1000))
    assert [m.name for m in registry.search_registered_models(order_by=["last_updated_timestamp DESC"])] == [
        "ma",
        "mb",
        "mc",
    ]


@pytest.mark.parametrize("order_by", [["version_number"], ["name SIDEWAYS"], ["tags.x DESC"], ["name ASC DESC"]])
def test_search_registered_models_bad_order_by_is_invalid_parameter(registry, order_by):
    with pytest.raises(InvalidParameterValue):
        registry.search_registered_models(order_by=order_by)


def _walk(search, page_size, **kwargs):
    pages, token = [], None
    while True:
        page = search(max_results=page_size, page_token=token, **kwargs)
        pages.append(page)
        token = page.token
        if not token:
            return pages


@pytest.mark.parametrize("page_size", range(1, 9))
def test_search_registered_models_pages_cover_everything_once(simple_models, page_size):
    everything = [m.name for m in simple_models.search_registered_models()]
    pages = _walk(simple_models.search_registered_models, page_size)
    walked = [m.name for page in pages for m in page]
    assert walked == everything
    assert len(pages) == max(1, math.ceil(len(everything) / page_size))
    assert all(len(page) == page_size and page.token for page in pages[:-1])
    assert pages[-1].token is None


def test_search_registered_models_pages_with_a_filter(catalog):
    pages = _walk(catalog.search_registered_models, 1, filter_string=PROMPT)
    assert [m.name for page in pages for m in page] == [m.name for m in catalog.search_registered_models(PROMPT)]
    assert rm_names(m for page in pages for m in page) == ALL_MODELS - {"prompt-1"}


def test_search_registered_models_token_is_base64_json_and_mlflow_offset_tokens_still_work(simple_models):
    page = simple_models.search_registered_models(max_results=1)
    assert isinstance(json.loads(base64.b64decode(page.token)), dict)  # opaque: a keyset cursor (see test_keyset_paging)
    second = simple_models.search_registered_models(max_results=1, page_token="eyJvZmZzZXQiOiAxfQ==")  # {"offset": 1}
    assert [m.name for m in second] == ["m1"]


def test_search_registered_models_empty_result_has_no_token(registry):
    page = registry.search_registered_models("name = 'nothing'", max_results=1)
    assert page == [] and page.token is None


def _token(payload) -> str:
    return base64.b64encode(json.dumps(payload).encode()).decode()


BAD_TOKENS = [
    "garbage",
    "!!!!",
    base64.b64encode(b"not json").decode(),
    _token([1, 2]),
    _token({"offset": -1}),
    _token({"offset": "1"}),
]


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_search_registered_models_invalid_page_token_is_invalid_parameter(registry, token):
    with pytest.raises(InvalidParameterValue) as info:
        registry.search_registered_models(page_token=token)
    assert info.value.http_status == 400


def test_search_registered_models_garbage_token_uses_mlflow_message(registry):
    with pytest.raises(InvalidParameterValue) as info:
        registry.search_registered_models(page_token="garbage")
    assert info.value.message == "Invalid page token, could not base64-decode"


@pytest.mark.parametrize("max_results", [1001, 5000, 0, -1, "abc"])
def test_search_registered_models_max_results_outside_1_to_1000_is_invalid(registry, max_results):
    with pytest.raises(InvalidParameterValue):
        registry.search_registered_models(max_results=max_results)


def test_search_registered_models_max_results_at_the_cap_is_accepted(registry):
    registry.create_registered_model("m")
    assert len(registry.search_registered_models(max_results=1000)) == 1
    assert len(registry.search_registered_models(max_results="1000")) == 1


def test_search_registered_models_default_page_is_100(registry):
    for i in range(101):
        registry.registry.create_registered_model(f"m{i:03d}")
    page = registry.search_registered_models()
    assert len(page) == 100 and page.token is not None
    rest = registry.search_registered_models(page_token=page.token)
    assert [m.name for m in rest] == ["m100"] and rest.token is None


# ============================================================================ model versions
#: filters whose expected result relies on case-sensitive "=" / "!=" (a known MySQL bug)


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        (None, ALL_VERSIONS),
        ("", ALL_VERSIONS),
        # shared/reference §4 examples
        ("name='wine-quality'", {("wine-quality", 1), ("wine-quality", 2), ("wine-quality", 3)}),
        ("name='wine-quality' AND version_number > 1", {("wine-quality", 2), ("wine-quality", 3)}),
        ("run_id = 'run1'", {("wine-quality", 1), ("wine-color", 1)}),
        ("name LIKE 'wine%'", {("wine-quality", 1), ("wine-quality", 2), ("wine-quality", 3), ("wine-color", 1)}),
        ("tags.approved_by = 'luca'", {("wine-quality", 1)}),
        ("name IN ('wine-quality', 'x')", {("wine-quality", 1), ("wine-quality", 2), ("wine-quality", 3)}),
        ("source_path LIKE 'models:/%'", {("wine-quality", 1), ("wine-color", 1), ("prompt-1", 1)}),
        # comparators on every key
        ("name ILIKE 'wine%'", ALL_VERSIONS - {("prompt-1", 1)}),
        ("name != 'wine-quality'", {("wine-color", 1), ("Wine-Red", 1), ("prompt-1", 1)}),
        ("name NOT IN ('wine-quality', 'prompt-1')", {("wine-color", 1), ("Wine-Red", 1)}),
        ("run_id IN ('run2', 'run3')", {("wine-quality", 2), ("Wine-Red", 1)}),
        ("run_id NOT IN ('run1', 'run2', 'run3')", {("prompt-1", 1)}),
        ("run_id LIKE 'run%'", ALL_VERSIONS - {("wine-quality", 3)}),
        ("source_path = '/local/path'", {("wine-quality", 3)}),
        ("source_path != '/local/path'", ALL_VERSIONS - {("wine-quality", 3)}),
        ("source_path LIKE 'runs:/%/model'", {("wine-quality", 2)}),
        ("source_path ILIKE 'S3://%'", {("Wine-Red", 1)}),
        ("source_path LIKE 'S3://%'", set()),
        ("version_number = 2", {("wine-quality", 2)}),
        ("version_number = '2'", {("wine-quality", 2)}),
        ("version_number != 1", {("wine-quality", 2), ("wine-quality", 3)}),
        ("version_number >= 2", {("wine-quality", 2), ("wine-quality", 3)}),
        ("version_number < 2", ALL_VERSIONS - {("wine-quality", 2), ("wine-quality", 3)}),
        ("version_number <= 3 AND version_number > 2", {("wine-quality", 3)}),
        ("tags.approved_by ILIKE 'luca'", {("wine-quality", 1), ("Wine-Red", 1)}),
        ("tags.approved_by LIKE 'L%'", {("Wine-Red", 1)}),
        ("tags.approved_by != 'luca'", {("wine-quality", 3), ("Wine-Red", 1)}),
        ("tags.approved_by IS NULL", {("wine-quality", 2), ("wine-color", 1), ("prompt-1", 1)}),
        ("tag.approved_by IS NOT NULL", {("wine-quality", 1), ("wine-quality", 3), ("Wine-Red", 1)}),
        # Podium's OR / NOT / parentheses
        ("run_id = 'run1' OR tags.approved_by = 'anna'", {("wine-quality", 1), ("wine-color", 1), ("wine-quality", 3)}),
        ("NOT name LIKE 'wine%'", {("Wine-Red", 1), ("prompt-1", 1)}),
        ("name = 'wine-quality' AND NOT version_number = 2", {("wine-quality", 1), ("wine-quality", 3)}),
        ("(run_id = 'run1' OR run_id = 'run3') AND name LIKE 'wine%'", {("wine-quality", 1), ("wine-color", 1)}),
        ("run_id = 'run1' OR run_id = 'run3' AND name LIKE 'wine%'", {("wine-quality", 1), ("wine-color", 1)}),
        ("NOT (name LIKE 'wine%' OR name = 'prompt-1')", {("Wine-Red", 1)}),
    ],
)
def test_search_model_versions_filter(catalog, filter_string, expected):
    assert mv_keys(catalog.search_model_versions(filter_string)) == expected


def test_search_model_versions_by_stage_is_a_podium_extension(catalog):
    catalog.transition_model_version_stage("wine-quality", 2, "production")
    assert mv_keys(catalog.search_model_versions("current_stage = 'Production'")) == {("wine-quality", 2)}
    assert mv_keys(catalog.search_model_versions("current_stage IN ('Production', 'Staging')")) == {
        ("wine-quality", 2)
    }


def test_search_model_versions_returns_full_entities(catalog):
    catalog.set_registered_model_alias("wine-quality", "champion", 1)
    [found] = catalog.search_model_versions("name = 'wine-quality' AND version_number = 1")
    assert found == catalog.get_model_version("wine-quality", 1)
    assert (found.tags, found.aliases, found.source, found.run_id) == (
        {"approved_by": "luca"},
        ["champion"],
        "models:/m-aaa",
        "run1",
    )


def test_search_model_versions_bad_filter_key_names_the_valid_keys(catalog):
    with pytest.raises(InvalidParameterValue) as info:
        catalog.search_model_versions("foo = 'x'")
    message = info.value.message
    assert message.startswith("Invalid attribute key 'foo' specified. Valid keys are '")
    for key in ("'source_path'", "'run_id'", "'version_number'", "'name'"):
        assert key in message


@pytest.mark.parametrize(
    "filter_string",
    ["name = ", "version_number > 'abc'", "version_number = 1.5", "source_path IN ('a')",
     "run_id > 'a'", "name LIKE 'a' AND", "metrics.x > 1", "params.x = 'a'"],
)
def test_search_model_versions_malformed_filter_is_invalid_parameter(catalog, filter_string):
    with pytest.raises(InvalidParameterValue):
        catalog.search_model_versions(filter_string)


def test_search_model_versions_syntax_error_message(catalog):
    with pytest.raises(InvalidParameterValue) as info:
        catalog.search_model_versions("name = ")
    assert info.value.message.startswith("Invalid clause(s) in filter string:")


def test_search_model_versions_like_escapes_glob_characters(registry):
    r = registry.registry
    for name in ("a*b", "axxb", "a[1]", "a1", "a?c", "abc"):
        r.create_registered_model(name)
        r.create_model_version(name, "/x")
    assert {v.name for v in registry.search_model_versions("name LIKE 'a*b'")} == {"a*b"}
    assert {v.name for v in registry.search_model_versions("name LIKE 'a[1]'")} == {"a[1]"}
    assert {v.name for v in registry.search_model_versions("name LIKE 'a?c'")} == {"a?c"}
    assert {v.name for v in registry.search_model_versions("name LIKE 'a_c'")} == {"a?c", "abc"}


@pytest.fixture
def timed_versions(registry, clock):
    """Versions of two models, created at distinct milliseconds: a/1, b/1, a/2, b/2, a/3."""
    r = registry.registry
    r.create_registered_model("a")
    r.create_registered_model("b")
    for name in ("a", "b", "a", "b", "a"):
        r.create_model_version(name, "/x")
    return registry


def test_search_model_versions_default_order_is_last_updated_descending(timed_versions):
    assert [(v.name, v.version) for v in timed_versions.search_model_versions()] == [
        ("a", 3),
        ("b", 2),
        ("a", 2),
        ("b", 1),
        ("a", 1),
    ]
    timed_versions.update_model_version("a", 1, "touched")
    assert [(v.name, v.version) for v in timed_versions.search_model_versions()][0] == ("a", 1)


def test_search_model_versions_ties_sort_by_name_then_version_descending(timed_versions):
    with timed_versions.registry.db.write() as conn:
        conn.execute(update(model_versions).values(last_updated_timestamp=1000))
    assert [(v.name, v.version) for v in timed_versions.search_model_versions()] == [
        ("a", 3),
        ("a", 2),
        ("a", 1),
        ("b", 2),
        ("b", 1),
    ]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["version_number ASC"], [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3)]),
        (["version_number DESC"], [("a", 3), ("a", 2), ("b", 2), ("a", 1), ("b", 1)]),
        (["name DESC"], [("b", 2), ("b", 1), ("a", 3), ("a", 2), ("a", 1)]),
        (["name ASC", "version_number ASC"], [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("b", 2)]),
        (["creation_timestamp ASC"], [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3)]),
        (["timestamp DESC"], [("a", 3), ("b", 2), ("a", 2), ("b", 1), ("a", 1)]),
        (["last_updated_timestamp ASC"], [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3)]),
    ],
)
def test_search_model_versions_order_by(timed_versions, order_by, expected):
    assert [(v.name, v.version) for v in timed_versions.search_model_versions(order_by=order_by)] == expected


@pytest.mark.parametrize("order_by", [["source_path"], ["run_id DESC"], ["tags.x"], ["name UP"]])
def test_search_model_versions_bad_order_by_is_invalid_parameter(timed_versions, order_by):
    with pytest.raises(InvalidParameterValue):
        timed_versions.search_model_versions(order_by=order_by)


@pytest.mark.parametrize("page_size", range(1, 7))
def test_search_model_versions_pages_cover_everything_once(timed_versions, page_size):
    everything = [(v.name, v.version) for v in timed_versions.search_model_versions()]
    pages = _walk(timed_versions.search_model_versions, page_size)
    walked = [(v.name, v.version) for page in pages for v in page]
    assert walked == everything
    assert len(walked) == len(set(walked)) == 5
    assert all(len(page) == page_size and page.token for page in pages[:-1])
    assert pages[-1].token is None


@pytest.mark.parametrize("page_size", [1, 2])
def test_search_model_versions_pages_with_filter_and_order(catalog, page_size):
    kwargs = {"filter_string": "name LIKE 'wine%'", "order_by": ["version_number ASC"]}
    pages = _walk(catalog.search_model_versions, page_size, **kwargs)
    walked = [(v.name, v.version) for page in pages for v in page]
    assert walked == [(v.name, v.version) for v in catalog.search_model_versions(**kwargs)]
    assert set(walked) == {("wine-quality", 1), ("wine-quality", 2), ("wine-quality", 3), ("wine-color", 1)}


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_search_model_versions_invalid_page_token_is_invalid_parameter(registry, token):
    with pytest.raises(InvalidParameterValue):
        registry.search_model_versions(page_token=token)


@pytest.mark.parametrize("max_results", [200001, 0, -5])
def test_search_model_versions_max_results_outside_the_cap_is_invalid(registry, max_results):
    with pytest.raises(InvalidParameterValue):
        registry.search_model_versions(max_results=max_results)


def test_search_model_versions_max_results_at_the_cap_is_accepted(timed_versions):
    assert len(timed_versions.search_model_versions(max_results=200000)) == 5


def test_negated_like_on_sqlite_uses_no_deprecated_sqlalchemy_operator(catalog, db_kind):
    import warnings

    from sqlalchemy.exc import SADeprecationWarning

    if db_kind != "sqlite":
        pytest.skip("only SQLite compiles LIKE to GLOB")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SADeprecationWarning)
        assert rm_names(catalog.search_registered_models("NOT name LIKE 'wine%'")) == {"Wine-Red", "beer", "prompt-1"}


# ============================================================================ repeated searches
def test_a_repeated_search_sees_every_change_since_the_last(registry_store):
    """A search asked again reuses its compiled statement (``SqlRegistryStore._search``), never its
    rows: models and versions created, tagged or deleted in between are in the next answer."""
    r = registry_store
    for name in ("rep-a", "rep-b"):
        r.create_registered_model(name, tags={"team": "ml"})
        r.create_model_version(name, "/src", tags={"ok": "yes"})
    models = lambda: [m.name for m in r.search_registered_models("name LIKE 'rep-%' AND tags.team = 'ml'")]  # noqa: E731
    versions = lambda: sorted(mv_keys(r.search_model_versions("name = 'rep-a' AND tags.ok = 'yes'")))  # noqa: E731
    for _ in range(3):  # first (SQLAlchemy), second (compiled once), third (reused)
        assert models() == ["rep-a", "rep-b"]
        assert versions() == [("rep-a", 1)]
    r.create_registered_model("rep-c", tags={"team": "ml"})
    r.create_model_version("rep-a", "/src", tags={"ok": "yes"})
    r.set_registered_model_tag("rep-b", "team", "data")
    assert models() == ["rep-a", "rep-c"]
    assert versions() == [("rep-a", 1), ("rep-a", 2)]
    r.delete_registered_model("rep-a")
    assert models() == ["rep-c"]
    assert versions() == []
    r.create_registered_model("rep-a", tags={"team": "ml"})  # same name, a new key
    r.create_model_version("rep-a", "/src", tags={"ok": "yes"})
    assert models() == ["rep-a", "rep-c"]
    assert versions() == [("rep-a", 1)]


def test_a_repeated_search_pages_the_same_way(registry_store):
    r = registry_store
    for i in range(5):
        r.create_registered_model(f"pg-{i}")
    for _ in range(2):
        first = r.search_registered_models("name LIKE 'pg-%'", max_results=2)
        second = r.search_registered_models("name LIKE 'pg-%'", max_results=2, page_token=first.token)
        third = r.search_registered_models("name LIKE 'pg-%'", max_results=2, page_token=second.token)
        assert [[m.name for m in p] for p in (first, second, third)] == [["pg-0", "pg-1"], ["pg-2", "pg-3"], ["pg-4"]]
        assert third.token is None
