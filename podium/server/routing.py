"""The declarative route table: one :class:`Route` per endpoint, used for dispatch AND for OpenAPI.

A route names its method, its path (``{name}`` segments are path parameters; ``{name:path}`` takes
the rest of the path, slashes included), the handler, the request parameters (:class:`Param`:
where they come from, their JSON type, whether they are required) and the response schema. The
dispatcher (:mod:`podium.server.app`) and the OpenAPI generator (:mod:`podium.server.openapi`) both
read the same objects, so the published document cannot drift from what the server does.

Every route under ``/api/`` is also served under ``/ajax-api/`` (MLflow's UI prefix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["API2", "ARTIFACTS", "Param", "Route", "RouteTable", "Router", "kv_list", "obj_list", "ref"]

#: MLflow's path prefixes
API2 = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts"

_SCALARS = ("string", "integer", "number", "boolean")


def ref(name: str) -> dict:
    """A JSON Schema reference to a component schema (see :mod:`podium.server.schemas`)."""
    return {"$ref": f"#/components/schemas/{name}"}


@dataclass(frozen=True)
class Param:
    """One request parameter.

    ``kind`` is a JSON type: ``string``, ``integer`` (int64; numeric strings accepted),
    ``number`` (double; ``"NaN"``/``"Infinity"`` accepted), ``boolean``, ``array`` (of ``items``:
    a scalar kind or an object :class:`Param` list) or ``object``. ``where`` is ``query`` for GET,
    ``body`` otherwise, or ``path``. ``alias`` is a second accepted name (``run_uuid`` for ``run_id``).
    """

    name: str
    kind: str = "string"
    required: bool = False
    items: Any = None  # "string" | tuple[Param, ...] (object fields) | None
    alias: str | None = None
    maximum: int | None = None
    where: str | None = None
    description: str = ""

    def schema(self) -> dict:
        """This parameter's JSON Schema (for the OpenAPI document)."""
        if self.kind == "array":
            if isinstance(self.items, tuple):
                item = _object_schema(self.items)
            else:
                item = {"type": self.items or "string"}
            out: dict = {"type": "array", "items": item}
        elif self.kind == "object":
            out = {"type": "object"}
        elif self.kind == "integer":
            out = {"type": "integer", "format": "int64"}
            if self.maximum is not None:
                out["maximum"] = self.maximum
        elif self.kind == "number":
            out = {"type": "number", "format": "double"}
        else:
            out = {"type": self.kind}
        if self.description:
            out["description"] = self.description
        return out


def _object_schema(fields: tuple[Param, ...]) -> dict:
    out: dict = {"type": "object", "properties": {f.name: f.schema() for f in fields}}
    required = [f.name for f in fields if f.required]
    if required:
        out["required"] = required
    return out


def kv_list(name: str, description: str = "") -> Param:
    """A ``[{key, value}]`` list (tags, params)."""
    return Param(name, "array", items=(Param("key", required=True), Param("value")), description=description)


def obj_list(name: str, *fields: Param, description: str = "") -> Param:
    return Param(name, "array", items=tuple(fields), description=description)


@dataclass
class Route:
    """One endpoint. ``handler(services, params)`` returns a JSON-able dict (sync, run on the DB
    thread pool) unless ``streaming``: then ``async handler(services, params, request)`` returns a
    response object itself.

    ``point_read``: the handler only reads one entity by its key (a few indexed statements); on
    SQLite it runs on the event loop, on a connection that never waits for a lock, and on the thread
    pool only when SQLite is busy (decision 0026). It is never a write, whatever its method."""

    method: str
    path: str
    handler: Callable
    params: tuple[Param, ...] = ()
    response: dict = field(default_factory=lambda: {"type": "object"})
    summary: str = ""
    tag: str = ""
    streaming: bool = False
    blocking: bool = True
    writes: bool = False
    point_read: bool = False
    request_content: str = "application/json"
    response_content: str = "application/json"

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.writes = self.method != "GET" and self.blocking and not self.point_read
        path_names = [m.group(1) for m in re.finditer(r"\{(\w+)(?::path)?\}", self.path)]
        default_where = "query" if self.method == "GET" else "body"
        params = []
        for p in self.params:
            where = "path" if p.name in path_names else (p.where or default_where)
            params.append(p if p.where == where else Param(**{**p.__dict__, "where": where}))
        for name in path_names:
            if not any(p.name == name for p in params):
                params.append(Param(name, required=True, where="path"))
        self.params = tuple(params)
        if not self.summary and self.handler.__doc__:
            self.summary = self.handler.__doc__.strip().splitlines()[0]

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


class Router:
    """Collects a resource module's routes: ``routes = Router("Registered models")`` then
    ``@routes.post(path, params=..., response=...)`` above each handler."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.routes: list[Route] = []

    def route(self, method: str, path: str, *params: Param, response: dict | None = None, **options):
        def register(handler: Callable) -> Callable:
            self.routes.append(
                Route(method, path, handler, tuple(params), response or {"type": "object"}, tag=self.tag, **options)
            )
            return handler

        return register

    def get(self, path: str, *params: Param, **kw):
        return self.route("GET", path, *params, **kw)

    def post(self, path: str, *params: Param, **kw):
        return self.route("POST", path, *params, **kw)

    def patch(self, path: str, *params: Param, **kw):
        return self.route("PATCH", path, *params, **kw)

    def delete(self, path: str, *params: Param, **kw):
        return self.route("DELETE", path, *params, **kw)

    def put(self, path: str, *params: Param, **kw):
        return self.route("PUT", path, *params, **kw)


class RouteTable:
    """Path + method -> route. Static paths are one dict lookup; templated paths a short regex scan."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = list(routes)
        self._static: dict[str, dict[str, Route]] = {}
        self._templated: list[tuple[re.Pattern, dict[str, Route]]] = []
        by_pattern: dict[str, dict[str, Route]] = {}
        for route in self.routes:
            for path in self.served_paths(route.path):
                if "{" not in path:
                    methods = self._static.setdefault(path, {})
                else:
                    methods = by_pattern.setdefault(path, {})
                if route.method in methods:
                    raise ValueError(f"duplicate route {route.method} {path}")
                methods[route.method] = route
        # most specific (longest literal prefix) first, so /logged-models/{id}/tags beats /logged-models/{id}
        for path in sorted(by_pattern, key=lambda p: (-len(p.split("{", 1)[0]), -p.count("/"))):
            self._templated.append((_compile(path), by_pattern[path]))

    @staticmethod
    def served_paths(path: str) -> list[str]:
        return [path, "/ajax-api" + path[len("/api"):]] if path.startswith("/api/") else [path]

    def match(self, path: str) -> tuple[dict[str, Route] | None, dict[str, str]]:
        """The routes (by method) serving ``path`` and its path parameters; ``(None, {})`` if none."""
        methods = self._static.get(path)
        if methods is not None:
            return methods, {}
        for pattern, methods in self._templated:
            m = pattern.fullmatch(path)
            if m:
                return methods, m.groupdict()
        return None, {}


def _compile(path: str) -> re.Pattern:
    out, pos = [], 0
    for m in re.finditer(r"\{(\w+)(:path)?\}", path):
        out.append(re.escape(path[pos:m.start()]))
        out.append(f"(?P<{m.group(1)}>.*)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    out.append(re.escape(path[pos:]))
    return re.compile("".join(out))
