"""Validation, drift and quality time on N clean requests: `python bench/monitoring.py [--rows 1000000]`.

Simulates a reference day and a current day of N requests each (quiet service), ingests both into DuckDB,
then times what each asset computes on the current day: the Great Expectations requests suite (seeded
reservoir sample above validation.sample_rows), the Evidently drift report (a seeded sample of
drift.sample_rows a side, HTML written) and the quality report (labeled rows and all rows each sampled to
quality.sample_rows a side, Evidently classification preset + per-model/hour metrics + chi-square, HTML written). As the
baseline in the same run it times a bare DuckDB scan that computes the day's accuracy and error rate
over all rows. Prints one JSON line. Targets: validation <= 10 s, drift <= 30 s (2 cores).
"""

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402

from monitor_pipeline.drift_quality.drift import DriftSettings, compare  # noqa: E402
from monitor_pipeline.drift_quality.quality import QualitySettings, measure_quality  # noqa: E402
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine  # noqa: E402
from monitor_pipeline.ingest.request import build_request  # noqa: E402
from monitor_pipeline.settings import PipelineConfig  # noqa: E402
from monitor_pipeline.simulate import simulate  # noqa: E402
from monitor_pipeline.validate.suites import load_suite, validate  # noqa: E402

DRIFT_COLS = "timestamp, input_tokens, output_tokens, latency_ms, ttft_ms, status, model, operation, prompt"
QUALITY_COLS = "timestamp, model, label, prediction, score, status, error_type"


def _sample(con, cols: str, day: dt.date, rows: int, where: str = "") -> pd.DataFrame:
    return con.execute(
        f"SELECT * FROM (SELECT {cols} FROM requests WHERE partition_date = ? {where}) "
        f"USING SAMPLE reservoir({rows} ROWS) REPEATABLE (7)",
        [day],
    ).df()


def main() -> None:
    """Simulate, ingest, time each step, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000, help="requests per day (reference and current)")
    args = ap.parse_args()
    defaults = PipelineConfig()
    ref_day, day = dt.date(2026, 11, 17), dt.date(2026, 11, 18)
    out: dict = {"rows_per_day": args.rows}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        simulate(Path(tmp) / "sim", days=2, requests_per_day=args.rows, start=ref_day, with_incidents=False)
        db = Path(tmp) / "w.duckdb"
        DuckDBEngine(db).ingest(
            build_request([str(p) for p in sorted((Path(tmp) / "sim").glob("requests-*.jsonl"))], "jsonl")
        )
        out["setup_seconds"] = round(time.perf_counter() - t, 1)
        with duckdb.connect(str(db), read_only=True) as con:
            out["current_rows"] = con.execute(
                "SELECT count(*) FROM requests WHERE partition_date = ?", [day]
            ).fetchone()[0]

            t = time.perf_counter()
            base = con.execute(
                "SELECT avg((prediction = label)::INT), avg((status = 'error')::INT) FROM requests "
                "WHERE partition_date = ?",
                [day],
            ).fetchone()
            out["baseline_duckdb_scan_seconds"] = round(time.perf_counter() - t, 3)

            t = time.perf_counter()
            v = defaults.validation.sample_rows
            df = con.execute(
                f"SELECT * FROM (SELECT * FROM requests WHERE partition_date = ?) "
                f"USING SAMPLE reservoir({v} ROWS) REPEATABLE (7)",
                [day],
            ).df()
            start = pd.Timestamp(day, tz="UTC")
            res = validate(
                df,
                load_suite(ROOT / "expectations" / "requests.json"),
                {"partition_start": start, "partition_end": start + pd.Timedelta(days=1)},
                sample_rows=v,
            )
            out["validation_seconds"] = round(time.perf_counter() - t, 2)
            out["validation_sample"] = v
            out["validation_failed"] = [e.type for e in res.expectations if not e.success]

            t = time.perf_counter()
            d = defaults.drift
            drift = compare(
                _sample(con, DRIFT_COLS, ref_day, d.sample_rows),
                _sample(con, DRIFT_COLS, day, d.sample_rows),
                DriftSettings(drift_share=d.drift_share, min_rows=d.min_rows),
            )
            drift.save_html(Path(tmp) / "drift.html")
            out["drift_seconds"] = round(time.perf_counter() - t, 2)
            out["drift_sample_per_side"] = d.sample_rows
            out["drift_share"] = drift.share

            t = time.perf_counter()
            q = defaults.quality
            labeled = "AND label IS NOT NULL AND prediction IS NOT NULL"
            quality = measure_quality(
                _sample(con, QUALITY_COLS, ref_day, q.sample_rows, labeled),
                _sample(con, QUALITY_COLS, day, q.sample_rows, labeled),
                QualitySettings(),
                reference_all=_sample(con, QUALITY_COLS, ref_day, q.sample_rows),
                current_all=_sample(con, QUALITY_COLS, day, q.sample_rows),
            )
            quality.save_html(Path(tmp) / "quality.html")
            out["quality_seconds"] = round(time.perf_counter() - t, 2)
            out["quality_sample_per_side"] = q.sample_rows
            out["quality_labeled_rows"] = quality.rows
            out["accuracy_sampled"], out["accuracy_all_rows_duckdb"] = (
                round(quality.overall["accuracy"], 4),
                round(base[0], 4),
            )
    out["targets"] = {"validation_s": 10, "drift_s": 30}
    out["met"] = {"validation": out["validation_seconds"] <= 10, "drift": out["drift_seconds"] <= 30}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
