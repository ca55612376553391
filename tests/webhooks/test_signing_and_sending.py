"""Signing (checked against MLflow 3.17.2's own deliveries), the SSRF guard at connect time, backoff."""

from __future__ import annotations

import ipaddress
import json
import socket
from email.utils import formatdate
from pathlib import Path

import pytest

from podium.domain.webhooks import envelope
from podium.services.webhooks import RetryPolicy
from podium.webhooks.sender import DeliveryRefused, SendPolicy, address_refused, post, retry_after_seconds
from podium.webhooks.signing import delivery_headers, mlflow_signature, verify_mlflow_signature
from tests.webhook_receiver import Receiver, verify_mlflow

TRACE = next((p / "shared/reference/mlflow-trace/webhooks_deliveries.json" for p in Path(__file__).resolve().parents
              if (p / "shared/reference/mlflow-trace/webhooks_deliveries.json").exists()), None)


@pytest.mark.skipif(TRACE is None, reason="reference traces not available")
def test_signatures_match_the_ones_mlflow_sent():
    deliveries = json.loads(TRACE.read_text())
    for d in deliveries:
        h, body = d["headers"], json.dumps(d["body"])  # MLflow's serialization: json.dumps defaults
        assert len(body) == int(h["Content-Length"])
        assert mlflow_signature("s3cr3t-trace", h["X-MLflow-Delivery-Id"], int(h["X-MLflow-Timestamp"]),
                                body) == h["X-MLflow-Signature"]
        assert verify_mlflow_signature("s3cr3t-trace", h["X-MLflow-Delivery-Id"], h["X-MLflow-Timestamp"], body,
                                       h["X-MLflow-Signature"])
    # the envelope Podium writes for the same event is byte-identical
    rm = deliveries[1]["body"]
    from datetime import datetime

    ms = int(datetime.fromisoformat(rm["timestamp"]).timestamp() * 1000)
    mine = json.loads(envelope("registered_model.created", ms, rm["data"]))
    assert list(mine) == list(rm) and mine["data"] == rm["data"]


def test_headers_carry_no_signature_without_a_secret():
    headers = delivery_headers("id-1", 1796612066, "{}", None)
    assert "X-MLflow-Signature" not in headers and headers["X-MLflow-Delivery-Id"] == "id-1"
    assert "webhook-id" not in headers


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "::1", "fd00:ec2::254", "::ffff:127.0.0.1",
                                     "fe80::1", "224.0.0.1"])
def test_non_public_addresses_are_refused(address):
    assert address_refused(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"])
def test_public_addresses_pass(address):
    assert address_refused(ipaddress.ip_address(address)) is None


def test_a_name_that_resolves_to_loopback_is_refused_when_connecting():
    with Receiver() as receiver:
        with pytest.raises(DeliveryRefused, match="127.0.0.1 is a loopback address"):
            post(f"http://localhost:{receiver.port}/hook", "{}", {}, SendPolicy(("http",)))
        assert receiver.received == []


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch):
    """DNS rebinding: the name is resolved once; a second, different answer is never asked for."""
    real = socket.getaddrinfo
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]])

    def getaddrinfo(host, *args, **kwargs):
        if host == "rebind.example":
            return next(answers)  # a second lookup would raise StopIteration
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with Receiver() as receiver:
        policy = SendPolicy(("http",), allowed_networks=("127.0.0.1/32",))
        answer = post(f"http://rebind.example:{receiver.port}/hook", '{"a": 1}', {"X-Test": "1"}, policy)
        assert answer.status == 200 and answer.body == "ok"
        (got,) = receiver.received
        assert got.headers["Host"] == f"rebind.example:{receiver.port}" and got.body == b'{"a": 1}'


def test_schemes_and_redirects():
    with pytest.raises(DeliveryRefused, match="Invalid webhook URL scheme: 'http'. Allowed schemes are: https."):
        post("http://example.com/", "{}", {}, SendPolicy())
    with Receiver() as receiver:
        receiver.answer("/hook", (301, {"Location": receiver.url("/other")}))
        answer = post(receiver.url(), "{}", {}, SendPolicy(("http",), allow_private_ips=True))
        assert answer.status == 301 and receiver.at("/other") == []


def test_a_signed_delivery_verifies_like_mlflows():
    with Receiver() as receiver:
        body = envelope("model_version.created", 1796612066352, {"name": "m", "version": "1"})
        post(receiver.url(), body, delivery_headers("d-1", 1796612066, body, "s3cr3t"),
             SendPolicy(("http",), allow_private_ips=True))
        assert verify_mlflow("s3cr3t", receiver.received[0])


def test_backoff_grows_with_jitter_is_capped_and_yields_to_retry_after():
    retry = RetryPolicy(initial_ms=1000, max_ms=8000)
    for attempt, ceiling in [(1, 1000), (2, 2000), (3, 4000), (4, 8000), (10, 8000)]:
        delays = {retry.delay_ms(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1
    assert retry.delay_ms(1, retry_after_ms=60_000) == 60_000
    assert retry_after_seconds("120", 0) == 120
    assert 59 <= retry_after_seconds(formatdate(1_000_060, usegmt=True), 1_000_000) <= 60
    assert retry_after_seconds("soon", 0) is None


def test_a_receiver_that_never_answers_times_out():
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with pytest.raises(OSError, match="timed out"):
            post(f"http://127.0.0.1:{port}/hook", "{}", {}, SendPolicy(("http",), allow_private_ips=True, timeout=0.2))
