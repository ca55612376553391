"""Import rules of the ``podium`` package, checked on its source (parsed, not grepped).

Rule 1, one composition root: only ``podium/compose.py`` names a concrete store. The concrete
store modules are

* ``podium.store.sql`` and every module below it (the SQL stores, the engine, the tables);
* ``podium.store.artifacts.local`` and ``podium.store.artifacts.s3`` (artifact stores);
* ``podium.client.rest`` and every ``podium.client.rest_*`` module (the REST backends), and
  ``podium.client.artifacts_http`` (the HTTP artifact store).

No module of ``podium`` imports one (``import X``, ``from X import ...``, or ``from parent import
X``, anywhere in the file: top level, inside functions, under ``TYPE_CHECKING``), except
``podium/compose.py`` and a module of the same family: a module of ``podium/store/sql/`` may
import ``podium.store.sql.*``, a module of ``podium/store/artifacts/`` the artifact stores, and a
``podium/client/rest*.py`` module the REST backends.

Rule 2, SQL stays in the SQL stores: only modules of ``podium/store/sql/`` import ``sqlalchemy``
or ``alembic`` (so no service ever handles a connection or a transaction).

Rule 3, services share through public modules: no module of ``podium/services/`` imports a private
name (``_helper``) from another module; what two services share lives in a module both import
(``services/model_files.py``).

Rule 4, one place for the environment: only the settings modules, ``podium/settings.py`` and
``podium/server/settings.py``, read or write environment variables. No other module uses
``os.environ``, ``os.environb``, ``os.getenv``, ``os.putenv`` or ``os.unsetenv``, or imports one of
them from ``os``. (click options declared with ``envvar=`` are the CLI's own documented sources
and are not covered.)
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "podium"
COMPOSITION_ROOT = "compose.py"
SETTINGS_MODULES = {"settings.py", "server/settings.py"}
_ENV_NAMES = {"environ", "environb", "getenv", "putenv", "unsetenv"}

#: family of concrete modules -> the package folders (relative to podium/) whose modules may import them
_FAMILIES = {
    "sql": ("store/sql/",),
    "artifacts": ("store/artifacts/",),
    "rest": ("client/rest",),
}


def _family(module: str) -> str | None:
    """Which family of concrete store modules ``module`` belongs to, or None if it is not one."""
    if module == "podium.store.sql" or module.startswith("podium.store.sql."):
        return "sql"
    if module in ("podium.store.artifacts.local", "podium.store.artifacts.s3"):
        return "artifacts"
    if module in ("podium.client.rest", "podium.client.artifacts_http") or module.startswith("podium.client.rest_"):
        return "rest"
    return None


def _imported_modules(tree: ast.AST):
    """``(line, module)`` for every module an import statement may bring in."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _forbidden_imports(relative_path: str, source: str, forbidden) -> list[str]:
    """One line per import statement of the module that brings in a module ``forbidden(module)`` refuses."""
    found: dict[int, str] = {}
    for line, module in _imported_modules(ast.parse(source)):
        if forbidden(module):
            found.setdefault(line, f"podium/{relative_path}:{line} imports {module}")
    return list(found.values())


def concrete_store_imports(relative_path: str, source: str) -> list[str]:
    """Rule 1's violations in one module (``relative_path`` below ``podium/``)."""
    if relative_path == COMPOSITION_ROOT:
        return []
    return _forbidden_imports(relative_path, source, lambda module: _family(module) is not None
                              and not relative_path.startswith(_FAMILIES[_family(module)]))


def sql_imports(relative_path: str, source: str) -> list[str]:
    """Rule 2's violations in one module (``relative_path`` below ``podium/``)."""
    if relative_path.startswith("store/sql/"):
        return []
    return _forbidden_imports(relative_path, source, lambda module: module.split(".")[0] in ("sqlalchemy", "alembic"))


def private_imports(relative_path: str, source: str) -> list[str]:
    """Rule 3's violations in one module (``relative_path`` below ``podium/``)."""
    if not relative_path.startswith("services/"):
        return []
    return [f"podium/{relative_path}:{node.lineno} imports {alias.name} from {node.module}"
            for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom) and node.module != "__future__"
            for alias in node.names if alias.name.startswith("_")]


def environment_reads(relative_path: str, source: str) -> list[str]:
    """Rule 4's violations in one module (``relative_path`` below ``podium/``)."""
    if relative_path in SETTINGS_MODULES:
        return []
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in _ENV_NAMES and \
                isinstance(node.value, ast.Name) and node.value.id == "os":
            found.append(f"podium/{relative_path}:{node.lineno} uses os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name in _ENV_NAMES:
                    found.append(f"podium/{relative_path}:{node.lineno} imports {alias.name} from os")
    return found


def _package_sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), path.read_text(encoding="utf-8")


def test_only_the_composition_root_imports_concrete_stores():
    violations = [v for rel, src in _package_sources() for v in concrete_store_imports(rel, src)]
    assert violations == [], "build stores in podium/compose.py and pass them in:\n" + "\n".join(violations)


def test_only_the_sql_stores_import_sqlalchemy():
    violations = [v for rel, src in _package_sources() for v in sql_imports(rel, src)]
    assert violations == [], "keep SQL in podium/store/sql/ behind a store method:\n" + "\n".join(violations)


def test_services_import_no_private_names():
    violations = [v for rel, src in _package_sources() for v in private_imports(rel, src)]
    assert violations == [], "move what services share to a module both import:\n" + "\n".join(violations)


def test_only_the_settings_modules_read_the_environment():
    violations = [v for rel, src in _package_sources() for v in environment_reads(rel, src)]
    assert violations == [], "read environment variables through podium/settings.py:\n" + "\n".join(violations)


def test_the_rules_see_every_form_of_a_violation():
    """The checks find what they forbid (so the two tests above cannot pass by seeing nothing)."""
    code = ("import podium.store.sql.registry\n"
            "from podium.store.artifacts.s3 import S3ArtifactStore\n"
            "def f():\n"
            "    from podium.client import rest_history\n"
            "    from podium.store import sql\n")
    assert len(concrete_store_imports("services/x.py", code)) == 4
    assert concrete_store_imports("compose.py", code) == []
    assert len(concrete_store_imports("store/sql/x.py", code)) == 2  # its own family is allowed
    assert concrete_store_imports("client/client.py", "from podium.compose import build\n") == []
    assert len(sql_imports("services/history.py", "def f():\n    from sqlalchemy import select\n")) == 1
    assert sql_imports("store/sql/history.py", "from sqlalchemy import select\n") == []
    assert len(private_imports("services/approvals.py", "from podium.services.compare import _latest, ok\n")) == 1
    assert private_imports("fluent.py", "from podium.client.client import _user\n") == []
    env = "import os\nfrom os import getenv\nx = os.environ.get('A')\nos.environ['B'] = '1'\n"
    assert len(environment_reads("fluent.py", env)) == 3
    assert environment_reads("settings.py", env) == []
