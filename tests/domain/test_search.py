"""Tests for podium.domain.search: MLflow's filter / order_by grammar and Podium's extensions."""

from __future__ import annotations

import ast
import random
import sys
from pathlib import Path

import pytest

import podium.domain.search as search_module
from podium.domain.search import (
    ATTRIBUTE_KEYS,
    ENTITIES,
    ORDER_BY_KEYS,
    parse_filter,
    parse_order_by,
)
from podium.domain.search_ast import And, Comparison, Not, Or, OrderKey
from podium.errors import InvalidParameterValue

RM, MV, RUNS = "registered_models", "model_versions", "runs"
EXP, LM = "experiments", "logged_models"
SYNTAX = "Invalid clause(s) in filter string:"


def attr(key, op, value):
    return Comparison("attribute", key, op, value)


def tag(key, op, value):
    return Comparison("tag", key, op, value)


def metric(key, op, value):
    return Comparison("metric", key, op, value)


def param(key, op, value):
    return Comparison("param", key, op, value)


def error_of(text, entity):
    with pytest.raises(InvalidParameterValue) as info:
        parse_filter(text, entity)
    return info.value.message


def order_error_of(clauses, entity):
    with pytest.raises(InvalidParameterValue) as info:
        parse_order_by(clauses, entity)
    return info.value.message


# --- filters seen on the wire ---------------------------------------------------------------------

RUN_ID = "ae9a606a12834c04a8ef1006d0cff779"
PROMPT_TAG = tag("mlflow.prompt.is_prompt", "!=", "true")


@pytest.mark.parametrize(
    ("entity", "text", "expected"),
    [
        (RM, "name='N'", attr("name", "=", "N")),
        (MV, "name='N'", attr("name", "=", "N")),
        (
            MV,
            "name='N' AND version_number > 1",
            And((attr("name", "=", "N"), attr("version_number", ">", 1))),
        ),
        (MV, f"run_id = '{RUN_ID}'", attr("run_id", "=", RUN_ID)),
        (RM, "name LIKE 'wine%'", attr("name", "LIKE", "wine%")),
        (MV, "name LIKE 'wine%'", attr("name", "LIKE", "wine%")),
        (RM, "tags.approved_by = 'luca'", tag("approved_by", "=", "luca")),
        (MV, "tags.approved_by = 'luca'", tag("approved_by", "=", "luca")),
        (RM, "name IN ('N', 'x')", attr("name", "IN", ("N", "x"))),
        (MV, "name IN ('N', 'x')", attr("name", "IN", ("N", "x"))),
        (MV, "source_path LIKE 'models:/%'", attr("source_path", "LIKE", "models:/%")),
        (
            RM,
            "name='N' AND tag.`mlflow.prompt.is_prompt` != 'true'",
            And((attr("name", "=", "N"), tag("mlflow.prompt.is_prompt", "!=", "true"))),
        ),
        (RM, "tag.`mlflow.prompt.is_prompt` != 'true'", PROMPT_TAG),
        (MV, "tag.`mlflow.prompt.is_prompt` != 'true'", PROMPT_TAG),
        (RUNS, "metrics.accuracy > 0", metric("accuracy", ">", 0)),
        (RUNS, "params.C = '1.0'", param("C", "=", "1.0")),
        (RUNS, "attributes.run_name = 'wine-lr-2'", attr("run_name", "=", "wine-lr-2")),
        (LM, "name = 'model'", attr("name", "=", "model")),
    ],
)
def test_filter_parses_wire_examples(entity, text, expected):
    assert parse_filter(text, entity) == expected


# --- filters from MLflow's documentation ----------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "text", "expected"),
    [
        # search_registered_models / search_model_versions docstrings
        (
            RM,
            "name = 'a_model_name' and tag.key = 'value1'",
            And((attr("name", "=", "a_model_name"), tag("key", "=", "value1"))),
        ),
        (RM, "name = 'CordobaWeatherForecast'", attr("name", "=", "CordobaWeatherForecast")),
        (RM, "name LIKE 'Boston%'", attr("name", "LIKE", "Boston%")),
        (RM, "tags.`extra key` = 'v'", tag("extra key", "=", "v")),
        (MV, f"run_id = '{RUN_ID}'", attr("run_id", "=", RUN_ID)),
        (
            MV,
            "name = 'a_model_name' and tag.key = 'value1'",
            And((attr("name", "=", "a_model_name"), tag("key", "=", "value1"))),
        ),
        (MV, "run_id IN ('a', 'b')", attr("run_id", "IN", ("a", "b"))),
        # search runs guide
        (RUNS, "metrics.accuracy > 0.92", metric("accuracy", ">", 0.92)),
        (
            RUNS,
            'params.model = "LogisticRegression" and params.lambda = "0.001" '
            "and metrics.error <= 0.05",
            And(
                (
                    param("model", "=", "LogisticRegression"),
                    param("lambda", "=", "0.001"),
                    metric("error", "<=", 0.05),
                )
            ),
        ),
        (RUNS, 'attributes.status = "FAILED"', attr("status", "=", "FAILED")),
        (RUNS, "metrics.`f1 score` > 0.5", metric("f1 score", ">", 0.5)),
        (RUNS, 'metrics."f1 score" > 0.5', metric("f1 score", ">", 0.5)),
        (RUNS, 'params.batch_size = "2"', param("batch_size", "=", "2")),
        (RUNS, 'params.model LIKE "GPT%"', param("model", "LIKE", "GPT%")),
        (RUNS, "params.model ILIKE 'gpt-%'", param("model", "ILIKE", "gpt-%")),
        (RUNS, "params.model IS NULL", param("model", "IS NULL", None)),
        (RUNS, 'tags."environment" = "notebook"', tag("environment", "=", "notebook")),
        (
            RUNS,
            "tags.environment = 'notebook' AND tags.task = 'Classification'",
            And((tag("environment", "=", "notebook"), tag("task", "=", "Classification"))),
        ),
        (RUNS, f"tags.mlflow.parentRunId = '{RUN_ID}'", tag("mlflow.parentRunId", "=", RUN_ID)),
        (RUNS, "attributes.created > 1664067852747", attr("start_time", ">", 1664067852747)),
        (RUNS, "attributes.start_time >= 1664067852747", attr("start_time", ">=", 1664067852747)),
        (RUNS, "attributes.end_time < 1664067852747", attr("end_time", "<", 1664067852747)),
        (RUNS, "attributes.user_id = 'y'", attr("user_id", "=", "y")),
        (RUNS, "attributes.run_id IN ('a', 'b')", attr("run_id", "IN", ("a", "b"))),
        (RUNS, "run_name LIKE '%goose%'", attr("run_name", "LIKE", "%goose%")),
        # search experiments guide and docstrings
        (EXP, "attributes.name = 'x'", attr("name", "=", "x")),
        (EXP, "name = 'a'", attr("name", "=", "a")),
        (EXP, "attributes.name LIKE 'x%'", attr("name", "LIKE", "x%")),
        (EXP, "tags.group != 'x'", tag("group", "!=", "x")),
        (EXP, "tags.group ILIKE '%x%'", tag("group", "ILIKE", "%x%")),
        (EXP, "tags.k ILIKE '%v'", tag("k", "ILIKE", "%v")),
        (
            EXP,
            "attributes.name LIKE 'x%' AND tags.group = 'y'",
            And((attr("name", "LIKE", "x%"), tag("group", "=", "y"))),
        ),
        (
            EXP,
            "name LIKE '%b' AND tags.k = 'v'",
            And((attr("name", "LIKE", "%b"), tag("k", "=", "v"))),
        ),
        (EXP, "creation_time > 1664067852747", attr("creation_time", ">", 1664067852747)),
        # search_logged_models
        (LM, "name = 'another_model'", attr("name", "=", "another_model")),
        (LM, "metrics.accuracy > 0.9", metric("accuracy", ">", 0.9)),
        (LM, "params.alpha = '0.5'", param("alpha", "=", "0.5")),
        (LM, f"source_run_id = '{RUN_ID}'", attr("source_run_id", "=", RUN_ID)),
    ],
)
def test_filter_parses_mlflow_documented_examples(entity, text, expected):
    assert parse_filter(text, entity) == expected


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("text", [None, "", "   ", "\t\n"])
def test_empty_filter_parses_to_none(entity, text):
    assert parse_filter(text, entity) is None


# --- comparators, keywords, values ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version_number = 3", attr("version_number", "=", 3)),
        ("version_number != 3", attr("version_number", "!=", 3)),
        ("version_number <> 3", attr("version_number", "!=", 3)),
        ("version_number < 3", attr("version_number", "<", 3)),
        ("version_number <= 3", attr("version_number", "<=", 3)),
        ("version_number > 3", attr("version_number", ">", 3)),
        ("version_number >= 3", attr("version_number", ">=", 3)),
        ("version_number>=3", attr("version_number", ">=", 3)),
        ("name LIKE 'a%'", attr("name", "LIKE", "a%")),
        ("name ILIKE 'a%'", attr("name", "ILIKE", "a%")),
        ("name IN ('a')", attr("name", "IN", ("a",))),
        ("name NOT IN ('a', 'b')", attr("name", "NOT IN", ("a", "b"))),
        ("tags.t IS NULL", tag("t", "IS NULL", None)),
        ("tags.t IS NOT NULL", tag("t", "IS NOT NULL", None)),
    ],
)
def test_model_version_filter_accepts_every_comparator(text, expected):
    assert parse_filter(text, MV) == expected


@pytest.mark.parametrize(
    "text",
    [
        "name like 'a%' and tags.t is not null",
        "name LIKE 'a%' AND tags.t IS NOT NULL",
        "name Like 'a%' aNd tags.t Is Not Null",
    ],
)
def test_filter_keywords_are_case_insensitive(text):
    expected = And((attr("name", "LIKE", "a%"), tag("t", "IS NOT NULL", None)))
    assert parse_filter(text, RM) == expected


@pytest.mark.parametrize(
    ("text", "op"),
    [("name ilike 'a'", "ILIKE"), ("name in ('a')", "IN"), ("name not in ('a')", "NOT IN")],
)
def test_filter_normalises_keyword_comparators_to_upper_case(text, op):
    assert parse_filter(text, RM).op == op


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("name = 'plain'", "plain"),
        ('name = "double"', "double"),
        ("name = ''", ""),
        ("name = 'it''s'", "it's"),
        ("name = 'it\\'s'", "it's"),
        ('name = "say ""hi"""', 'say "hi"'),
        ('name = "say \\"hi\\""', 'say "hi"'),
        ("name = \"it's\"", "it's"),
        ("name = 'a \"quoted\" word'", 'a "quoted" word'),
        ("name = 'with spaces and AND OR NOT'", "with spaces and AND OR NOT"),
        ("name = '(paren)'", "(paren)"),
        ("name LIKE '100\\%'", "100\\%"),  # other backslashes are kept for LIKE escapes
        ("name = 'C:\\\\dir'", "C:\\\\dir"),
        ("name = 'ünïcödé ✓'", "ünïcödé ✓"),
    ],
)
def test_filter_reads_quoted_strings_and_escapes(text, value):
    assert parse_filter(text, RM).value == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tags.a.b = 'x'", tag("a.b", "=", "x")),
        ("tags.a-b_c.9 = 'x'", tag("a-b_c.9", "=", "x")),
        ("tags.`mlflow.prompt.is_prompt` = 'x'", tag("mlflow.prompt.is_prompt", "=", "x")),
        ("tags.`my key` = 'x'", tag("my key", "=", "x")),
        ('tags."my key" = \'x\'', tag("my key", "=", "x")),
        ("tags.`k:=(1)` = 'x'", tag("k:=(1)", "=", "x")),
        ('tags."it""s" = \'x\'', tag('it"s', "=", "x")),
        ("tag.t = 'x'", tag("t", "=", "x")),
        ("tags.t = 'x'", tag("t", "=", "x")),
        ("attribute.name = 'x'", attr("name", "=", "x")),
        ("attributes.name = 'x'", attr("name", "=", "x")),
        ("attr.name = 'x'", attr("name", "=", "x")),
        ("name = 'x'", attr("name", "=", "x")),
    ],
)
def test_filter_reads_identifier_prefixes_and_quoted_keys(text, expected):
    assert parse_filter(text, RM) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metric.m > 1", metric("m", ">", 1)),
        ("metrics.m > 1", metric("m", ">", 1)),
        ("metrics.a.b > 1", metric("a.b", ">", 1)),
        ("param.p = 'v'", param("p", "=", "v")),
        ("params.p = 'v'", param("p", "=", "v")),
        ("parameter.p = 'v'", param("p", "=", "v")),
        ("parameters.p = 'v'", param("p", "=", "v")),
        ("params.p IN ('a', 'b')", param("p", "IN", ("a", "b"))),
        ("params.p NOT IN ('a')", param("p", "NOT IN", ("a",))),
        ("tags.t IN ('a', 'b')", tag("t", "IN", ("a", "b"))),
        ("tags.t IS NOT NULL", tag("t", "IS NOT NULL", None)),
    ],
)
def test_run_filter_reads_metrics_params_and_tags(text, expected):
    assert parse_filter(text, RUNS) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("metrics.m > 0", 0),
        ("metrics.m > 42", 42),
        ("metrics.m > -3", -3),
        ("metrics.m > 0.5", 0.5),
        ("metrics.m > -0.25", -0.25),
        ("metrics.m > .5", 0.5),
        ("metrics.m > 2.0", 2),
        ("metrics.m > 1e3", 1000),
        ("metrics.m > 1.5E-3", 0.0015),
        ("metrics.m>-1", -1),
        ("metrics.m > 12345678901234567890", 12345678901234567890),
    ],
)
def test_run_filter_converts_metric_numbers(text, value):
    parsed = parse_filter(text, RUNS).value
    assert parsed == value
    assert type(parsed) is type(value)


@pytest.mark.parametrize(
    ("entity", "text", "expected"),
    [
        (MV, "version_number = '2'", attr("version_number", "=", 2)),
        (MV, "version_number > 2.0", attr("version_number", ">", 2)),
        (MV, "creation_timestamp > '1700000000'", attr("creation_timestamp", ">", 1700000000)),
        (RUNS, "start_time > '123'", attr("start_time", ">", 123)),
        (RUNS, "end_time <= 1.5", attr("end_time", "<=", 1.5)),
        (EXP, "last_update_time >= '5'", attr("last_update_time", ">=", 5)),
        (LM, "creation_time > '7'", attr("creation_timestamp", ">", 7)),
    ],
)
def test_numeric_attribute_accepts_integer_strings_and_numbers(entity, text, expected):
    assert parse_filter(text, entity) == expected


# --- per-entity attributes and canonical keys -----------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "text", "expected"),
    [
        (MV, "current_stage = 'Production'", attr("current_stage", "=", "Production")),
        (MV, "current_stage IN ('Staging', 'x')", attr("current_stage", "IN", ("Staging", "x"))),
        (MV, "last_updated_timestamp < 5", attr("last_updated_timestamp", "<", 5)),
        (MV, "source_path = 'models:/m/1'", attr("source_path", "=", "models:/m/1")),
        (MV, "run_id NOT IN ('a')", attr("run_id", "NOT IN", ("a",))),
        (RUNS, "run_id LIKE 'ab%'", attr("run_id", "LIKE", "ab%")),
        (RUNS, "status IN ('FINISHED', 'FAILED')", attr("status", "IN", ("FINISHED", "FAILED"))),
        (RUNS, "artifact_uri LIKE 's3://%'", attr("artifact_uri", "LIKE", "s3://%")),
        (RUNS, "lifecycle_stage = 'active'", attr("lifecycle_stage", "=", "active")),
        (RUNS, "created > 5", attr("start_time", ">", 5)),
        (RUNS, "attributes.Created > 5", attr("start_time", ">", 5)),
        (RUNS, "attributes.`Run Name` = 'r'", attr("run_name", "=", "r")),
        (RUNS, "attributes.`run name` = 'r'", attr("run_name", "=", "r")),
        (EXP, "experiment_id = '1'", attr("experiment_id", "=", "1")),
        (EXP, "experiment_id IN ('1', '2')", attr("experiment_id", "IN", ("1", "2"))),
        (EXP, "last_update_time < 9", attr("last_update_time", "<", 9)),
        (LM, "model_id = 'm-1'", attr("model_id", "=", "m-1")),
        (LM, "status IN ('READY')", attr("status", "IN", ("READY",))),
        (LM, "model_type ILIKE 'sk%'", attr("model_type", "ILIKE", "sk%")),
        (LM, "creation_timestamp > 1", attr("creation_timestamp", ">", 1)),
        (LM, "last_updated_time > 1", attr("last_updated_timestamp", ">", 1)),
        (LM, "tags.t IS NULL", tag("t", "IS NULL", None)),
    ],
)
def test_filter_maps_attributes_to_canonical_keys(entity, text, expected):
    assert parse_filter(text, entity) == expected


def test_exported_attribute_keys_are_canonical_names():
    assert ATTRIBUTE_KEYS[RM] == {"name"}
    assert ATTRIBUTE_KEYS[MV] == {
        "name",
        "run_id",
        "source_path",
        "version_number",
        "current_stage",
        "creation_timestamp",
        "last_updated_timestamp",
    }
    assert {"run_id", "run_name", "start_time", "end_time", "status"} <= ATTRIBUTE_KEYS[RUNS]
    assert "created" not in ATTRIBUTE_KEYS[RUNS]
    assert ATTRIBUTE_KEYS[EXP] == {"name", "experiment_id", "creation_time", "last_update_time"}
    assert "creation_time" not in ATTRIBUTE_KEYS[LM]
    assert ORDER_BY_KEYS[RM] == {"name", "creation_timestamp", "last_updated_timestamp"}


# --- OR, NOT, parentheses and precedence ----------------------------------------------------------

A, B, C = attr("name", "=", "a"), attr("name", "=", "b"), attr("name", "=", "c")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name = 'a' OR name = 'b'", Or((A, B))),
        ("name = 'a' or name = 'b' or name = 'c'", Or((A, B, C))),
        ("name = 'a' AND name = 'b' AND name = 'c'", And((A, B, C))),
        ("NOT name = 'a'", Not(A)),
        ("not name = 'a'", Not(A)),
        ("NOT NOT name = 'a'", Not(Not(A))),
        ("NOT (name = 'a')", Not(A)),
        ("NOT (name = 'a' OR name = 'b')", Not(Or((A, B)))),
        ("(name = 'a')", A),
        ("((name = 'a'))", A),
        ("(name = 'a' OR name = 'b')", Or((A, B))),
        ("(name = 'a' OR name = 'b') AND name = 'c'", And((Or((A, B)), C))),
        ("name = 'a' AND (name = 'b' OR name = 'c')", And((A, Or((B, C))))),
        # precedence: NOT > AND > OR
        ("name = 'a' OR name = 'b' AND name = 'c'", Or((A, And((B, C))))),
        ("name = 'a' AND name = 'b' OR name = 'c'", Or((And((A, B)), C))),
        ("NOT name = 'a' AND name = 'b'", And((Not(A), B))),
        ("NOT name = 'a' OR name = 'b'", Or((Not(A), B))),
        ("name = 'a' OR NOT name = 'b' AND name = 'c'", Or((A, And((Not(B), C))))),
        # nested groups of the same operator are flattened
        ("name = 'a' AND (name = 'b' AND name = 'c')", And((A, B, C))),
        ("(name = 'a' OR name = 'b') OR name = 'c'", Or((A, B, C))),
        ("(name='a')AND(name='b')", And((A, B))),
        ("name IN ('a', 'b') OR (name = 'c')", Or((attr("name", "IN", ("a", "b")), C))),
    ],
)
def test_filter_supports_or_not_and_parentheses_with_precedence(text, expected):
    assert parse_filter(text, RM) == expected


def test_filter_combines_mixed_kinds_with_or_and_not():
    assert parse_filter(
        "metrics.acc > 0.9 OR NOT (params.C = '1' AND tags.t IS NULL)", RUNS
    ) == Or(
        (
            metric("acc", ">", 0.9),
            Not(And((param("C", "=", "1"), tag("t", "IS NULL", None)))),
        )
    )


# --- invalid keys, kinds, comparators and types ---------------------------------------------------


def test_registered_model_filter_rejects_unknown_key_with_mlflow_message():
    assert error_of("foo = 'x'", RM) == (
        "Invalid attribute key 'foo' specified. Valid keys are 'name'; did you mean 'tags.foo'?"
    )


@pytest.mark.parametrize(("entity", "text", "hint"), [
    (RUNS, "accuracy > 0.9", "metrics.accuracy"),  # a bare metric name
    (MV, "version = 2", "version_number"),  # a near miss of an attribute
    (MV, "current_stag = 'Production'", "current_stage"),
    (RM, "team = 'fraud'", "tags.team"),  # models have no metrics: a tag
])
def test_unknown_filter_key_lists_the_valid_keys_and_suggests_one(entity, text, hint):
    message = error_of(text, entity)
    assert message.endswith(f"; did you mean '{hint}'?")
    assert "{" not in message and "Valid keys are '" in message


def test_unknown_order_by_key_suggests_the_closest():
    with pytest.raises(InvalidParameterValue, match="did you mean 'creation_timestamp'"):
        parse_order_by(["creation_time DESC"], RM)


@pytest.mark.parametrize(
    ("entity", "text", "message"),
    [
        (RM, "attr.foo = 'x'", "Invalid attribute key 'foo' specified. Valid keys are 'name';"),
        (RM, "version_number > 1", "Invalid attribute key 'version_number' specified."),
        (RM, "timestamp > 1", "Invalid attribute key 'timestamp' specified."),
        (
            MV,
            "foo = 'x'",
            "Invalid attribute key 'foo' specified. Valid keys are "
            "'creation_timestamp', 'current_stage', 'last_updated_timestamp', 'name', 'run_id', "
            "'source_path', 'timestamp', 'version_number';",
        ),
        (RUNS, "foo = 'x'", "Invalid attribute key 'foo' specified."),
        (RUNS, "attributes.name = 'x'", "Invalid attribute key 'name' specified."),
        (EXP, "status = 'x'", "Invalid attribute key 'status' specified."),
        (LM, "run_id = 'x'", "Invalid attribute key 'run_id' specified."),
    ],
)
def test_filter_rejects_unknown_attribute_keys(entity, text, message):
    assert error_of(text, entity).startswith(message)


@pytest.mark.parametrize(
    ("entity", "text", "prefix"),
    [
        (RM, "metrics.m > 1", "metrics"),
        (RM, "params.p = 'x'", "params"),
        (MV, "metric.m > 1", "metric"),
        (EXP, "params.p = 'x'", "params"),
        (RUNS, "datasets.name = 'x'", "datasets"),
        (RUNS, "foo.bar = 'x'", "foo"),
    ],
)
def test_filter_rejects_identifier_prefixes_the_entity_lacks(entity, text, prefix):
    assert error_of(text, entity).startswith(f"Invalid entity type '{prefix}'. Valid entity types")


@pytest.mark.parametrize(
    ("entity", "text", "message"),
    [
        (
            MV,
            "version_number LIKE '1'",
            "Invalid comparator 'LIKE' for attribute 'version_number'. "
            "Valid comparators are {'!=', '<', '<=', '=', '>', '>='}",
        ),
        (RM, "name > 'x'", "Invalid comparator '>' for attribute 'name'."),
        (RM, "name IS NULL", "Invalid comparator 'IS NULL' for attribute 'name'."),
        (RM, "tags.t IN ('a')", "Invalid comparator 'IN' for tag 't'."),
        (RM, "tags.t < 'a'", "Invalid comparator '<' for tag 't'."),
        (MV, "source_path IN ('a')", "Invalid comparator 'IN' for attribute 'source_path'."),
        (MV, "current_stage LIKE 'P%'", "Invalid comparator 'LIKE' for attribute 'current_stage'."),
        (MV, "version_number IN (1, 2)", "Invalid comparator 'IN' for attribute 'version_number'."),
        (RUNS, "metrics.m LIKE 'x'", "Invalid comparator 'LIKE' for metric 'm'."),
        (RUNS, "metrics.m IS NULL", "Invalid comparator 'IS NULL' for metric 'm'."),
        (RUNS, "params.p > 'x'", "Invalid comparator '>' for parameter 'p'."),
        (RUNS, "start_time LIKE '1'", "Invalid comparator 'LIKE' for attribute 'start_time'."),
        (EXP, "experiment_id LIKE '1'", "Invalid comparator 'LIKE' for attribute 'experiment_id'."),
        (LM, "metrics.m IN (1)", "Invalid comparator 'IN' for metric 'm'."),
    ],
)
def test_filter_rejects_comparators_not_allowed_for_the_key(entity, text, message):
    assert error_of(text, entity).startswith(message)


@pytest.mark.parametrize(
    ("entity", "text", "message"),
    [
        (RM, "name = 1", "Expected a quoted string value for attribute 'name'"),
        (RM, "name IN ('a', 2)", "Expected a quoted string value for attribute 'name'"),
        (RM, "tags.t = 1", "Expected a quoted string value for tag 't'"),
        (RUNS, "params.C = 1", "Expected a quoted string value for parameter 'C'"),
        (EXP, "experiment_id = 1", "Expected a quoted string value for attribute 'experiment_id'"),
        (RUNS, "metrics.m > 'x'", "Expected a numeric value for metric 'm'"),
        (RUNS, "metrics.m > '1'", "Expected a numeric value for metric 'm'"),
        (RUNS, "start_time > 'yesterday'", "Expected a numeric value for attribute 'start_time'"),
        (RUNS, "start_time > '1.5'", "Expected a numeric value for attribute 'start_time'"),
        (MV, "version_number = 'a'", "Expected a numeric value for attribute 'version_number'"),
        (MV, "version_number = ''", "Expected a numeric value for attribute 'version_number'"),
        (MV, "version_number = 1.5", "Expected an integer value for attribute 'version_number'"),
        (MV, "version_number = '2.5'", "Expected a numeric value for attribute 'version_number'"),
        (LM, "metrics.m > 'high'", "Expected a numeric value for metric 'm'"),
    ],
)
def test_filter_rejects_values_of_the_wrong_type(entity, text, message):
    assert error_of(text, entity).startswith(message)


# --- syntax errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        ("name = ", "found end of filter"),
        ("name =", "after 'name ='"),
        ("name", "expected a comparator after 'name'"),
        ("name 'x'", "expected a comparator"),
        ("= 'x'", "expected an identifier"),
        ("'x' = name", "expected an identifier"),
        ("name = 'x' OR", "expected an identifier"),
        ("name = 'x' AND", "expected an identifier"),
        ("AND name = 'x'", "expected an identifier"),
        ("name = 'x' AND AND name = 'y'", "found 'AND'"),
        ("name = 'x' name = 'y'", "expected AND, OR or the end of the filter, found 'name'"),
        ("name = x", "found 'x'"),
        ("name = 'x' 'y'", "found \"'y'\""),
        ("name == 'x'", "found '='"),
        ("name ~ 'x'", "unexpected character '~'"),
        ("name = 'x'; DROP TABLE t", "unexpected character ';'"),
        ("name = `x`", "unexpected character '`'"),
        ("name = 'x", "unterminated quoted text"),
        ('name = "x', "unterminated quoted text"),
        ("name = 'it''s", "unterminated quoted text"),
        ("tags.`k = 'x'", "unterminated quoted text"),
        ("(name = 'x'", "expected ')'"),
        ("((name = 'x')", "expected ')'"),
        ("name = 'x')", "found ')'"),
        ("()", "expected an identifier"),
        ("name IN ()", "empty list after IN"),
        ("name NOT IN ()", "empty list after NOT IN"),
        ("name IN 'a'", "expected a parenthesised list of values after IN"),
        ("name IN ('a',)", "found ')'"),
        ("name IN ('a' 'b')", "expected ',' or ')'"),
        ("name IN ('a'", "expected ',' or ')'"),
        ("name = ('a')", "found '('"),
        ("name NOT LIKE 'a'", "expected 'IN'"),
        ("tags.t IS 'x'", "expected 'NULL'"),
        ("tags.t IS NOT 'x'", "expected 'NULL'"),
        ("NOT", "expected an identifier"),
        ("tags. = 'x'", "missing key after 'tags.'"),
        ("name = 1abc", "found 'abc'"),
    ],
)
def test_filter_reports_syntax_errors_with_a_pointer(text, pointer):
    message = error_of(text, RM)
    assert message.startswith(SYNTAX)
    assert pointer in message
    assert repr(text) in message


def test_syntax_error_message_gives_the_position():
    assert error_of("name = ", RM) == (
        f"{SYNTAX} expected a quoted string or a number after 'name =', found end of filter, "
        "at position 7 of 'name = '"
    )


def test_filter_reports_syntax_errors_before_unknown_keys():
    assert error_of("a = 'x' OR", RM).startswith(SYNTAX)
    assert error_of("foo = 'x' AND (", RUNS).startswith(SYNTAX)


def test_filter_accepts_nesting_up_to_one_hundred_levels():
    assert parse_filter("(" * 100 + "name = 'a'" + ")" * 100, RM) == A
    assert parse_filter("NOT " * 100 + "name = 'a'", RM) is not None


@pytest.mark.parametrize(
    "text",
    [
        "(" * 101 + "name = 'a'" + ")" * 101,
        "(" * 5000 + "name = 'a'" + ")" * 5000,
        "NOT " * 5000 + "name = 'a'",
        "(NOT " * 60 + "name = 'a'" + ")" * 60,
    ],
)
def test_filter_rejects_deep_nesting_without_recursion_error(text):
    message = error_of(text, RM)
    assert message.startswith(SYNTAX)
    assert "more than 100 nested NOTs or parentheses" in message
    assert len(message) < 400  # a long filter is quoted only around the problem


def test_filter_accepts_long_and_chains():
    node = parse_filter(" AND ".join(["name = 'a'"] * 5000), RM)
    assert isinstance(node, And) and len(node.items) == 5000


@pytest.mark.parametrize(
    ("entity", "text"),
    [
        (RUNS, "metrics.m > " + "9" * 5000),
        (MV, "version_number = '" + "9" * 5000 + "'"),
        (RUNS, "start_time > '" + "9" * 101 + "'"),
    ],
)
def test_filter_rejects_absurdly_long_numbers(entity, text):
    error_of(text, entity)


@pytest.mark.parametrize("entity", ENTITIES)
def test_filter_rejects_unbalanced_quotes_for_every_entity(entity):
    assert "unterminated quoted text" in error_of("name = 'oops", entity)


@pytest.mark.parametrize("value", [42, b"name = 'x'", ["name = 'x'"]])
def test_filter_rejects_non_string_input(value):
    with pytest.raises(InvalidParameterValue):
        parse_filter(value, RM)


@pytest.mark.parametrize("entity", ["models", "", "RUNS", None])
def test_filter_and_order_by_reject_unknown_entities(entity):
    with pytest.raises(InvalidParameterValue, match="Unknown search entity"):
        parse_filter("name = 'x'", entity)
    with pytest.raises(InvalidParameterValue, match="Unknown search entity"):
        parse_order_by(["name"], entity)


_FUZZ_PIECES = [
    "name", "tags.t", "tags.`a b`", "metrics.m", "params.p", "version_number", "start_time",
    "=", "!=", "<>", "<", ">=", "LIKE", "IN", "NOT", "IS", "NULL", "AND", "OR", "(", ")", ",",
    "'x'", '"y"', "'", '"', "`", "1", "-2.5", "1e9", "'3'", " ", ".", "\\", "~", "tags.",
]  # fmt: skip


@pytest.mark.parametrize("entity", ENTITIES)
def test_filter_raises_only_invalid_parameter_value_on_random_input(entity):
    rng = random.Random(f"podium-{entity}")
    for _ in range(2000):
        text = " ".join(rng.choice(_FUZZ_PIECES) for _ in range(rng.randint(1, 9)))
        try:
            parse_filter(text, entity)
        except InvalidParameterValue:
            pass


# --- order_by -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "clauses", "expected"),
    [
        (RM, ["name"], [OrderKey("attribute", "name", True)]),
        (RM, ["name ASC"], [OrderKey("attribute", "name", True)]),
        (RM, ["name DESC"], [OrderKey("attribute", "name", False)]),
        (RM, ["name desc"], [OrderKey("attribute", "name", False)]),
        (RM, ["name Asc"], [OrderKey("attribute", "name", True)]),
        (RM, ["  name   DESC  "], [OrderKey("attribute", "name", False)]),
        (RM, ["timestamp DESC"], [OrderKey("attribute", "creation_timestamp", False)]),
        (RM, ["creation_timestamp"], [OrderKey("attribute", "creation_timestamp", True)]),
        (RM, ["last_updated_timestamp"], [OrderKey("attribute", "last_updated_timestamp", True)]),
        (
            RM,
            ["name ASC", "last_updated_timestamp DESC"],
            [
                OrderKey("attribute", "name", True),
                OrderKey("attribute", "last_updated_timestamp", False),
            ],
        ),
        (RM, ["attributes.name"], [OrderKey("attribute", "name", True)]),
        (MV, ["version_number DESC"], [OrderKey("attribute", "version_number", False)]),
        (MV, ["timestamp"], [OrderKey("attribute", "creation_timestamp", True)]),
        (MV, ["creation_timestamp"], [OrderKey("attribute", "creation_timestamp", True)]),
        (MV, ["last_updated_timestamp"], [OrderKey("attribute", "last_updated_timestamp", True)]),
        (RUNS, ["metrics.m DESC"], [OrderKey("metric", "m", False)]),
        (RUNS, ["metrics.rmse"], [OrderKey("metric", "rmse", True)]),
        (RUNS, ["metrics.`f1 score` DESC"], [OrderKey("metric", "f1 score", False)]),
        (RUNS, ["params.C"], [OrderKey("param", "C", True)]),
        (RUNS, ["tags.mlflow.runName DESC"], [OrderKey("tag", "mlflow.runName", False)]),
        (RUNS, ["attributes.start_time"], [OrderKey("attribute", "start_time", True)]),
        (RUNS, ["start_time DESC"], [OrderKey("attribute", "start_time", False)]),
        (RUNS, ["created"], [OrderKey("attribute", "start_time", True)]),
        (RUNS, ["end_time"], [OrderKey("attribute", "end_time", True)]),
        (RUNS, ["run_name"], [OrderKey("attribute", "run_name", True)]),
        (RUNS, ["status"], [OrderKey("attribute", "status", True)]),
        (RUNS, ["attributes.run_id ASC"], [OrderKey("attribute", "run_id", True)]),
        (EXP, ["name"], [OrderKey("attribute", "name", True)]),
        (EXP, ["experiment_id DESC"], [OrderKey("attribute", "experiment_id", False)]),
        (EXP, ["creation_time"], [OrderKey("attribute", "creation_time", True)]),
        (EXP, ["last_update_time"], [OrderKey("attribute", "last_update_time", True)]),
        (LM, ["creation_time DESC"], [OrderKey("attribute", "creation_timestamp", False)]),
        (LM, ["creation_timestamp"], [OrderKey("attribute", "creation_timestamp", True)]),
        (LM, ["last_updated_timestamp"], [OrderKey("attribute", "last_updated_timestamp", True)]),
        (LM, ["model_id"], [OrderKey("attribute", "model_id", True)]),
        (LM, ["metrics.accuracy DESC"], [OrderKey("metric", "accuracy", False)]),
    ],
)
def test_order_by_parses_clauses(entity, clauses, expected):
    assert parse_order_by(clauses, entity) == expected


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("clauses", [None, []])
def test_order_by_without_clauses_is_empty(entity, clauses):
    assert parse_order_by(clauses, entity) == []


def test_order_by_rejects_unknown_key_with_mlflow_message():
    assert order_error_of(["foo"], RM) == (
        "Invalid attribute key 'foo' specified. Valid keys are "
        "'creation_timestamp', 'last_updated_timestamp', 'name', 'timestamp'."
    )


@pytest.mark.parametrize(
    ("entity", "clause", "message"),
    [
        (RM, "run_id", "Invalid attribute key 'run_id' specified."),
        (RM, "ASC", "Invalid attribute key 'ASC' specified."),
        (MV, "source_path", "Invalid attribute key 'source_path' specified."),
        (RUNS, "name DESC", "Invalid attribute key 'name' specified."),
        (EXP, "timestamp", "Invalid attribute key 'timestamp' specified."),
        (LM, "status", "Invalid attribute key 'status' specified."),
        (RM, "tags.t", "Invalid entity type 'tags'."),
        (MV, "metrics.m", "Invalid entity type 'metrics'."),
        (LM, "params.p", "Invalid entity type 'params'."),
        (RUNS, "datasets.d", "Invalid entity type 'datasets'."),
    ],
)
def test_order_by_rejects_keys_the_entity_cannot_sort_by(entity, clause, message):
    assert order_error_of([clause], entity).startswith(message)


@pytest.mark.parametrize(
    "clause", ["name sideways", "name ASCENDING", "name NOT", "name IN", "DESC name"]
)
def test_order_by_rejects_unknown_direction(clause):
    assert order_error_of([clause], RM) == (
        f"Invalid ordering key in order_by clause '{clause}'. The direction must be ASC or DESC."
    )


@pytest.mark.parametrize(
    "clause", ["", "   ", "name ASC DESC", "'name'", "name,", "(name)", "name = 'x'", "name 'DESC'",
               "tags.`oops", "attributes.", "name;", 7, None]
)  # fmt: skip
def test_order_by_rejects_unparsable_clauses(clause):
    assert order_error_of([clause], RM) == (
        f"Invalid order_by clause '{clause}'. Could not be parsed."
    )


def test_order_by_reports_the_first_bad_clause_among_several():
    assert "'bogus'" in order_error_of(["name", "bogus"], RM)


# --- module hygiene -------------------------------------------------------------------------------


def test_search_module_imports_only_stdlib_and_podium_errors():
    tree = ast.parse(Path(search_module.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    allowed_podium = {"podium.errors", "podium.domain.search_ast"}
    for name in imported:
        top = name.split(".")[0]
        assert name in allowed_podium or top in sys.stdlib_module_names or top == "__future__", name


# --- agreement with MLflow on the grammar both accept ---------------------------------------------

_MLFLOW_CASES = [
    (RM, "name='N'"),
    (RM, "name LIKE 'wine%' AND tags.approved_by = 'luca'"),
    (RM, "name IN ('N', 'x')"),
    (RM, "name='N' AND tag.`mlflow.prompt.is_prompt` != 'true'"),
    (RM, 'tags."my key" = "v"'),
    (RM, "tags.a.b ILIKE '%x'"),
    (MV, "name='N' AND version_number > 1"),
    (MV, "source_path LIKE 'models:/%' AND run_id IN ('a', 'b')"),
    (RUNS, "metrics.accuracy > 0 AND params.C = '1.0'"),
    (RUNS, "attributes.run_name = 'wine-lr-2' AND attributes.start_time >= 5"),
    (RUNS, "metrics.`f1 score` <= -1.5 AND tags.t IS NOT NULL"),
    (EXP, "name LIKE '%b' AND tags.k = 'v' AND creation_time > 5"),
    (LM, "name = 'model' AND metrics.acc > 0.5"),
]


@pytest.mark.parametrize(("entity", "text"), _MLFLOW_CASES)
def test_filter_agrees_with_mlflow_on_and_only_filters(entity, text):
    search_utils = pytest.importorskip("mlflow.utils.search_utils")
    mlflow_parser = {
        RM: search_utils.SearchModelUtils,
        MV: search_utils.SearchModelVersionUtils,
        RUNS: search_utils.SearchUtils,
        EXP: search_utils.SearchExperimentsUtils,
        LM: search_utils.SearchLoggedModelsUtils,
    }[entity]
    kinds = {"attribute": "attribute", "tag": "tag", "metric": "metric", "parameter": "param"}
    theirs = [
        (
            kinds[c["type"]],
            c["key"],
            c["comparator"],
            float(c["value"]) if c["type"] == "metric" else c["value"],
        )
        for c in mlflow_parser.parse_search_filter(text)
    ]
    node = parse_filter(text, entity)
    items = node.items if isinstance(node, And) else (node,)
    ours = [(c.kind, c.key, c.op, c.value) for c in items]
    assert ours == theirs
