"""``podium serve``'s webhook receiver: MLflow-format signed deliveries trigger an immediate re-resolve.

Deliveries are signed here exactly as MLflow signs them (``v1,<base64 HMAC-SHA256(secret,
"{delivery_id}.{timestamp}.{body}")>``, written from the format in
/work/shared/reference/mlflow-rest-surface.md, "Webhooks", not with Podium's signing code), sent to a
real ``podium serve`` process that polls once an hour: only the webhook can make it swap quickly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import httpx
import pytest

pytest.importorskip("sklearn")

from click.testing import CliRunner  # noqa: E402

from podium.client import PodiumClient  # noqa: E402
from podium.serving.webhook import WEBHOOK_PATH, WebhookRefused, verify_delivery  # noqa: E402
from tests.server.helpers import start_server, stop_server  # noqa: E402

from .helpers import start_podium_scorer  # noqa: E402
from .test_hot_swap import NAME, ROWS, _log_constant  # noqa: E402

SECRET = "whsec-test-0123456789"


def delivery(data: dict, secret: str = SECRET, entity: str = "model_version_alias", action: str = "created",
             timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """A delivery as MLflow's server sends it: body and headers."""
    body = json.dumps({"entity": entity, "action": action, "timestamp": "2026-12-07T02:54:40.661995+00:00",
                       "data": data}).encode()
    delivery_id, ts = str(uuid.uuid4()), str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), f"{delivery_id}.{ts}.{body.decode()}".encode(), hashlib.sha256).digest()
    return body, {"Content-Type": "application/json", "X-MLflow-Delivery-Id": delivery_id, "X-MLflow-Timestamp": ts,
                  "X-MLflow-Signature": f"v1,{base64.b64encode(mac).decode()}"}


# ------------------------------------------------------------------------------ verification
def _verify(body: bytes, headers: dict[str, str], **kwargs):
    lowered = {k.lower(): v for k, v in headers.items()}
    return verify_delivery(SECRET, lowered.get, body, **kwargs)


def test_an_mlflow_signed_delivery_verifies():
    body, headers = delivery({"name": "m", "alias": "champion", "version": "2"})
    assert _verify(body, headers)["data"] == {"name": "m", "alias": "champion", "version": "2"}
    rotated = {**headers, "X-MLflow-Signature": "v1,b2xkc2VjcmV0 " + headers["X-MLflow-Signature"]}
    assert _verify(body, rotated)["entity"] == "model_version_alias"  # one of several signatures matches


@pytest.mark.parametrize(("change", "status", "message"), [
    (lambda b, h: (b, {**h, "X-MLflow-Signature": delivery({"name": "m"}, secret="wrong")[1]["X-MLflow-Signature"]}),
     401, "signature does not match"),
    (lambda b, h: (b.replace(b'"m"', b'"n"'), h), 401, "signature does not match"),  # body changed in transit
    (lambda b, h: (b, {k: v for k, v in h.items() if k != "X-MLflow-Signature"}), 400, "missing X-MLflow-Signature"),
    (lambda b, h: (b, {**h, "X-MLflow-Timestamp": "yesterday"}), 400, "unix seconds"),
    (lambda b, h: delivery({"name": "m"}, timestamp=int(time.time()) - 3600), 401, "3600 s old"),
    (lambda b, h: delivery({"name": "m"}, timestamp=int(time.time()) + 3600), 401, "ahead"),
])
def test_a_delivery_that_is_not_authentic_or_fresh_is_refused(change, status, message):
    body, headers = change(*delivery({"name": "m"}))
    with pytest.raises(WebhookRefused, match=message) as refused:
        _verify(body, headers)
    assert refused.value.status == status


def test_a_signed_body_that_is_not_an_envelope_is_a_400():
    for body in (b"[1]", b"{not json", b'{"entity": "x", "action": "y"}'):
        headers = delivery({})[1]
        mac = hmac.new(SECRET.encode(), f"{headers['X-MLflow-Delivery-Id']}.{headers['X-MLflow-Timestamp']}.".encode()
                       + body, hashlib.sha256).digest()
        headers["X-MLflow-Signature"] = "v1," + base64.b64encode(mac).decode()
        with pytest.raises(WebhookRefused) as refused:
            _verify(body, headers)
        assert refused.value.status == 400


def test_the_secret_comes_from_the_flag_or_the_environment(monkeypatch):
    from podium.cli import main

    seen = []
    monkeypatch.setattr("podium.serving.app.run", seen.append)
    runner = CliRunner()
    assert runner.invoke(main, ["serve", "m", "--webhook-secret", "from-flag", "--port", "0"]).exit_code == 0
    monkeypatch.setenv("PODIUM_SERVE_WEBHOOK_SECRET", "from-env")
    assert runner.invoke(main, ["serve", "m", "--port", "0"]).exit_code == 0
    assert runner.invoke(main, ["serve", "m", "--webhook-secret", "flag-wins", "--port", "0"]).exit_code == 0
    assert [s.webhook_secret for s in seen] == ["from-flag", "from-env", "flag-wins"]


# ------------------------------------------------------------------------------ a real scorer
@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A registry with versions 1 and 2 (@champion on 1) and a scorer that polls once an hour, with
    the secret from PODIUM_SERVE_WEBHOOK_SECRET."""
    server = start_server(tmp_path_factory.mktemp("webhook-registry"))
    assert [_log_constant(server.url, 1.0), _log_constant(server.url, 2.0)] == ["1", "2"]
    client = PodiumClient(server.url)
    client.set_registered_model_alias(NAME, "champion", "1")
    scorer = start_podium_scorer(tmp_path_factory.mktemp("webhook-scorer"), f"models:/{NAME}@champion", server.url,
                                 "--poll-interval", "3600", env={"PODIUM_SERVE_WEBHOOK_SECRET": SECRET})
    yield client, scorer
    scorer.stop()
    stop_server(server)


def served_version(scorer) -> str:
    r = httpx.post(f"{scorer.url}/invocations", json=ROWS)
    assert r.status_code == 200 and r.json()["predictions"] == [float(r.headers["x-podium-model-version"])] * 2
    return r.headers["x-podium-model-version"]


def test_a_delivery_about_the_served_model_swaps_at_once(setup):
    client, scorer = setup
    client.set_registered_model_alias(NAME, "champion", "2")
    assert served_version(scorer) == "1"  # polling once an hour: nothing noticed yet
    body, headers = delivery({"name": NAME, "alias": "champion", "version": "2"})
    answer = httpx.post(f"{scorer.url}{WEBHOOK_PATH}", content=body, headers=headers)
    assert answer.status_code == 200 and answer.json() == {"accepted": True, "resolving": True}
    deadline = time.monotonic() + 5  # the bound; it takes a load of a small model
    while served_version(scorer) != "2":
        assert time.monotonic() < deadline, scorer.log()
        time.sleep(0.02)
    assert "resolving now" in scorer.log()
    client.set_registered_model_alias(NAME, "champion", "1")
    body, headers = delivery({"name": NAME, "alias": "champion"}, entity="model_version_alias", action="deleted")
    assert httpx.post(f"{scorer.url}{WEBHOOK_PATH}", content=body, headers=headers).json()["resolving"] is True
    deadline = time.monotonic() + 5
    while served_version(scorer) != "1":  # any event about the model re-resolves: the registry decides
        assert time.monotonic() < deadline, scorer.log()
        time.sleep(0.02)


def test_bad_deliveries_are_refused_and_the_scorer_keeps_serving(setup):
    client, scorer = setup
    url = f"{scorer.url}{WEBHOOK_PATH}"
    body, headers = delivery({"name": NAME}, secret="not-the-secret")
    refused = httpx.post(url, content=body, headers=headers)
    assert refused.status_code == 401 and refused.json()["error_code"] == "UNAUTHENTICATED"
    assert httpx.post(url, content=b"{}", headers={"content-type": "application/json"}).status_code == 400
    assert httpx.post(url, content=b"x" * (2 << 20), headers=delivery({})[1]).status_code == 413
    assert httpx.get(url).status_code == 405
    body, headers = delivery({"name": "another-model", "version": "1"}, entity="model_version", action="created")
    assert httpx.post(url, content=body, headers=headers).json() == {"accepted": True, "resolving": False}
    assert "Refused a webhook delivery: The webhook signature does not match" in scorer.log()
    assert served_version(scorer) in ("1", "2")


def test_without_a_secret_there_is_no_webhook_route(tmp_path):
    """In-process (no socket): the default app has no /podium/webhook; a scoring path stays MLflow's."""
    import asyncio

    import podium.pyfunc
    from podium.serving.app import ScoringApp
    from podium.serving.follower import ModelFollower

    class One(podium.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return [1]

    podium.pyfunc.save_model(str(tmp_path / "m"), python_model=One())
    follower = ModelFollower(str(tmp_path / "m"))
    follower.start()
    body, headers = delivery({"name": "m"})

    async def post(app) -> int:
        sent = []

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": WEBHOOK_PATH, "query_string": b"",
                 "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
        await app(scope, receive, send)
        return sent[0]["status"]

    try:
        assert asyncio.run(post(ScoringApp(follower, threads=1))) == 404
        assert asyncio.run(post(ScoringApp(follower, threads=1, webhook_secret=SECRET))) == 200
    finally:
        follower.stop()
