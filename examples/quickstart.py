"""The model-registry workflow, written exactly as for MLflow: only the import lines differ.

Run it with `python examples/quickstart.py` (after `make install`); it uses the embedded store in
./podium-data, so it needs no server and no configuration.
"""

import podium as mlflow
from podium import MlflowClient            # also exported as PodiumClient
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(*load_wine(return_X_y=True), random_state=0)
with mlflow.start_run():
    model = LogisticRegression(max_iter=5000).fit(X_train, y_train)
    mlflow.log_param("C", 1.0)
    mlflow.log_metric("accuracy", model.score(X_test, y_test))
    mlflow.sklearn.log_model(model, "model", registered_model_name="wine-quality-classifier")

with mlflow.start_run() as run:                      # a second model, registered from its run
    model2 = LogisticRegression(C=0.01, max_iter=5000).fit(X_train, y_train)
    mlflow.sklearn.log_model(model2, name="model")
result = mlflow.register_model(f"runs:/{run.info.run_id}/model", "wine-quality-classifier")  # version 2

client = MlflowClient()
client.transition_model_version_stage(name="wine-quality-classifier", version=2, stage="Staging")
client.transition_model_version_stage(name="wine-quality-classifier", version=2, stage="Production")
prod = mlflow.sklearn.load_model("models:/wine-quality-classifier/Production")
v2 = mlflow.sklearn.load_model("models:/wine-quality-classifier/2")
client.update_model_version(name="wine-quality-classifier", version=2,
                            description="Tuned with RandomizedSearchCV, accuracy: 0.94")
client.set_model_version_tag(name="wine-quality-classifier", version=2, key="approved_by", value="luca")
client.set_registered_model_alias("wine-quality-classifier", "champion", 2)
champ = mlflow.pyfunc.load_model("models:/wine-quality-classifier@champion")
