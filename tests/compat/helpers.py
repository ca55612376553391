"""Constants and assertions the compat tests share."""

from __future__ import annotations

import numpy as np

A2 = "/api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts/artifacts"

#: passed to ``log_model`` to skip pip-requirement inference (mlflow runs a subprocess: ~4 s a model)
PIP_REQS = ["scikit-learn", "skops"]


def same_predictions(loaded, trained, X) -> None:
    """``loaded`` (sklearn or pyfunc) predicts exactly what ``trained`` predicts on ``X``."""
    got = np.asarray(loaded.predict(X))
    expected = trained.predict(X)
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)
    if hasattr(loaded, "predict_proba"):
        np.testing.assert_allclose(loaded.predict_proba(X), trained.predict_proba(X), rtol=0, atol=0)


def same_sklearn_model(loaded, trained, X) -> None:
    """An sklearn model equal to ``trained``: same class, same parameters, same probabilities."""
    assert type(loaded) is type(trained)
    assert loaded.get_params() == trained.get_params()
    np.testing.assert_array_equal(loaded.predict(X), trained.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), trained.predict_proba(X))


def rest_error(response, status: int, code: str | None = None, message: str | None = None) -> dict:
    """Assert an MLflow-shaped JSON error response (exact message when given)."""
    assert response.status_code == status, f"{response.status_code}: {response.text[:500]}"
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    if code is not None:
        assert body.get("error_code") == code, body
    if message is not None:
        assert body.get("message") == message, body
    return body
