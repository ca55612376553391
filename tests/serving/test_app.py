"""The scoring app in-process (ASGI calls, no socket): what the protocol tests cannot provoke."""

from __future__ import annotations


def test_a_prediction_json_cannot_hold_is_a_500_and_a_body_too_large_a_413(tmp_path):
    """A model returning an object JSON cannot encode is the server's failure (500, logged), not a
    crash; the next request is answered. A body over the limit is refused with 413."""
    import asyncio

    import podium.pyfunc
    from podium.serving.app import MAX_BODY_BYTES, ScoringApp
    from podium.serving.follower import ModelFollower

    class Opaque(podium.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return [object()] if model_input["x"][0] else [1]

    podium.pyfunc.save_model(str(tmp_path / "m"), python_model=Opaque())
    follower = ModelFollower(str(tmp_path / "m"))
    follower.start()
    app = ScoringApp(follower, threads=1)

    async def post(body: bytes, length: int | None = None) -> tuple[int, bytes]:
        sent = []

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/invocations",
                 "headers": [(b"content-type", b"application/json"),
                             (b"content-length", str(len(body) if length is None else length).encode())]}
        await app(scope, receive, send)
        return sent[0]["status"], sent[1]["body"]

    try:
        status, body = asyncio.run(post(b'{"dataframe_records": [{"x": 1}]}'))
        assert status == 500 and b"INTERNAL_ERROR" in body
        assert asyncio.run(post(b'{"dataframe_records": [{"x": 0}]}')) == (200, b'{"predictions":[1]}')
        status, body = asyncio.run(post(b"{}", length=MAX_BODY_BYTES + 1))  # refused before reading
        assert status == 413 and b"REQUEST_TOO_LARGE" in body
    finally:
        follower.stop()
        app.executor.shutdown()


def test_health_and_ping_are_503_until_a_model_is_loaded(tmp_path):
    """What a Kubernetes readiness probe sees (the Helm chart's scorers probe /health): not ready
    before the first model is loaded, ready after."""
    import asyncio

    import podium.pyfunc
    from podium.serving.app import ScoringApp
    from podium.serving.follower import ModelFollower

    class One(podium.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return [1]

    podium.pyfunc.save_model(str(tmp_path / "m"), python_model=One())
    follower = ModelFollower(str(tmp_path / "m"))
    app = ScoringApp(follower, threads=1)

    async def get(path: str) -> int:
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await app({"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}, receive, send)
        return sent[0]["status"]

    assert [asyncio.run(get(p)) for p in ("/health", "/ping", "/version")] == [503, 503, 503]
    follower.start()
    try:
        assert [asyncio.run(get(p)) for p in ("/health", "/ping", "/version")] == [200, 200, 200]
    finally:
        follower.stop()
