"""Great Expectations suites kept as JSON files: loaded loudly, run on a partition's rows, summarised."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from monitor_pipeline.errors import ConfigError

# GX on pandas costs ~0.4 s per expectation per 100k rows here (bench/validation.py): above this many rows
# a seeded uniform sample is validated and the result says so (unexpected counts are then scaled).
DEFAULT_SAMPLE_ROWS = 100_000
SEVERITIES = ("critical", "warning", "info")


def _gx():
    warnings.filterwarnings("ignore", module="great_expectations")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    main = sys.modules.get("__main__")
    if getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
        # So is a Dagster run worker (spawned by a code server run as `python -m`): pyspark.sql.connect, which GX
        # probes, then takes itself for a doctest run and calls sys.exit(0). Make the probe an ImportError GX tolerates.
        sys.modules.setdefault("pyspark.sql.connect", None)
    import great_expectations as gx

    return gx


def load_suite(path: str | Path):
    """An ExpectationSuite from a JSON file; any expectation GX would drop or reject is an error naming it."""
    gx = _gx()
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the suite: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise ConfigError(f"{path}: a suite is an object with `name` and a list `expectations`")
    for i, exp in enumerate(data["expectations"]):
        where = f"{path}: expectations[{i}] ({exp.get('type', '?') if isinstance(exp, dict) else exp!r})"
        if not isinstance(exp, dict) or "type" not in exp:
            raise ConfigError(f"{where}: each expectation needs a `type` and `kwargs`")
        if exp.get("severity", "critical") not in SEVERITIES:
            raise ConfigError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
        try:
            # GX logs an unknown expectation type and drops it; building each alone makes that an error here.
            one = gx.ExpectationSuite(name="check", expectations=[exp])
        except Exception as exc:  # noqa: BLE001 - GX raises many kinds; each becomes a one-line ConfigError
            raise ConfigError(f"{where}: {str(exc).splitlines()[0]}") from None
        if len(one.expectations) != 1:
            raise ConfigError(f"{where}: Great Expectations does not know this expectation type")
    return gx.ExpectationSuite(
        name=data.get("name", path.stem), expectations=data["expectations"], meta=data.get("meta", {})
    )


@dataclass
class ExpectationOutcome:
    """One expectation's result."""

    type: str
    column: str | None
    severity: str
    success: bool
    unexpected_count: int | None
    unexpected_percent: float | None
    sample: list[Any] = field(default_factory=list)
    error: str | None = None


@dataclass
class ValidationOutcome:
    """A suite's result on one batch."""

    suite: str
    rows: int
    validated_rows: int
    expectations: list[ExpectationOutcome]

    @property
    def sampled(self) -> bool:
        """True when a sample, not every row, was validated."""
        return self.validated_rows < self.rows

    def failed(self, severity: str) -> list[ExpectationOutcome]:
        """The failed expectations of one severity."""
        return [e for e in self.expectations if not e.success and e.severity == severity]

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            "suite": self.suite,
            "rows": self.rows,
            "validated_rows": self.validated_rows,
            "sampled": self.sampled,
            "expectations": [e.__dict__ for e in self.expectations],
        }


def validate(
    df: pd.DataFrame,
    suite,
    parameters: dict[str, Any] | None = None,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    seed: int = 0,
) -> ValidationOutcome:
    """Run `suite` on `df` (a seeded sample above `sample_rows`) with `$PARAMETER` values from `parameters`."""
    gx = _gx()
    rows = len(df)
    batch_df = df.sample(n=sample_rows, random_state=seed) if rows > sample_rows else df
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = ctx.suites.add(
        gx.ExpectationSuite(name=suite.name, expectations=[e.configuration for e in suite.expectations])
    )
    batch = (
        ctx.data_sources.add_pandas("p")
        .add_dataframe_asset("a")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": batch_df})
    )
    result = batch.validate(
        suite,
        expectation_parameters=parameters or {},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
    )
    scale = rows / len(batch_df) if len(batch_df) else 1.0
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        res = r.result or {}
        count = res.get("unexpected_count")
        err = _exception_message(getattr(r, "exception_info", None))
        outcomes.append(
            ExpectationOutcome(
                type=cfg.type,
                column=cfg.kwargs.get("column"),
                severity=str(getattr(cfg.severity, "value", cfg.severity)),
                success=bool(r.success),
                unexpected_count=None if count is None else round(count * scale),
                unexpected_percent=res.get("unexpected_percent"),
                sample=[str(v) for v in res.get("partial_unexpected_list") or []][:5],
                error=err or None,
            )
        )
    return ValidationOutcome(suite=suite.name, rows=rows, validated_rows=len(batch_df), expectations=outcomes)


def _exception_message(info: Any) -> str | None:
    """GX reports errors flat ({raised_exception, exception_message}) or per metric; the first message."""
    if not isinstance(info, dict):
        return None
    if "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    for v in info.values():
        if isinstance(v, dict) and v.get("raised_exception"):
            return str(v.get("exception_message"))[:300]
    return None
