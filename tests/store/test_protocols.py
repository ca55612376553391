"""The stores the composition root wires in implement the Protocols their seams are typed with.

``podium.compose.Stores`` names a Protocol of :mod:`podium.store.base` per store; nothing checks
Protocols at run time, so this test does: every method of the Protocol exists on the store built by
:func:`podium.compose.build` and accepts the Protocol's parameters (same names and kinds; the
store's extra parameters have defaults), and every attribute it declares is there.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import fields

import pytest

import podium.store.base as base
from podium.compose import Stores, artifact_store_for


def _members(protocol) -> tuple[dict[str, object], set[str]]:
    """``({method name: function}, {attribute names})`` that ``protocol`` itself declares."""
    methods = {name: value for name, value in vars(protocol).items()
               if callable(value) and not name.startswith("_")}
    return methods, set(getattr(protocol, "__annotations__", {}))


def _mismatches(protocol, implementation) -> list[str]:
    methods, attributes = _members(protocol)
    problems = [f"missing attribute {a}" for a in sorted(attributes) if not hasattr(implementation, a)]
    for name, declared in methods.items():
        actual = getattr(implementation, name, None)
        if actual is None:
            problems.append(f"missing {name}()")
            continue
        wanted = list(inspect.signature(declared).parameters.values())[1:]  # without self
        given = dict(inspect.signature(actual).parameters)
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in given.values())
        for p in wanted:
            found = given.get(p.name)
            if found is None and not (takes_kwargs and p.kind is p.KEYWORD_ONLY):
                problems.append(f"{name}() has no parameter {p.name}")
            elif found is not None and found.kind is not p.kind and p.kind is not p.VAR_KEYWORD:
                problems.append(f"{name}() takes {p.name} as {found.kind.description}, not {p.kind.description}")
        extra = [q for n, q in given.items() if n not in {p.name for p in wanted}
                 and q.default is q.empty and q.kind not in (q.VAR_POSITIONAL, q.VAR_KEYWORD)]
        problems += [f"{name}() requires {q.name}, which the Protocol does not pass" for q in extra]
    return problems


def test_every_store_of_the_backend_implements_its_protocol(backend):
    hints = typing.get_type_hints(Stores, localns=vars(base))
    checked = []
    for field in fields(Stores):
        protocol, store = hints[field.name], getattr(backend.stores, field.name)
        assert _mismatches(protocol, store) == [], f"{type(store).__name__} vs {protocol.__name__}"
        checked.append(protocol.__name__)
    assert len(checked) == 8


def test_the_locked_model_of_the_history_store_implements_its_protocol(backend):
    backend.registry.create_registered_model("m")
    with backend.stores.history.locked_model("m") as locked:
        assert _mismatches(base.LockedModel, locked) == []


@pytest.mark.parametrize("uri", ["/tmp/podium-protocol-check", "s3://bucket/prefix"])
def test_artifact_stores_implement_the_protocol(uri):
    assert _mismatches(base.ArtifactStore, artifact_store_for(uri)) == []


def test_the_check_sees_a_store_that_drifted():
    class Drifted:
        default_artifact_root = "x"

        def get_experiment(self, experiment_id, extra): ...

    problems = _mismatches(base.TrackingStore, Drifted())
    assert "get_experiment() requires extra, which the Protocol does not pass" in problems
    assert "missing create_run()" in problems
    assert "missing attribute default_artifact_root" not in problems
