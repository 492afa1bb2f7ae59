"""Great Expectations suites kept as JSON files: loaded loudly, run on a partition's rows, summarised."""

from __future__ import annotations

import json
import logging
import shutil
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


def read_suite(path: str | Path) -> dict[str, Any]:
    """The suite's JSON (name, expectations with type, kwargs and severity), read without importing GX."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the suite: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise ConfigError(f"{path}: a suite is an object with `name` and a list `expectations`")
    return data


def load_suite(path: str | Path):
    """An ExpectationSuite from a JSON file; any expectation GX would drop or reject is an error naming it."""
    gx = _gx()
    path = Path(path)
    data = read_suite(path)
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
    set_level: bool = False  # run apart on every row of the day (the columns it names), never on a sample


@dataclass
class ValidationOutcome:
    """A suite's result on one batch."""

    suite: str
    rows: int
    validated_rows: int
    expectations: list[ExpectationOutcome]
    data_docs: list[Path] = field(default_factory=list)  # the GX Data Docs index and result pages, when built

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
            "data_docs": [str(p) for p in self.data_docs],
        }


# Expectations about the day's rows as a set, not each row alone: a sample cannot see them. Two copies of a key both
# land in a 10 % sample 1 % of the time, so a sampled uniqueness check misses ~99 % of duplicates; a row count, a
# max or a distinct count of a sample is not the day's. These run on every row of the columns they name.
WHOLE_DAY_SUFFIX = "whole_day"
# Map expectations whose verdict on a row depends on the other rows (set-level although GX makes them map expectations).
_SET_LEVEL_MAPS = frozenset(
    {
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "expect_column_values_to_be_increasing",
        "expect_column_values_to_be_decreasing",
    }
)
# Expectations about the table's columns, not its rows: any batch with every column answers them (the sample does).
_SCHEMA_PREFIXES = ("expect_table_column", "expect_column_to_exist")
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)


def needs_whole_day(expectation_type: str) -> bool:
    """True when the expectation judges the set of rows (uniqueness, row count, min/max, distinct values...)."""
    _gx()  # GX's first import goes through the guard, whoever calls first (a test, a run worker without __main__)
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )
    from great_expectations.expectations.registry import get_expectation_impl

    if expectation_type in _SET_LEVEL_MAPS:
        return True
    if expectation_type.startswith(_SCHEMA_PREFIXES):
        return False
    row_level = (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
    return not issubclass(get_expectation_impl(expectation_type), row_level)


def whole_day_columns(suite) -> list[str]:
    """The columns the suite's set-level expectations read (what to load of every row of the day), sorted."""
    cols: set[str] = set()
    for e in suite.expectations:
        if needs_whole_day(e.configuration.type):
            kwargs = e.configuration.kwargs
            cols |= {kwargs[k] for k in _COLUMN_KWARGS if kwargs.get(k)}
            cols |= {c for k in _COLUMN_LIST_KWARGS for c in kwargs.get(k) or []}
    return sorted(cols)


def validate(
    df: pd.DataFrame,
    suite,
    parameters: dict[str, Any] | None = None,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    seed: int = 0,
    *,
    whole_day: pd.DataFrame | None = None,
    docs_dir: Path | None = None,
) -> ValidationOutcome:
    """Run `suite` on `df` (a seeded sample above `sample_rows`) with `$PARAMETER` values from `parameters`.

    Set-level expectations (`needs_whole_day`) run on every row: of `whole_day` (the day's rows, only the columns
    `whole_day_columns` names) when given, else of `df`. With `docs_dir`, GX Data Docs of the run are built there
    (a local site, replaced) and listed in the outcome's `data_docs`."""
    gx = _gx()
    rows = len(df)
    batch_df = df.sample(n=sample_rows, random_state=seed) if rows > sample_rows else df
    batches: list[tuple[str, list[int], pd.DataFrame, float, bool]] = []
    configs = [e.configuration for e in suite.expectations]
    if whole_day is None and rows <= sample_rows:  # every row is in the batch: one validation answers all
        batches.append((suite.name, list(range(len(configs))), df, 1.0, False))
    else:
        whole = [i for i, c in enumerate(configs) if needs_whole_day(c.type)]
        per_row = [i for i in range(len(configs)) if i not in whole]
        scale = rows / len(batch_df) if len(batch_df) else 1.0
        batches.append((suite.name, per_row, batch_df, scale, False))
        full = whole_day if whole_day is not None else df[whole_day_columns(suite)]
        batches.append((f"{suite.name}_{WHOLE_DAY_SUFFIX}", whole, full, 1.0, True))
    ctx = _context(gx, docs_dir)
    source = ctx.data_sources.add_pandas("warehouse")
    run_id = _run_id()
    found: dict[int, ExpectationOutcome] = {}
    for name, indices, frame, scale, set_level in batches:
        if not indices:
            continue
        part = ctx.suites.add(gx.ExpectationSuite(name=name, expectations=[configs[i] for i in indices]))
        definition = ctx.validation_definitions.add(
            gx.ValidationDefinition(
                name=name,
                data=source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("day"),
                suite=part,
            )
        )
        result = definition.run(
            batch_parameters={"dataframe": frame},
            expectation_parameters=parameters or {},
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
            run_id=run_id,
        )
        for i, r in zip(indices, result.results, strict=True):
            found[i] = _outcome(r, scale, set_level)
    outcome = ValidationOutcome(
        suite=suite.name,
        rows=rows,
        validated_rows=len(batch_df),
        expectations=[found[i] for i in sorted(found)],
    )
    if docs_dir is not None:
        ctx.build_data_docs(site_names=[DOCS_SITE])
        outcome.data_docs = _pages(docs_dir)
    return outcome


DOCS_SITE = "monitor_pipeline"


def _context(gx, docs_dir: Path | None):
    """An ephemeral GX context; with `docs_dir`, a local Data Docs site there (emptied first: a re-run replaces it)."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        shutil.rmtree(docs_dir, ignore_errors=True)
        docs_dir.mkdir(parents=True)
        ctx.add_data_docs_site(
            site_name=DOCS_SITE,
            site_config={
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            },
        )
    return ctx


def _run_id():
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_name="monitor_pipeline")


def _pages(docs_dir: Path) -> list[Path]:
    """The site's index, then each validation result page (the per-row batch's before the whole day's)."""
    pages = sorted((docs_dir / "validations").rglob("*.html"), key=lambda p: (WHOLE_DAY_SUFFIX in str(p), str(p)))
    return [docs_dir / "index.html", *pages]


def _outcome(r: Any, scale: float, set_level: bool) -> ExpectationOutcome:
    """One GX expectation result as an outcome; counts of a sample scaled to the day by `scale`."""
    cfg = r.expectation_config
    res = r.result or {}
    count = res.get("unexpected_count")
    return ExpectationOutcome(
        type=cfg.type,
        column=cfg.kwargs.get("column"),
        severity=str(getattr(cfg.severity, "value", cfg.severity)),
        success=bool(r.success),
        unexpected_count=None if count is None else round(count * scale),
        unexpected_percent=res.get("unexpected_percent"),
        sample=[str(v) for v in res.get("partial_unexpected_list") or []][:5],
        error=_exception_message(getattr(r, "exception_info", None)) or None,
        set_level=set_level,
    )


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
