"""The connection podium server's uvicorn protocol lends a request (decision 0025) is only lent when
uvicorn still has the internals it uses: an upgrade that renames one falls back to the ASGI paths."""

from __future__ import annotations

from types import SimpleNamespace

from podium.server.runner import _CYCLE_FIELDS, _lendable


def _cycle(**missing):
    return SimpleNamespace(**{name: object() for name in _CYCLE_FIELDS if name not in missing})


def test_lent_only_when_uvicorn_has_every_internal_it_uses():
    protocol = SimpleNamespace(flow=object(), transport=object())
    assert _lendable(protocol, _cycle())
    for name in _CYCLE_FIELDS:
        assert not _lendable(protocol, _cycle(**{name: True})), name
    assert not _lendable(SimpleNamespace(transport=object()), _cycle())
    assert not _lendable(SimpleNamespace(flow=object(), transport=None), _cycle())


def test_this_uvicorn_has_them():
    """The installed uvicorn's request cycle and protocol have every field (else big uploads and
    downloads silently take the slower ASGI paths: the benchmark would show it, this test says why)."""
    import inspect

    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

    source = inspect.getsource(RequestResponseCycle.__init__)
    assert all(f"self.{name}" in source for name in _CYCLE_FIELDS)
    assert "self.flow" in inspect.getsource(HttpToolsProtocol)
    assert hasattr(HttpToolsProtocol, "_start_asgi_task")
