"""The rules of docs/ARCHITECTURE.md, checked on the source: stage packages are Dagster-free, MLflow stays in
tracking/, the Dagster wiring holds no SQL."""

from __future__ import annotations

import ast
import re

import pytest
from paths import ROOT

PKG = ROOT / "monitor_pipeline"
STAGES = [
    "ingest",
    "warehouse",
    "validate",
    "drift_quality",
    "security",
    "forecast",
    "scalability",
    "alerts",
    "tracking",
    "simulate",
    "evaluation",
    "settings",
]
WIRING = (
    "dagster",
    "dagster_pyspark",
    "dagster_slack",
    "monitor_pipeline.defs",
    "monitor_pipeline.resources",
    "monitor_pipeline.cli",
    "monitor_pipeline.definitions",
)


def _imports(path) -> set[str]:
    """Every module a file imports (at the top or inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def _files(*packages: str):
    for p in packages:
        base = PKG / p
        yield from (sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")])


@pytest.mark.parametrize("stage", STAGES)
def test_stage_packages_do_not_import_the_wiring(stage):
    bad = {
        f"{f.relative_to(ROOT)}: {m}"
        for f in _files(stage)
        for m in _imports(f)
        if any(m == w or m.startswith(w + ".") for w in WIRING)
    }
    assert not bad, sorted(bad)


def test_only_tracking_imports_mlflow():
    # The forecasters' pyfunc flavour lives in tracking/ too (forecaster_model.py): forecast/ saves plain state.
    users = {
        f.relative_to(ROOT).as_posix()
        for f in PKG.rglob("*.py")
        if not f.is_relative_to(PKG / "tracking") and any(m == "mlflow" or m.startswith("mlflow.") for m in _imports(f))
    }
    assert not users, sorted(users)


def test_the_wiring_runs_no_sql():
    sql = re.compile(r"\b(SELECT|INSERT INTO|DELETE FROM|CREATE (?:OR REPLACE )?(?:TEMP )?(?:TABLE|VIEW))\b")
    found = [
        f"{f.relative_to(ROOT)}:{n}"
        for f in sorted((PKG / "defs").rglob("*.py"))
        for n, line in enumerate(f.read_text().splitlines(), start=1)
        if sql.search(line)
    ]
    assert not found, found
