"""``podium demo``: the whole model-registry workflow, end to end, in a scratch store.

It runs the MLflow-style code below (``import podium as mlflow``) against an embedded store in
``DIR/podium.db`` and narrates each step: train and log two wine classifiers, register both,
promote the second to Staging then Production, load it by stage, give it the ``champion`` alias
and load it by alias. Running it again adds two more versions (3 and 4, then 5 and 6, ...).

scikit-learn is imported only when the demo runs; without it the demo says how to install it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from podium.cli.output import print_renderable, text

__all__ = ["MODEL_NAME", "demo", "run_demo"]

MODEL_NAME = "wine-quality-classifier"


@click.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("podium-demo"),
              show_default=True, help="Where the demo keeps its store (DIR/podium.db) and artifacts.")
def demo(directory: Path) -> None:
    """Run the model-registry workflow end to end in a scratch store.

    The demo always uses its own store in DIR (not --tracking-uri), so it never touches your data.
    """
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise click.ClickException("podium demo needs scikit-learn: pip install 'podium[sklearn]'") from None
    directory = directory.expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    run_demo(f"sqlite:///{directory.as_posix()}/podium.db")


def run_demo(tracking_uri: str) -> None:
    """The workflow itself, step by step, with a line of narrative per step."""
    import podium as mlflow
    from podium import MlflowClient
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from podium.cli.models import all_versions, versions_table

    mlflow.set_tracking_uri(tracking_uri)
    print_renderable(text(f"Podium demo: the model-registry workflow in {tracking_uri}", "bold"))
    X_train, X_test, y_train, y_test = train_test_split(*load_wine(return_X_y=True), random_state=0)

    _step(1, f"Train a logistic regression (C=1.0), log it and register it as '{MODEL_NAME}'")
    with mlflow.start_run() as first:
        model = LogisticRegression(max_iter=5000).fit(X_train, y_train)
        accuracy = model.score(X_test, y_test)
        mlflow.log_param("C", 1.0)
        mlflow.log_metric("accuracy", accuracy)
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=MODEL_NAME)
    _done(f"run {first.info.run_id}, accuracy {accuracy:.3f}, "
          f"registered as version {info.registered_model_version}")

    _step(2, "Train a second candidate (C=0.01) and log it without registering it")
    with mlflow.start_run() as run:
        model2 = LogisticRegression(C=0.01, max_iter=5000).fit(X_train, y_train)
        accuracy2 = model2.score(X_test, y_test)
        mlflow.log_param("C", 0.01)
        mlflow.log_metric("accuracy", accuracy2)  # what the web UI's compare page sets beside version 1's
        mlflow.sklearn.log_model(model2, name="model")
    _done(f"run {run.info.run_id}, accuracy {accuracy2:.3f}")

    _step(3, f"Register it from its run: register_model('runs:/<run id>/model', '{MODEL_NAME}')")
    result = mlflow.register_model(f"runs:/{run.info.run_id}/model", MODEL_NAME)
    _done(f"version {result.version}")

    _step(4, f"Promote version {result.version}: None -> Staging -> Production")
    client = MlflowClient()
    client.transition_model_version_stage(name=MODEL_NAME, version=result.version, stage="Staging")
    client.transition_model_version_stage(name=MODEL_NAME, version=result.version, stage="Production")
    _done(f"version {result.version} is in {client.get_model_version(MODEL_NAME, result.version).current_stage}")

    _step(5, f"Load models:/{MODEL_NAME}/Production with podium.sklearn")
    prod = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}/Production")
    _done(f"a {type(prod).__name__} with C={prod.C}, accuracy on the test split {prod.score(X_test, y_test):.3f}")

    _step(6, f"Point the alias @champion at version {result.version}")
    client.set_registered_model_alias(MODEL_NAME, "champion", result.version)
    _done(f"@champion -> version {client.get_model_version_by_alias(MODEL_NAME, 'champion').version}")

    _step(7, f"Load models:/{MODEL_NAME}@champion with podium.pyfunc and predict")
    champ = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    predictions = champ.predict(X_test)
    _done(f"{len(predictions)} predictions, first five: {list(map(int, predictions[:5]))}")

    print_renderable("", versions_table(all_versions(client, MODEL_NAME), f"Versions of {MODEL_NAME}", full=False))
    print_renderable(text("Try next:", "bold"))
    for line in _next_commands(tracking_uri, _podium_off_path()):
        print_renderable(text(f"  {line}"))


def _podium_off_path() -> Path | None:
    """The directory holding this ``podium`` when typing ``podium`` would not find it (e.g. after
    ``make demo``, which installs into ``.venv/bin``); None when it is on the PATH."""
    bin_dir = Path(sys.executable).parent
    found = shutil.which("podium")
    if found and Path(found).resolve().parent == bin_dir.resolve():
        return None
    return bin_dir


def _next_commands(tracking_uri: str, off_path: Path | None = None) -> list[str]:
    """The commands to try after the demo; first how to put ``podium`` on the PATH when it is not."""
    activate = []
    if off_path is not None:
        activate = [f"source {off_path}/activate    # podium is in {off_path}, not on your PATH"
                    if (off_path / "activate").exists() else f"export PATH={off_path}:$PATH"]
    return [
        *activate,
        f"export PODIUM_TRACKING_URI={tracking_uri}",
        f"podium models versions {MODEL_NAME}",
        f"podium models show {MODEL_NAME}",
        f"podium models versions {MODEL_NAME} --stage Production --json",
        f"podium models alias {MODEL_NAME} champion 1",
        f"podium models transition {MODEL_NAME} 1 Archived",
        "podium runs list",
    ]


def _step(number: int, title: str) -> None:
    print_renderable(text(f"[{number}/7] {title}", "bold cyan"))


def _done(message: str) -> None:
    print_renderable(text(f"      -> {message}", "green"))
