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


def test_a_fast_model_is_scored_on_the_event_loop_and_a_slow_one_on_the_pool(tmp_path, monkeypatch):
    """The first request goes to the thread pool (its cost is unknown); once requests are known to
    be cheap they run on the event loop; when they are not (here: the threshold lowered to 0), the
    pool again. The model answers with the name of the thread that ran it."""
    import asyncio
    import json

    import podium.pyfunc
    from podium.serving.app import ScoringApp
    from podium.serving.follower import ModelFollower

    class Where(podium.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            import threading

            return [threading.current_thread().name]

    podium.pyfunc.save_model(str(tmp_path / "m"), python_model=Where())
    follower = ModelFollower(str(tmp_path / "m"))
    follower.start()
    app = ScoringApp(follower, threads=1)
    body = json.dumps({"dataframe_split": {"columns": ["x"], "data": [[1.0]]}}).encode()

    async def post() -> str:
        sent = []

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            sent.append(message)

        await app({"type": "http", "method": "POST", "path": "/invocations", "query_string": b"",
                   "headers": [(b"content-type", b"application/json")]}, receive, send)
        return json.loads(sent[1]["body"])["predictions"][0]

    async def posts(n: int) -> list[str]:
        return [await post() for _ in range(n)]

    try:
        threads = asyncio.run(posts(50))  # the moving average starts at the first request's cost
        assert threads[0].startswith("podium-predict") and "MainThread" in threads, threads
        monkeypatch.setattr("podium.serving.app.INLINE_SECONDS", 0.0)
        threads = asyncio.run(posts(2))
        assert all(t.startswith("podium-predict") for t in threads), threads
    finally:
        follower.stop()
