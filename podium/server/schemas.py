"""JSON Schemas of MLflow's wire shapes (what :mod:`podium.wire` produces), for the OpenAPI document.

Routes refer to these by name (``ref("ModelVersion")``); :func:`components` is the
``components.schemas`` section. Field lists mirror :mod:`podium.wire`, which a test checks by
validating real responses against them.
"""

from __future__ import annotations

from podium.server.routing import ref

__all__ = ["COMPONENTS", "components", "envelope", "listing"]

_STR = {"type": "string"}
_INT = {"type": "integer", "format": "int64"}
_BOOL = {"type": "boolean"}
_NUM = {"oneOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]}


def _obj(required: tuple[str, ...] = (), **props) -> dict:
    out: dict = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    return out


def _list(item: dict) -> dict:
    return {"type": "array", "items": item}


COMPONENTS: dict[str, dict] = {
    "Error": _obj(("error_code", "message"), error_code=_STR, message=_STR),
    "KeyValue": _obj(("key",), key=_STR, value=_STR),
    "ModelVersion": _obj(
        ("name", "version"),
        name=_STR,
        version={"type": "string", "description": "the version number, as a string"},
        creation_timestamp=_INT,
        last_updated_timestamp=_INT,
        user_id=_STR,
        current_stage={"type": "string", "enum": ["None", "Staging", "Production", "Archived"]},
        description=_STR,
        source=_STR,
        run_id=_STR,
        status={"type": "string", "enum": ["PENDING_REGISTRATION", "FAILED_REGISTRATION", "READY"]},
        status_message=_STR,
        tags=_list(ref("KeyValue")),
        run_link=_STR,
        aliases=_list(_STR),
        model_id=_STR,
    ),
    "RegisteredModelAlias": _obj(("alias", "version"), alias=_STR, version=_STR),
    "RegisteredModel": _obj(
        ("name",),
        name=_STR,
        creation_timestamp=_INT,
        last_updated_timestamp=_INT,
        user_id=_STR,
        description=_STR,
        latest_versions=_list(ref("ModelVersion")),
        tags=_list(ref("KeyValue")),
        aliases=_list(ref("RegisteredModelAlias")),
    ),
    "Experiment": _obj(
        ("experiment_id", "name"),
        experiment_id=_STR,
        name=_STR,
        artifact_location=_STR,
        lifecycle_stage={"type": "string", "enum": ["active", "deleted"]},
        last_update_time=_INT,
        creation_time=_INT,
        tags=_list(ref("KeyValue")),
        workspace=_STR,
    ),
    "Metric": _obj(
        ("key",),
        key=_STR,
        value=_NUM,
        timestamp=_INT,
        step=_INT,
        model_id=_STR,
        run_id=_STR,
        dataset_name=_STR,
        dataset_digest=_STR,
    ),
    "RunInfo": _obj(
        ("run_id",),
        run_id=_STR,
        run_uuid=_STR,
        experiment_id=_STR,
        run_name=_STR,
        user_id=_STR,
        status={"type": "string", "enum": ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]},
        start_time=_INT,
        end_time=_INT,
        artifact_uri=_STR,
        lifecycle_stage=_STR,
    ),
    "Run": _obj(
        ("info",),
        info=ref("RunInfo"),
        data=_obj(metrics=_list(ref("Metric")), params=_list(ref("KeyValue")), tags=_list(ref("KeyValue"))),
        inputs=_obj(dataset_inputs=_list({"type": "object"}), model_inputs=_list({"type": "object"})),
        outputs=_obj(model_outputs=_list(_obj(("model_id",), model_id=_STR, step=_INT))),
    ),
    "LoggedModel": _obj(
        ("info",),
        info=_obj(
            ("model_id",),
            model_id=_STR,
            experiment_id=_STR,
            name=_STR,
            creation_timestamp_ms=_INT,
            last_updated_timestamp_ms=_INT,
            artifact_uri=_STR,
            status={"type": "string", "enum": ["LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"]},
            status_message=_STR,
            model_type=_STR,
            source_run_id=_STR,
            tags=_list(ref("KeyValue")),
        ),
        data=_obj(params=_list(ref("KeyValue")), metrics=_list(ref("Metric"))),
    ),
    "FileInfo": _obj(("path", "is_dir"), path=_STR, is_dir=_BOOL, file_size=_INT),
    "Empty": {"type": "object", "description": "an empty object, {}"},
}


def components() -> dict[str, dict]:
    return {name: dict(schema) for name, schema in COMPONENTS.items()}


def envelope(field: str, schema_name: str) -> dict:
    """``{"<field>": <schema>}``, the usual single-entity response."""
    return _obj((field,), **{field: ref(schema_name)})


def listing(field: str, schema_name: str, paged: bool = True) -> dict:
    """``{"<field>": [<schema>], "next_page_token"?}`` (both omitted when empty, as proto3 does)."""
    props = {field: _list(ref(schema_name))}
    if paged:
        props["next_page_token"] = _STR
    return _obj(**props)
