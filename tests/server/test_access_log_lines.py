"""``podium.access`` lines: written directly while logging is as the server configured it, and the
same text, byte for byte, as ``logging`` writes (``podium.server.logs.log_access``)."""

from __future__ import annotations

import io
import logging
import re
from types import SimpleNamespace

import pytest

from podium.server.logs import configure_logging, log_access

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO podium.access (.*)$")


@pytest.fixture
def configured(monkeypatch):
    """The server's logging setup on a captured stderr; restored afterwards."""
    logger = logging.getLogger("podium")
    saved = (logger.handlers[:], logger.level, logger.propagate, logging.getLogger("podium.access").disabled)

    def configure(log_format="text", access_log=True):
        stream = io.StringIO()
        monkeypatch.setattr("sys.stderr", stream)  # in the test's call (pytest's capture resets it after setup)
        configure_logging(SimpleNamespace(log_level="info", log_format=log_format, access_log=access_log))
        return stream

    yield configure
    logger.handlers[:], logger.level, logger.propagate, logging.getLogger("podium.access").disabled = saved


def _through_logging(method, path, status, ms):
    logging.getLogger("podium.access").info("%s %s %d %.2fms", method, path, status, ms)


@pytest.mark.parametrize("args", [("GET", "/api/2.0/mlflow/registered-models/get", 200, 0.53),
                                  ("POST", "/api/2.0/mlflow/model-versions/create", 404, 12.0),
                                  ("GET", "/models/caf%C3%A9 x", 500, 1234.567)])
def test_a_direct_line_reads_as_logging_writes_it(configured, args):
    stream = configured()
    log_access(*args)
    _through_logging(*args)
    direct, logged = stream.getvalue().splitlines()
    assert LINE.match(direct).group(1) == LINE.match(logged).group(1)
    assert direct[:19] == logged[:19] or direct[:17] == logged[:17]  # same date and time (a second may tick)


def test_json_and_added_handlers_go_through_logging(configured):
    stream = configured(log_format="json")
    log_access("GET", "/x", 200, 1.0)
    assert '"logger": "podium.access"' in stream.getvalue() and '"duration_ms": 1.0' in stream.getvalue()

    stream = configured()
    extra = io.StringIO()
    added = logging.StreamHandler(extra)
    logging.getLogger("podium.access").addHandler(added)
    try:
        log_access("GET", "/y", 201, 2.0)
    finally:
        logging.getLogger("podium.access").removeHandler(added)
    assert "podium.access GET /y 201 2.00ms" in stream.getvalue()  # the podium handler, via propagation
    assert extra.getvalue() == "GET /y 201 2.00ms\n"


def test_no_line_when_the_access_log_is_off(configured):
    stream = configured(access_log=False)
    log_access("GET", "/x", 200, 1.0)
    assert stream.getvalue() == ""
