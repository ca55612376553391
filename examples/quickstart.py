"""The model-registry workflow, written exactly as for MLflow: only the import lines differ.

Run it with `.venv/bin/python examples/quickstart.py` (after `make install`); it uses the embedded
store in ./podium-data, so it needs no server and no configuration. Each run registers two new
versions and moves the aliases to the second.

MLflow deprecated stages (Staging, Production) in 2.9 in favour of aliases, so this uses aliases:
@challenger for the version under evaluation, @champion for the one that serves.
"""

import podium as mlflow
from podium import MlflowClient            # also exported as PodiumClient
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

NAME = "wine-quality-classifier"
X_train, X_test, y_train, y_test = train_test_split(*load_wine(return_X_y=True), random_state=0)

with mlflow.start_run():
    model = LogisticRegression(max_iter=5000).fit(X_train, y_train)
    mlflow.log_param("C", 1.0)
    mlflow.log_metric("accuracy", model.score(X_test, y_test))
    first = mlflow.sklearn.log_model(model, name="model", registered_model_name=NAME)
print(f"Registered {NAME} version {first.registered_model_version} (logged with registered_model_name)")

with mlflow.start_run() as run:                      # a second model, registered from its run
    model2 = LogisticRegression(C=0.01, max_iter=5000).fit(X_train, y_train)
    accuracy = model2.score(X_test, y_test)
    mlflow.log_metric("accuracy", accuracy)
    mlflow.sklearn.log_model(model2, name="model")
second = mlflow.register_model(f"runs:/{run.info.run_id}/model", NAME)
print(f"Registered {NAME} version {second.version} (from runs:/{run.info.run_id}/model)")

client = MlflowClient()
client.set_registered_model_alias(NAME, "challenger", second.version)     # under evaluation
challenger = mlflow.sklearn.load_model(f"models:/{NAME}@challenger")
pinned = mlflow.sklearn.load_model(f"models:/{NAME}/{second.version}")  # by version number
client.update_model_version(NAME, second.version, description=f"C=0.01, accuracy: {accuracy:.2f}")
client.set_model_version_tag(NAME, second.version, key="approved_by", value="luca")
print(f"Loaded @challenger and version {second.version}: accuracy {challenger.score(X_test, y_test):.2f} "
      f"and {pinned.score(X_test, y_test):.2f}")
client.set_registered_model_alias(NAME, "champion", second.version)       # promoted: it serves now
champion = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
print(f"@champion -> version {second.version}; its first predictions: "
      f"{[int(p) for p in champion.predict(X_test[:5])]}")
