"""``log_model`` for every flavor: the MLflow 3 sequence, in one place.

1. create a *logged model* (``m-<hex>``) in the active run's experiment, linked to the run;
2. save the flavor's files into a temporary directory, with run and model ids in ``MLmodel``;
3. upload them to the logged model's artifact location and mark it READY (FAILED on error);
4. record the model as a run output, and tag the run's metrics with it;
5. register it (``registered_model_name``) as a new version of that model.
"""

from __future__ import annotations

import tempfile
import warnings
from typing import Any, Callable

from podium import tracking_context as ctx
from podium.domain.entities import LoggedModelOutput, LoggedModelStatus, Metric
from podium.errors import InvalidParameterValue

__all__ = ["log_model", "model_name_from"]


def model_name_from(name: str | None, artifact_path: str | None) -> str:
    """MLflow 3 names logged models with ``name``; the old ``artifact_path`` still works, with a warning."""
    if name and artifact_path:
        raise InvalidParameterValue("Both `artifact_path` (deprecated) and `name` were given; use only `name`.")
    if artifact_path:
        warnings.warn("`artifact_path` is deprecated. Please use `name` instead.", FutureWarning, stacklevel=3)
        return artifact_path
    return name or "model"


def log_model(
    *,
    save_model: Callable[[str, Any], None],
    name: str | None = None,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
):
    from podium import fluent
    from podium.client.client import PodiumClient
    from podium.flavors.model import Model, ModelInfo

    model_name = model_name_from(name, artifact_path)
    client = PodiumClient()
    run = fluent.active_run()
    run_id = run.info.run_id if run is not None else None
    if model_id is not None:
        logged = client.get_logged_model(model_id)
    else:
        experiment_id = run.info.experiment_id if run is not None else fluent._active_experiment_id()
        run_params = client.get_run(run_id).data.params if run_id else {}
        logged = client.create_logged_model(
            experiment_id,
            name=model_name,
            source_run_id=run_id,
            tags={str(k): str(v) for k, v in (tags or {}).items()},
            params={**run_params, **{str(k): str(v) for k, v in (params or {}).items()}},
            model_type=model_type,
        )
    ctx.set_last_logged_model_id(logged.model_id)
    try:
        with tempfile.TemporaryDirectory(prefix="podium-model-") as tmp:
            meta = Model(artifact_path=model_name, run_id=run_id, model_id=logged.model_id,
                         model_uuid=logged.model_id)
            save_model(tmp, meta)
            client.log_model_artifacts(logged.model_id, tmp)
            saved = Model.load(tmp)
    except BaseException:
        client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)
        raise
    client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    if run_id:
        client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step)])
        _attach_run_metrics(client, run_id, logged.model_id, step)
    info = ModelInfo.from_model(saved, f"models:/{logged.model_id}", name=model_name)
    if registered_model_name:
        version = fluent.register_model(f"models:/{logged.model_id}", registered_model_name)
        info.registered_model_version = version.version
    return info


def _attach_run_metrics(client, run_id: str, model_id: str, step: int) -> None:
    """Record the run's metrics at ``step`` on the logged model too (MLflow 3 does the same)."""
    run = client.get_run(run_id)
    points = [
        Metric(m.key, m.value, m.timestamp, m.step, model_id)
        for m in run.data.metric_objects
        if m.step == step
    ]
    if points:
        client._tracking.log_batch(run_id, metrics=points)
