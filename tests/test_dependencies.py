"""pyproject.toml is the one list of dependencies and the one version: the conda files and
the library's __version__ agree with it."""

from __future__ import annotations

import re
import tomllib

import yaml
from aeclust import __version__
from conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
# PyPI name -> conda-forge name, where they differ
CONDA_NAMES = {"torch": "pytorch"}


def _parse(requirement: str) -> tuple[str, str]:
    """``name>=1.2,<3`` -> (``name``, ``>=1.2,<3``): name lower-cased, specifiers without spaces."""
    m = re.fullmatch(r"\s*([A-Za-z0-9._-]+)\s*(.*?)\s*", requirement)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def _conda(path) -> dict[str, str]:
    deps = yaml.safe_load((REPO / path).read_text())["dependencies"]
    return dict(_parse(d) for d in deps if isinstance(d, str) and _parse(d)[0] not in ("python", "pip"))


def _pyproject(*extras: str, leave_out: tuple[str, ...] = ()) -> dict[str, str]:
    reqs = [*PYPROJECT["dependencies"], *(r for e in extras for r in PYPROJECT["optional-dependencies"][e])]
    named = dict(_parse(r) for r in reqs)
    return {CONDA_NAMES.get(n, n): spec for n, spec in named.items() if n not in leave_out}


def test_environment_yml_is_pyprojects_list():
    assert _conda("environment.yml") == _pyproject("test")


def test_the_jobs_conda_env_is_pyprojects_list_without_snakemake():
    assert _conda("workflow/envs/aeclust.yaml") == _pyproject(leave_out=("snakemake",))


def test_python_versions_agree():
    low = re.fullmatch(r">=(\d+\.\d+)", PYPROJECT["requires-python"]).group(1)
    assert low == "3.11"  # Snakemake 9 needs 3.11
    for path in ("environment.yml", "workflow/envs/aeclust.yaml"):
        deps = yaml.safe_load((REPO / path).read_text())["dependencies"]
        (python,) = [d for d in deps if isinstance(d, str) and d.startswith("python")]
        assert python in (f"python={low}", f"python>={low}"), (path, python)


def test_snakemake_is_bounded_below_its_next_major_version():
    spec = dict(_parse(r) for r in PYPROJECT["dependencies"])["snakemake"]
    assert re.fullmatch(r">=8\.\d+,<10", spec), spec


def test_one_version():
    assert __version__ == PYPROJECT["version"]
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert f"\n## {PYPROJECT['version']}\n" in changelog, "CHANGELOG.md has no section for this version"
    assert PYPROJECT["license"] == "MIT"  # an SPDX expression, not the deprecated table
