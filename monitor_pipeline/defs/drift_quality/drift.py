"""drift_report: the partition's requests against a reference window, as an Evidently report and a warning check."""

import datetime as dt

import dagster as dg

from monitor_pipeline.defs.drift_quality.reference import reference_days
from monitor_pipeline.defs.partitions import daily_partitions
from monitor_pipeline.drift_quality.drift import DriftSettings, NotEnoughData, compare
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource

COLUMNS = "timestamp, input_tokens, output_tokens, latency_ms, ttft_ms, status, model, operation, prompt"


def _sample(warehouse: WarehouseResource, days: list[dt.date], rows: int):
    with warehouse.connect(read_only=True) as con:
        placeholders = ", ".join("?" for _ in days)
        return con.execute(
            f"SELECT * FROM (SELECT {COLUMNS} FROM requests WHERE partition_date IN ({placeholders})) "
            f"USING SAMPLE reservoir({rows} ROWS) REPEATABLE (11)", days).df()


def _table(columns: dict) -> str:
    return markdown_table(["column", "test", "score", "threshold", "drifted"],
                          [[c, v["method"], f"{v['score']:.4g}", f"{v['threshold']:g}", "yes" if v["drifted"] else ""]
                           for c, v in columns.items()])


@dg.asset(
    group_name="drift_quality", partitions_def=daily_partitions, deps=["clean_requests"], pool=WarehouseResource.POOL,
    check_specs=[dg.AssetCheckSpec("drift_share_below_threshold", asset="drift_report",
                                   description="The share of drifted columns stays at or below drift.drift_share.")],
)
def drift_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource):
    """Evidently data drift of request features and prompt descriptors: this day against the reference window."""
    cfg = warehouse.settings()
    d = cfg.drift
    day = dt.date.fromisoformat(context.partition_key)
    ref_days = reference_days(cfg, day)
    reference, current = _sample(warehouse, ref_days, d.sample_rows), _sample(warehouse, [day], d.sample_rows)
    common = {"partition": day.isoformat(), "reference": ", ".join(x.isoformat() for x in ref_days),
              "reference_rows": len(reference), "current_rows": len(current), "threshold": d.drift_share}
    try:
        result = compare(reference, current, DriftSettings(
            drift_share=d.drift_share, min_rows=d.min_rows, embedding_rows=d.prompt_embedding_rows))
    except NotEnoughData as exc:
        context.log.info("drift skipped for %s: %s", day, exc)
        yield dg.MaterializeResult(metadata={**common, "skipped": str(exc)})
        yield dg.AssetCheckResult(check_name="drift_share_below_threshold", passed=True,
                                  metadata={**common, "skipped": str(exc)},
                                  description=f"skipped: {exc}")
        return
    html = result.save_html(cfg.data_path() / "reports" / "drift" / f"{day.isoformat()}.html")
    with mlflow.asset_run(context) as run:
        run.log_params({k: v for k, v in common.items() if k != "threshold"} | {"drift_share_threshold": d.drift_share})
        run.log_metrics({"drift_share": result.share, "drifted_columns": result.drifted_count,
                         **{f"drift.{c}": v["score"] for c, v in result.columns.items()}})
        run.log_artifact(html, "reports")
        run.log_dict(result.columns, "drift_columns.json")
        if result.embedding and "score" in result.embedding:
            run.log_metrics({"drift.prompt_embedding": result.embedding["score"]})
        links = run.metadata()
    meta = {**common, "drift_share": result.share, "drifted_columns": dg.MetadataValue.json(result.drifted),
            "skipped_columns": dg.MetadataValue.json(result.skipped_columns),
            "columns": dg.MetadataValue.md(_table(result.columns)), "report": dg.MetadataValue.path(str(html)),
            **links}
    if result.embedding:
        meta["prompt_embedding_drift"] = dg.MetadataValue.json(result.embedding)
    yield dg.MaterializeResult(metadata=meta)
    yield dg.AssetCheckResult(
        check_name="drift_share_below_threshold", passed=result.share <= d.drift_share,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"drift_share": result.share, "threshold": d.drift_share,
                  "drifted_columns": dg.MetadataValue.json(result.drifted)})
