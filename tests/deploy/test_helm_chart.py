"""The Helm chart and the Dockerfile, checked offline: no cluster, no helm binary, no Docker engine.

``helm-python-sdk`` (Helm's Go SDK through ctypes) lints and renders the chart; every rendered
manifest is validated against Kubernetes 1.33's OpenAPI schemas by ``kubernetes-validate``
(strict: unknown fields fail). Then the properties a team relies on are asserted.
"""

from __future__ import annotations

import re
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from podium.server.settings import SETTINGS
from podium.version import __version__

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "podium"
KUBERNETES = "1.33"
#: variables the chart may set besides the settings table (read by the S3 store and boto3)
STORAGE_ENV = {"PODIUM_S3_ENDPOINT_URL", "PODIUM_S3_IGNORE_TLS", "AWS_DEFAULT_REGION", "AWS_REGION",
               "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def _values(name: str) -> dict:
    return yaml.safe_load((CHART / name).read_text())


def render(values: dict | None = None, *, upgrade: bool = False) -> dict[tuple[str, str], dict]:
    """Render the chart: ``{(kind, name): manifest}``, every manifest schema-checked."""
    out = helm.Chart.load(str(CHART)).render(values or {}, name="podium", namespace="ml",
                                             is_install=not upgrade, is_upgrade=upgrade)
    docs = {}
    for path, text in out.items():
        if not path.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                kubernetes_validate.validate(doc, KUBERNETES, strict=True)  # raises ValidationError
                docs[(doc["kind"], doc["metadata"]["name"])] = doc
    return docs


@pytest.fixture(scope="module")
def team() -> dict:
    return render(_values("ci-values.yaml"))


@pytest.fixture(scope="module")
def default() -> dict:
    return render()


def _container(docs: dict, kind: str = "Deployment") -> dict:
    (manifest,) = [d for (k, _), d in docs.items() if k == kind]
    return manifest["spec"]["template"]["spec"]["containers"][0]


def _env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container["env"]}


@pytest.mark.parametrize("values_file", [None, "ci-values.yaml"])
def test_chart_lints_clean_in_strict_mode(values_file):
    report = helm.lint(str(CHART), _values(values_file) if values_file else None, strict=True, namespace="ml",
                       kube_version=KUBERNETES)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []  # 2 = warning, 3 = error


def test_chart_app_version_is_podiums_version():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == __version__ and chart["apiVersion"] == "v2"


def test_team_values_render_valid_manifests_of_every_kind(team):
    assert {kind for kind, _ in team} == {"Deployment", "Service", "ServiceAccount", "Job", "Ingress",
                                         "HorizontalPodAutoscaler", "PodDisruptionBudget"}


def test_default_values_are_a_single_demo_pod_on_sqlite(default):
    assert {kind for kind, _ in default} == {"Deployment", "Service", "ServiceAccount"}
    deployment = default[("Deployment", "podium")]
    assert deployment["spec"]["replicas"] == 1
    env = _env(_container(default))
    assert env["PODIUM_BACKEND_STORE_URI"]["value"].startswith("sqlite:////var/lib/podium/")
    mounts = {m["mountPath"] for m in _container(default)["volumeMounts"]}
    assert {"/tmp", "/var/lib/podium"} <= mounts  # writable places on a read-only root filesystem


def test_probes_check_health_on_the_served_port(team):
    container = _container(team)
    (port,) = container["ports"]
    assert port["name"] == "http" and port["containerPort"] == 5000
    assert _env(container)["PODIUM_PORT"]["value"] == "5000"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}, probe
    service = team[("Service", "podium")]
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_pods_run_as_non_root_on_a_read_only_root_filesystem(team):
    for kind in ("Deployment", "Job"):
        (manifest,) = [d for (k, _), d in team.items() if k == kind]
        pod = manifest["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        container = pod["containers"][0]
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert tmp and "emptyDir" in volumes[tmp[0]["name"]], kind


def test_database_url_and_s3_keys_come_from_the_secret(team):
    env = _env(_container(team))
    database = env["PODIUM_BACKEND_STORE_URI"]["valueFrom"]["secretKeyRef"]
    assert database == {"name": "podium", "key": "backend-store-uri"}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "podium", "key": name}
    assert env["PODIUM_ARTIFACTS_DESTINATION"]["value"] == "s3://acme-ml-artifacts/podium"
    assert all("value" not in env[n] for n in ("PODIUM_BACKEND_STORE_URI", "AWS_SECRET_ACCESS_KEY"))


def test_every_podium_variable_the_chart_sets_is_a_real_setting(team):
    """settings: {key: value} becomes PODIUM_<KEY>; a key that is no setting would be ignored silently."""
    known = {s.env for s in SETTINGS} | STORAGE_ENV
    env = _env(_container(team))
    assert set(env) <= known, set(env) - known
    assert env["PODIUM_WORKERS"]["value"] == "2" and env["PODIUM_METRICS"]["value"] == "true"
    for values in (_values("values.yaml"), _values("ci-values.yaml")):
        assert set(values["settings"]) <= {s.key for s in SETTINGS if s.key}


def test_migration_job_is_a_pre_install_and_pre_upgrade_hook(team):
    job = team[("Job", "podium-migrate")]
    annotations = job["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["podium", "db", "upgrade", "--backend-store-uri", "$(PODIUM_BACKEND_STORE_URI)"]
    assert _env(container)["PODIUM_BACKEND_STORE_URI"]["valueFrom"]["secretKeyRef"]["name"] == "podium"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert container["image"] == _container(team)["image"] == "registry.example.com/ml/podium:0.1.0"
    upgraded = render(_values("ci-values.yaml"), upgrade=True)
    assert ("Job", "podium-migrate") in upgraded


def test_replicas_autoscaling_and_disruption_budget(team):
    deployment = team[("Deployment", "podium")]
    assert "replicas" not in deployment["spec"]  # the autoscaler owns the count; upgrades do not reset it
    hpa = team[("HorizontalPodAutoscaler", "podium")]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 12)
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podium"}
    assert team[("PodDisruptionBudget", "podium")]["spec"]["maxUnavailable"] == 1
    fixed = render({**_values("ci-values.yaml"), "autoscaling": {"enabled": False}})
    assert fixed[("Deployment", "podium")]["spec"]["replicas"] == 3
    assert ("HorizontalPodAutoscaler", "podium") not in fixed
    strategy = deployment["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0


def test_ingress_routes_the_host_to_the_service(team):
    ingress = team[("Ingress", "podium")]["spec"]
    (rule,) = ingress["rules"]
    assert rule["host"] == "podium.ml.example.com"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "podium", "port": {"name": "http"}}
    assert ingress["tls"][0]["secretName"] == "podium-tls"


def test_pods_are_annotated_for_prometheus(team):
    annotations = team[("Deployment", "podium")]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics" and annotations["prometheus.io/port"] == "5000"


@pytest.mark.parametrize("values, message", [
    ({"replicaCount": 3}, "More than one pod needs a shared database"),
    ({"autoscaling": {"enabled": True}, "database": {"existingSecret": "db"}}, "needs shared artifact storage"),
    ({"settings": {"port": 8080}}, "settings.port is set by the chart"),
])
def test_chart_refuses_setups_that_would_split_the_registry(values, message):
    with pytest.raises(helm.HelmRenderError, match=re.escape(message)):
        render(values)


def test_other_choices_render_valid_manifests():
    """IRSA instead of keys, an S3-compatible endpoint, no hook, no pre-stop pause, metrics off."""
    docs = render({
        **_values("ci-values.yaml"),
        "artifacts": {"destination": "s3://bucket/podium", "s3": {"endpointUrl": "https://minio.internal:9000"}},
        "serviceAccount": {"create": False, "name": "podium-irsa"},
        "migrations": {"enabled": False},
        "ingress": {"enabled": True,
                    "hosts": [{"host": "podium.internal", "paths": [{"path": "/", "pathType": "Prefix"}]}]},
        "preStopSleepSeconds": 0,
        "settings": {"metrics": False, "workers": 1},
        "autoscaling": {"enabled": False},
        "replicaCount": 2,
    })
    assert ("Job", "podium-migrate") not in docs and ("ServiceAccount", "podium") not in docs
    pod = docs[("Deployment", "podium")]["spec"]["template"]
    container = pod["spec"]["containers"][0]
    env = _env(container)
    assert env["PODIUM_S3_ENDPOINT_URL"]["value"] == "https://minio.internal:9000" and "AWS_ACCESS_KEY_ID" not in env
    assert pod["spec"]["serviceAccountName"] == "podium-irsa" and "lifecycle" not in container
    assert "prometheus.io/scrape" not in (pod["metadata"].get("annotations") or {})
    assert "tls" not in docs[("Ingress", "podium")]["spec"]


def test_schema_validation_is_strict():
    """The validator is live: a misspelt field in a rendered manifest fails the render."""
    with pytest.raises(kubernetes_validate.ValidationError, match="valu"):
        render({"extraEnv": [{"name": "X", "valu": "typo"}]})


# -- scorers: `podium serve` Deployments -----------------------------------------------------------

SCORERS = [{"name": "production", "modelUri": "models:/wine-quality@champion",
            "tokenSecret": {"name": "scorer-token"}, "webhookSecret": {"name": "podium-webhooks"}},
           {"name": "staging", "modelUri": "models:/wine-quality/Staging", "replicaCount": 1, "workers": 2,
            "image": {"repository": "registry.example.com/ml/podium-sklearn", "tag": "1.4"},
            "resources": {"requests": {"cpu": "250m"}}}]


@pytest.fixture(scope="module")
def scoring() -> dict:
    return render({**_values("ci-values.yaml"), "scorers": SCORERS})


def test_chart_with_scorers_lints_clean_in_strict_mode():
    report = helm.lint(str(CHART), {**_values("ci-values.yaml"), "scorers": SCORERS}, strict=True, namespace="ml",
                       kube_version=KUBERNETES)
    assert report["errors"] == [] and [m for m in report["messages"] if m["severity"] >= 2] == []


def test_each_scorer_is_a_deployment_and_a_service_next_to_the_registry(scoring, team):
    assert set(scoring) - set(team) == {("Deployment", "podium-scorer-production"), ("Service", "podium-scorer-production"),
                                        ("Deployment", "podium-scorer-staging"), ("Service", "podium-scorer-staging")}
    production, staging = (scoring[("Deployment", f"podium-scorer-{n}")] for n in ("production", "staging"))
    assert (production["spec"]["replicas"], staging["spec"]["replicas"]) == (2, 1)
    for name, deployment in (("production", production), ("staging", staging)):
        service = scoring[("Service", f"podium-scorer-{name}")]["spec"]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert service["selector"].items() <= pod_labels.items() and service["ports"][0]["targetPort"] == "http"
        assert deployment["spec"]["selector"]["matchLabels"] == service["selector"]
        # the registry's Service, autoscaler and disruption budget never select a scorer pod
        registry_selector = team[("Service", "podium")]["spec"]["selector"]
        assert not registry_selector.items() <= pod_labels.items()
        other = "staging" if name == "production" else "production"
        assert not service["selector"].items() <= scoring[("Deployment", f"podium-scorer-{other}")]["spec"][
            "template"]["metadata"]["labels"].items()


def test_a_scorer_runs_podium_serve_on_the_registry_service(scoring, monkeypatch):
    """The rendered command is parsed by the real CLI, and means what the values say."""
    from click.testing import CliRunner

    from podium.cli import main

    container = _container({k: d for k, d in scoring.items() if k[1] == "podium-scorer-production"})
    env = _env(container)
    assert env["PODIUM_TRACKING_URI"]["value"] == "http://podium:80"  # the registry's Service
    assert env["PODIUM_TRACKING_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "scorer-token", "key": "token"}
    assert env["PODIUM_SERVE_WEBHOOK_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": "podium-webhooks",
                                                                                "key": "webhook-secret"}
    assert all("value" not in env[n] for n in ("PODIUM_TRACKING_TOKEN", "PODIUM_SERVE_WEBHOOK_SECRET"))
    seen = []
    monkeypatch.setattr("podium.serving.app.run", seen.append)
    monkeypatch.setattr("podium.cli.server._check_can_listen", lambda host, port: None)
    command = container["command"]
    assert command[:2] == ["podium", "serve"]
    result = CliRunner().invoke(main, command[1:], env={"PODIUM_TRACKING_URI": env["PODIUM_TRACKING_URI"]["value"]})
    assert result.exit_code == 0, result.output
    (settings,) = seen
    assert (settings.model_uri, settings.host, settings.port, settings.workers, settings.tracking_uri) == (
        "models:/wine-quality@champion", "0.0.0.0", 8080, 1, "http://podium:80")
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    staging = _container({k: d for k, d in scoring.items() if k[1] == "podium-scorer-staging"})
    assert staging["image"] == "registry.example.com/ml/podium-sklearn:1.4" and "--workers" in staging["command"]
    assert staging["command"][staging["command"].index("--workers") + 1] == "2"
    assert staging["resources"] == {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}}
    assert "PODIUM_SERVE_WEBHOOK_SECRET" not in _env(staging) and "PODIUM_TRACKING_TOKEN" not in _env(staging)


def test_a_scorer_is_ready_only_once_a_model_is_loaded(scoring):
    """Readiness is /health, which answers 503 until a model is loaded (tests/serving/test_app.py);
    a startup probe gives the first download time; the pod is hardened like the registry's."""
    container = _container({k: d for k, d in scoring.items() if k[1] == "podium-scorer-production"})
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["startupProbe"]["periodSeconds"] * container["startupProbe"]["failureThreshold"] >= 300
    assert container["livenessProbe"]["httpGet"]["path"] == "/ping"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp", "/var/lib/podium"}
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "512Mi"}


@pytest.mark.parametrize("scorer, message", [
    ({"name": "production"}, "scorers: production needs a modelUri"),
    ({"modelUri": "models:/m@champion"}, "Every entry of scorers needs a name"),
    ({"name": "Prod_1", "modelUri": "models:/m@champion"}, "must be lowercase letters"),
])
def test_chart_refuses_a_scorer_without_a_name_or_model(scorer, message):
    with pytest.raises(helm.HelmRenderError, match=re.escape(message)):
        render({"scorers": [scorer]})


# -- the Dockerfile ------------------------------------------------------------------------------

def _dockerfile_stages() -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(base image, [(INSTRUCTION, arguments), ...]), ...]``, one entry per FROM."""
    text = (ROOT / "Dockerfile").read_text()
    lines = re.sub(r"\\\n", " ", text).splitlines()
    args, stages = {}, []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "ARG" and not stages and "=" in rest:
            name, _, value = rest.partition("=")
            args[name.strip()] = value.strip()
        if instruction == "FROM":
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), rest.split()[0])
            stages.append((image, []))
        elif stages:
            stages[-1][1].append((instruction, " ".join(rest.split())))
    return stages


def test_dockerfile_is_multi_stage_non_root_and_healthchecked():
    stages = _dockerfile_stages()
    assert len(stages) >= 2
    builder, final = stages[0], stages[-1]
    assert final[0] == "python:3.11-slim"
    assert any(i == "RUN" and "pip wheel" in a and ".[postgres,mysql,s3]" in a for i, a in builder[1])
    final_runs = " ".join(a for i, a in final[1] if i == "RUN")
    assert "podium[postgres,mysql,s3]" in final_runs and "--no-index" in final_runs
    assert not re.search(r"apt-get install[^&;]*\b(build-essential|gcc|g\+\+|make)\b", final_runs)
    assert not any(i == "COPY" and "--from" not in a for i, a in final[1]), "the source tree stays in the builder"
    stage_args = dict(a.split("=", 1) for i, a in final[1] if i == "ARG" and "=" in a)
    (user,) = [a for i, a in final[1] if i == "USER"]
    uid = re.sub(r"\$\{(\w+)\}", lambda m: stage_args[m.group(1)], user).split(":")[0]
    assert int(uid) >= 1000  # numeric, so Kubernetes' runAsNonRoot can verify it
    (healthcheck,) = [a for i, a in final[1] if i == "HEALTHCHECK"]
    assert "/health" in healthcheck
    (entrypoint,) = [a for i, a in final[1] if i == "ENTRYPOINT"]
    assert yaml.safe_load(entrypoint) == ["podium", "server", "--host", "0.0.0.0"]
    assert ("EXPOSE", "5000") in final[1]


def test_dockerignore_keeps_the_context_to_the_package():
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "**"  # an allowlist: nothing but what the build needs
    assert {"!pyproject.toml", "!README.md", "!podium"} <= set(lines)
    assert not {".venv", ".git", "tests"} & {line.lstrip("!") for line in lines if line.startswith("!")}
