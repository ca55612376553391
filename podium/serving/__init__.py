"""``podium serve``: a scoring server for a model URI that follows the registry.

* :mod:`podium.serving.follower` - resolves the URI's alias or stage, loads, verifies and warms up a
  version, and swaps it in atomically; a background poller notices when the alias or stage moves
* :mod:`podium.serving.protocol` - MLflow's scoring protocol: request bodies to model input, MLflow's
  error shapes
* :mod:`podium.serving.app` - the ASGI app (``/ping``, ``/health``, ``/version``, ``/invocations``)
  and the uvicorn runner

Serving loads models through the public API (``podium.pyfunc.load_model`` on the tracking URI), like
any user of the registry; it never touches a store directly. See docs/serving.md.
"""
