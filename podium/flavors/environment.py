"""A model directory's environment files: ``requirements.txt``, ``python_env.yaml``, ``conda.yaml``.

Shapes are MLflow's::

    requirements.txt     scikit-learn==1.9.1
                         skops==0.16.0 ...
    python_env.yaml      python: 3.11.7
                         build_dependencies: [pip==26.3, setuptools==65.5.0, wheel]
                         dependencies: [-r requirements.txt]
    conda.yaml           channels: [conda-forge]
                         dependencies: [python=3.11.7, pip<=26.3, {pip: [<requirements>]}]
                         name: mlflow-env

Each flavor names the packages it needs; they are pinned to their installed versions. MLflow
also lists ``mlflow`` itself; Podium does not (nothing in a Podium model directory needs it).
The caller may give *one* of: ``pip_requirements`` (replaces the defaults), ``extra_pip_requirements``
(appended to them), or ``conda_env`` (a dict or a YAML file path: written as ``conda.yaml``, its
``pip`` section becomes ``requirements.txt``). A requirements list may also be given as the path of
a requirements file. Standard library and PyYAML only.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

from podium.errors import InvalidParameterValue

__all__ = [
    "CONDA_ENV_FILE",
    "PYTHON_ENV_FILE",
    "REQUIREMENTS_FILE",
    "pinned_requirements",
    "validate_env_args",
    "write_environment",
]

REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"


def python_version() -> str:
    return platform.python_version()


def installed_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def pinned_requirements(packages: list[str]) -> list[str]:
    """``name==<installed version>`` for each installed package (packages not installed are left out)."""
    out = []
    for name in packages:
        version = installed_version(name)
        if version is not None:
            out.append(f"{name}=={version}")
    return out


def validate_env_args(conda_env: Any, pip_requirements: Any, extra_pip_requirements: Any) -> None:
    given = [
        n
        for n, v in (
            ("conda_env", conda_env),
            ("pip_requirements", pip_requirements),
            ("extra_pip_requirements", extra_pip_requirements),
        )
        if v is not None
    ]
    if len(given) > 1:
        raise InvalidParameterValue(
            "Only one of `conda_env`, `pip_requirements`, and `extra_pip_requirements` can be specified "
            f"(got {', '.join('`' + g + '`' for g in given)})."
        )


def _requirement_lines(source: Any, argument: str) -> list[str]:
    """A requirements list from a list of strings or the path of a requirements file."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise InvalidParameterValue(
                f"`{argument}` must be a list of requirements or a requirements file; '{path}' is not a file."
            )
        with open(path, encoding="utf-8") as f:
            source = [line.split(" #")[0].strip() for line in f]
        source = [line for line in source if line and not line.startswith("#")]
    if not isinstance(source, (list, tuple)) or not all(isinstance(r, str) and r.strip() for r in source):
        raise InvalidParameterValue(f"`{argument}` must be a list of non-empty requirement strings.")
    lines = [r.strip() for r in source]
    nested = [r for r in lines if r.split()[0] in ("-r", "-c", "--requirement", "--constraint")]
    if nested:
        raise InvalidParameterValue(f"`{argument}` may not refer to other requirement files: {nested}.")
    return lines


def _dedupe(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def _load_conda_env(conda_env: Any) -> dict[str, Any]:
    import yaml

    if isinstance(conda_env, (str, os.PathLike)):
        try:
            with open(os.fspath(conda_env), encoding="utf-8") as f:
                conda_env = yaml.safe_load(f)
        except OSError as exc:
            raise InvalidParameterValue(f"Cannot read `conda_env` file '{conda_env}': {exc}") from None
    if not isinstance(conda_env, dict):
        raise InvalidParameterValue("`conda_env` must be a dict or the path of a conda environment YAML file.")
    return conda_env


def _conda_pip_requirements(conda_env: dict[str, Any]) -> list[str]:
    for dep in conda_env.get("dependencies") or []:
        if isinstance(dep, dict) and "pip" in dep:
            return [str(r) for r in dep["pip"] or []]
    return []


def _conda_python_version(conda_env: dict[str, Any]) -> str | None:
    for dep in conda_env.get("dependencies") or []:
        if isinstance(dep, str) and dep.replace(" ", "").startswith("python="):
            return dep.split("=", 1)[1].strip()
    return None


def default_conda_env(requirements: list[str]) -> dict[str, Any]:
    pip = installed_version("pip")
    return {
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={python_version()}",
            f"pip<={pip}" if pip else "pip",
            {"pip": list(requirements)},
        ],
        "name": "mlflow-env",
    }


def python_env(python: str | None = None) -> dict[str, Any]:
    build = [f"{name}=={v}" if (v := installed_version(name)) else name for name in ("pip", "setuptools", "wheel")]
    return {
        "python": python or python_version(),
        "build_dependencies": build,
        "dependencies": [f"-r {REQUIREMENTS_FILE}"],
    }


def write_environment(
    model_dir: str,
    default_requirements: list[str],
    conda_env: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
) -> dict[str, str]:
    """Write the three environment files; return the pyfunc ``env`` entry that names them.

    ``default_requirements`` are the flavor's own (see :func:`pinned_requirements`)."""
    import yaml

    validate_env_args(conda_env, pip_requirements, extra_pip_requirements)
    python = None
    if conda_env is not None:
        conda = _load_conda_env(conda_env)
        requirements = _conda_pip_requirements(conda)
        python = _conda_python_version(conda)
    else:
        if pip_requirements is not None:
            requirements = _requirement_lines(pip_requirements, "pip_requirements")
        else:
            requirements = list(default_requirements)
            if extra_pip_requirements is not None:
                requirements += _requirement_lines(extra_pip_requirements, "extra_pip_requirements")
        requirements = _dedupe(requirements)
        conda = default_conda_env(requirements)
    with open(os.path.join(model_dir, REQUIREMENTS_FILE), "w", encoding="utf-8") as f:
        f.write("\n".join(requirements) + ("\n" if requirements else ""))
    with open(os.path.join(model_dir, PYTHON_ENV_FILE), "w", encoding="utf-8") as f:
        yaml.safe_dump(python_env(python), f, default_flow_style=False, sort_keys=False)
    with open(os.path.join(model_dir, CONDA_ENV_FILE), "w", encoding="utf-8") as f:
        yaml.safe_dump(conda, f, default_flow_style=False)
    return {"conda": CONDA_ENV_FILE, "virtualenv": PYTHON_ENV_FILE}
