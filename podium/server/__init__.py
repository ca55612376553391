"""``podium server``: Podium's MLflow-compatible REST API on a bare ASGI app (see decision 0002).

* :mod:`podium.server.app` - ``create_app(settings)``: request dispatch over :mod:`podium.compose`'s services
* :mod:`podium.server.settings` - every setting (flag, ``PODIUM_*`` variable, default)
* :mod:`podium.server.routing` - the declarative route table (dispatch and OpenAPI)
* :mod:`podium.server.requests` - parameter parsing with MLflow's validation messages
* :mod:`podium.server.errors` - the one exception -> JSON error handler
* :mod:`podium.server.api` - the routes, one module per resource
* :mod:`podium.server.runner` - uvicorn, workers, migrations, graceful shutdown
"""
