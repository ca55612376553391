"""Data the web UI tests register through the API: a model with a run, files, a stage, an alias, and
hostile strings in every field a page shows."""

from __future__ import annotations

import html
import json
import re

from .helpers import A2, ART, ok

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"  # model names cannot hold '/', so not SCRIPT
ATTRIBUTE = '" onerror="alert(1)'
FILES = {"MLmodel": b"flavors:\n  python_function: {}\n", "model.pkl": b"\x00" * 2048}


def register_model(api, name: str, versions: int = 2, description: str = "", tags: dict | None = None,
                   params: dict | None = None) -> str:
    """``name`` with ``versions`` versions of one run whose files went through the proxy; version 1 in
    Production and ``@champion`` on the last. The run's ``params`` hold SCRIPT unless given. Returns the run id."""
    params = params or {"max_depth": "7", "note": SCRIPT}
    run = ok(api.post(f"{A2}/runs/create", json={"experiment_id": "0"}))["run"]["info"]
    ok(api.post(f"{A2}/runs/log-batch", json={
        "run_id": run["run_id"], "params": [{"key": k, "value": v} for k, v in params.items()],
        "metrics": [{"key": "rmse", "value": 0.125, "timestamp": 1, "step": 0}]}))
    root = run["artifact_uri"].removeprefix("mlflow-artifacts:/").strip("/")
    for rel, data in FILES.items():
        assert api.put(f"{ART}/{root}/model/{rel}", content=data).status_code == 200
    ok(api.post(f"{A2}/registered-models/create", json={
        "name": name, "description": description, "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}))
    for _ in range(versions):
        ok(api.post(f"{A2}/model-versions/create",
                    json={"name": name, "source": f"runs:/{run['run_id']}/model", "run_id": run["run_id"]}))
    ok(api.post(f"{A2}/model-versions/transition-stage", json={"name": name, "version": "1", "stage": "Production",
                                                                    "archive_existing_versions": False}))
    ok(api.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion", "version": str(versions)}))
    return run["run_id"]


def next_href(page: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


def version_numbers(page: str) -> list[int]:
    """The version links of a model page's versions table, in order."""
    table = page.split('id="versions"', 1)[1]
    return [int(v) for v in re.findall(r'<tr><td><a href="/models/[^"]+/versions/(\d+)"', table)]


def _mlmodel(columns: dict[str, str]) -> bytes:
    inputs = json.dumps([{"name": c, "type": t} for c, t in columns.items()])
    outputs = json.dumps([{"type": "double"}])
    return (f"flavors:\n  python_function: {{}}\nsignature:\n  inputs: '{inputs}'\n  outputs: '{outputs}'\n"
            ).encode()


#: what each version of register_compared_model differs in
COMPARED = [
    {"params": {"max_depth": "5", "n_estimators": "100"}, "rmse": [0.9, 0.7, 0.62, 0.6], "r2": 0.71,
     "columns": {"alcohol": "double", "ph": "double"}, "requirements": "scikit-learn==1.4.2\nnumpy==1.26.4\n",
     "weights": 2048},
    {"params": {"max_depth": "7", "n_estimators": "200"}, "rmse": [0.85, 0.6, 0.52, 0.5, 0.49], "r2": 0.78,
     "columns": {"alcohol": "double", "ph": "double", "sulphates": "double"},
     "requirements": "scikit-learn==1.5.0\nnumpy==1.26.4\n", "weights": 4096},
    {"params": {"max_depth": "9", "n_estimators": "200", "min_samples_leaf": "3"}, "rmse": [0.8, 0.66, 0.58, 0.55],
     "r2": 0.74, "columns": {"alcohol": "double", "ph": "double", "sulphates": "double"},
     "requirements": "scikit-learn==1.5.0\nnumpy==2.0.1\npandas==2.2.2\n", "weights": 4096},
]


def register_compared_model(api, name: str, hostile: bool = False) -> list[str]:
    """``name`` with one version per :data:`COMPARED` entry, each from its own run (params, a logged
    ``rmse`` history, ``r2``), with a signature, requirements and files that differ; ``hostile`` puts
    SCRIPT in a param, a signature column, a requirement and a file name.
    Version 2 goes to Production with ``@champion``. Returns the run ids."""
    ok(api.post(f"{A2}/registered-models/create", json={"name": name}))
    run_ids = []
    for i, spec in enumerate(COMPARED):
        run = ok(api.post(f"{A2}/runs/create", json={"experiment_id": "0"}))["run"]["info"]
        params = dict(spec["params"], **({"note": SCRIPT} if hostile else {}))
        metrics = [{"key": "rmse", "value": v, "timestamp": 1000 + step, "step": step}
                   for step, v in enumerate(spec["rmse"])]
        metrics.append({"key": "r2", "value": spec["r2"], "timestamp": 2000, "step": 0})
        ok(api.post(f"{A2}/runs/log-batch", json={
            "run_id": run["run_id"], "params": [{"key": k, "value": v} for k, v in params.items()],
            "metrics": metrics}))
        columns = dict(spec["columns"], **({SCRIPT: "string"} if hostile else {}))
        files = {"MLmodel": _mlmodel(columns), "model.pkl": bytes([i]) * spec["weights"],
                 "requirements.txt": (spec["requirements"] + ("evil" + SCRIPT + "\n" if hostile else "")).encode()}
        if hostile:
            files["notes-onerror=alert(1).txt"] = b"x"
        root = run["artifact_uri"].removeprefix("mlflow-artifacts:/").strip("/")
        for rel, data in files.items():
            assert api.put(f"{ART}/{root}/model/{rel}", content=data).status_code == 200
        ok(api.post(f"{A2}/model-versions/create",
                    json={"name": name, "source": f"runs:/{run['run_id']}/model", "run_id": run["run_id"]}))
        run_ids.append(run["run_id"])
    ok(api.post(f"{A2}/model-versions/transition-stage", json={"name": name, "version": "2", "stage": "Production",
                                                                    "archive_existing_versions": False}))
    ok(api.post(f"{A2}/registered-models/alias", json={"name": name, "alias": "champion", "version": "2"}))
    return run_ids


class FormClient:
    """An ``httpx.Client`` that behaves like a browser for forms: keeps cookies, reads the CSRF token
    of the last page it got, posts forms (urlencoded) and does not follow redirects by itself."""

    def __init__(self, base_url: str, auth=None) -> None:
        import httpx

        self.http = httpx.Client(base_url=base_url, timeout=30, auth=auth, follow_redirects=False)
        self.csrf: str | None = None

    def get(self, path: str, **kw):
        response = self.http.get(path, **kw)
        found = re.search(r'name="csrf" value="([^"]+)"', response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, form: dict, *, csrf: bool = True, headers: dict | None = None):
        data = {**({"csrf": self.csrf} if csrf and self.csrf else {}), **form}
        return self.http.post(path, data=data, headers=headers)

    def sign_in(self, user: str, password: str, next_path: str = "/models"):
        self.get("/login")
        return self.post("/login", {"user": user, "password": password, "next": next_path})

    def flash(self, response) -> str:
        """Follow a form's 303 and return the flash message the page shows."""
        assert response.status_code == 303, f"{response.status_code}: {response.text[:500]}"
        page = self.get(response.headers["location"]).text
        found = re.search(r'<p class="flash flash-(ok|error)" role="\w+">(.*?)</p>', page, re.S)
        assert found, "no flash message on the page"
        return f"{found.group(1)}: {html.unescape(found.group(2))}"

    def close(self) -> None:
        self.http.close()
