"""live_capacity: each GPU's memory and each serving engine's KV cache, heading for its threshold in the last minutes
of raw samples (a Prometheus-style predict_linear with guards: forecast/live_trend.py). The 5-minute windows see a
climb only once a window holding most of it closed; this sees it within a couple of minutes of its start."""

import datetime as dt

import dagster as dg

from monitor_pipeline.alerts.findings import FindingStore
from monitor_pipeline.defs.live.assets import GROUP, INGEST, run_now
from monitor_pipeline.defs.tables import OWNERS
from monitor_pipeline.escape import markdown_table
from monitor_pipeline.forecast.capacity import ENGINE_RULE, RULE
from monitor_pipeline.forecast.live_trend import SOURCE, TrendSettings, live_trends
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.settings import PipelineConfig
from monitor_pipeline.warehouse.live import capacity_samples

CAPACITY = "live_capacity"


def trend_settings(cfg: PipelineConfig) -> TrendSettings:
    """The config's `live.trend` as the domain's settings."""
    t = cfg.live.trend
    return TrendSettings(
        t.lookback_minutes, t.horizon_minutes, t.critical_minutes, t.min_points, t.min_rise, t.confidence
    )


def thresholds(cfg: PipelineConfig) -> dict[str, tuple[str, float]]:
    """Metric -> (alert rule, threshold): the capacity forecast's thresholds and rules, so both share alert keys."""
    rc = cfg.resource_forecast
    return {"gpu_memory": (RULE, rc.memory_threshold), "kv_cache_usage": (ENGINE_RULE, rc.engine.kv_cache_threshold)}


@dg.asset(
    name=CAPACITY,
    group_name=GROUP,
    deps=[INGEST],
    pool=WarehouseResource.POOL,
    owners=OWNERS,
    kinds={"duckdb"},
    description="GPU memory and KV-cache usage heading for their thresholds: a Theil-Sen trend over the last minutes "
    "of raw samples per device (config `live.trend`); a predicted crossing within the horizon is a finding.",
)
def live_capacity(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Fit the recent trend of every GPU's memory and every engine's KV cache; add the ones heading for a threshold."""
    cfg = warehouse.settings()
    if not cfg.live.trend.enabled:
        return dg.MaterializeResult(metadata={"enabled": False})
    settings = trend_settings(cfg)
    now = run_now(context)
    with warehouse.connect(read_only=True) as con:
        samples = capacity_samples(con, now - dt.timedelta(minutes=settings.lookback_minutes), now)
    trends = live_trends(samples, thresholds(cfg), now, settings)
    partition = now.date().isoformat()
    findings = [t.finding(settings, partition, context.run_id) for t in trends]
    new = FindingStore(cfg.findings_path()).add(SOURCE, partition, findings)
    watched = samples[["host", "device", "metric"]].drop_duplicates() if len(samples) else samples
    context.log.info(
        "live capacity as of %s: %d series watched, %d heading for a threshold", now, len(watched), len(trends)
    )
    return dg.MaterializeResult(
        metadata={
            "as_of": now.isoformat(),
            "series_watched": len(watched),
            "samples": len(samples),
            "heading_for_threshold": len(trends),
            "new_findings": new,
            "trends": dg.MetadataValue.md(
                markdown_table(
                    ["device", "metric", "now", "per minute", "minutes to threshold"],
                    [
                        (
                            f"{t.host}/{t.device}",
                            t.metric,
                            f"{t.current:.3g}",
                            f"{t.slope_per_min:.3g}",
                            f"{t.minutes_to_threshold:.0f}",
                        )
                        for t in trends
                    ],
                )
                if trends
                else "none"
            ),
        }
    )
