"""The ingestion assets materialized in process: counts, checks, idempotent partitions, graph snapshot."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest
from paths import SAMPLES

from monitor_pipeline.definitions import build_definitions

DAY = "2026-11-20"


@pytest.fixture
def defs(write_config, tmp_path):
    cfg = write_config(
        [
            {
                "name": "gateway",
                "paths": [str(SAMPLES / "requests.jsonl")],
                "format": "auto",
                "model": "fallback-model",
            },
            {"name": "online", "paths": [str(SAMPLES / "online.log")]},
            {"name": "offline", "paths": [str(SAMPLES / "offline.log")]},
            {"name": "gpus", "paths": [str(SAMPLES / "nvidia_smi.csv")]},
        ]
    )
    return build_definitions(str(cfg)), tmp_path / "data" / "warehouse.duckdb"


def _materialize(d: dg.Definitions, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return d.resolve_job_def("ingestion_job").execute_in_process(partition_key=DAY, instance=instance)


def test_partition_materializes_with_counts_and_checks(defs):
    d, db = defs
    with dg.instance_for_test() as instance:
        result = _materialize(d, instance)
    assert result.success
    meta = {m.asset_key.to_user_string(): m.metadata for m in result.asset_materializations_for_node("ingestion")}
    c = meta["clean_requests"]
    # Every physical line of the files: clean, quarantined, skipped (headers, blanks) or another day's.
    assert c["read"].value == (
        c["clean"].value + c["quarantined"].value + c["skipped"].value + c["other_partitions"].value
    )
    assert c["quarantined"].value == 7 and c["skipped"].value == 1  # the nvidia-smi header
    assert "| file:line | reason |" in meta["quarantined_lines"]["sample"].value
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["nothing_lost"].passed and checks["every_file_read"].passed
    assert checks["quarantine_share_below_threshold"].passed
    con = duckdb.connect(str(db), read_only=True)
    # The OpenTelemetry-style rows name their model; every row of the source is stored under its name.
    assert con.execute("SELECT count(*) FROM requests WHERE model = 'fallback-model'").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM requests WHERE request_id LIKE 'otel-%'").fetchone()[0] == 5
    assert con.execute("SELECT count(*) FROM online_log WHERE source = 'online'").fetchone()[0] == 720


@pytest.mark.slow
def test_rematerializing_a_partition_replaces_it(defs):
    d, db = defs
    with dg.instance_for_test() as instance:
        assert _materialize(d, instance).success
        con = duckdb.connect(str(db), read_only=True)
        first = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("requests", "quarantine", "request_windows", "online_log", "offline_log", "resources")
        }
        con.close()
        assert _materialize(d, instance).success
    con = duckdb.connect(str(db), read_only=True)
    second = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in first}
    assert first == second and first["requests"] > 0 and first["request_windows"] > 0
    dupes = con.execute(
        "SELECT count(*) FROM (SELECT request_id FROM requests GROUP BY 1 HAVING count(*) > 1)"
    ).fetchone()
    assert dupes[0] == 0


def test_asset_graph_snapshot(defs):
    """Nothing drops silently: the asset keys, checks, groups, jobs and schedules of the code location."""
    d, _ = defs
    graph = d.resolve_asset_graph()
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    assert keys == [
        "alert_outbox",
        "anomalies",
        "clean_requests",
        "drift_report",
        "engine_windows",
        "forecast_champions",
        "live_anomalies",
        "live_capacity",
        "live_ingest",
        "live_security",
        "offline_jobs",
        "partition_plots",
        "quality_probes",
        "quality_report",
        "quarantined_lines",
        "raw_logs",
        "request_windows",
        "resource_forecast",
        "resource_samples",
        "resource_windows",
        "scalability_benchmark",
        "security_findings",
        "validation_scorecard",
    ]
    checks = sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys)
    assert checks == [
        "anomalies:no_critical_anomalies",
        "clean_requests:live_tables_match",
        "clean_requests:nothing_lost",
        "clean_requests:requests_critical_expectations",
        "clean_requests:requests_warning_expectations",
        "drift_report:drift_share_below_threshold",
        "engine_windows:engine_windows_critical_expectations",
        "engine_windows:engine_windows_warning_expectations",
        "live_ingest:live_nothing_lost",
        "live_ingest:live_requests_critical_expectations",
        "quality_probes:golden_pass_rate_no_significant_drop",
        "quality_report:online_accuracy_above_floor",
        "quality_report:output_distribution_stable",
        "quality_report:quality_metrics_above_floor",
        "quarantined_lines:every_file_read",
        "quarantined_lines:quarantine_share_below_threshold",
        "raw_logs:freshness_check",
        "request_windows:request_windows_critical_expectations",
        "request_windows:request_windows_warning_expectations",
        "resource_forecast:no_resource_exhaustion_predicted",
        "resource_samples:resources_critical_expectations",
        "resource_samples:resources_warning_expectations",
        "scalability_benchmark:scalability_no_regression",
    ]
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == {
        "ingestion",
        "validation",
        "drift_quality",
        "forecasting",
        "security",
        "scalability",
        "alerting",
        "live",
    }
    assert sorted(j.name for j in d.resolve_all_job_defs() if not j.name.startswith("__")) == [
        "anomaly_job",
        "forecasting_job",
        "ingestion_job",
        "live_job",
        "probes_job",
        "scalability_job",
    ]
    assert sorted(s.name for s in d.schedules) == [
        "daily_forecast_retraining",
        "golden_probes_every_6h",
        "hourly_ingestion",
        "nightly_ingestion",
        "scalability_weekly",
    ]
    assert sorted(s.name for s in d.sensors) == [
        "alert_sensor",
        "automation_sensor",
        "live_sensor",
        "no_data_sensor",
        "raw_logs_freshness_sensor",
        "raw_logs_observation_sensor",
        "run_failure_alert_sensor",
    ]


def test_hourly_schedule_targets_today():
    import datetime as dt

    from monitor_pipeline.defs.ingestion.jobs import hourly_ingestion, nightly_ingestion

    t = dt.datetime(2026, 11, 24, 13, 5, tzinfo=dt.UTC)
    ctx = dg.build_schedule_context(scheduled_execution_time=t)
    assert hourly_ingestion(ctx).partition_key == "2026-11-24"
    assert nightly_ingestion(ctx).partition_key == "2026-11-23"


@pytest.mark.slow
def test_every_materialization_is_in_mlflow(defs, tmp_path):
    from mlflow.tracking import MlflowClient

    d, _ = defs
    with dg.instance_for_test() as instance:
        result = _materialize(d, instance)
    client = MlflowClient(f"sqlite:///{tmp_path / 'data' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("monitor_pipeline/ingestion")
    runs = client.search_runs([exp.experiment_id], f"tags.`dagster.run_id` = '{result.run_id}'")
    assets = {r.data.tags.get("dagster.asset_key"): r for r in runs}
    assert set(assets) == {
        None,
        "clean_requests",
        "quarantined_lines",
        "request_windows",
        "resource_samples",
        "resource_windows",
        "engine_windows",
        "offline_jobs",
        "partition_plots",
    }
    c = assets["clean_requests"]
    m = c.data.metrics
    assert (
        c.data.tags["dagster.partition"] == DAY
        and m["read"] == m["clean"] + m["quarantined"] + m["skipped"] + m["other_partitions"]
    )
    plots = [a.path for a in client.list_artifacts(assets["partition_plots"].info.run_id, "plots")]
    assert plots == [
        "plots/engine_latency.png",
        "plots/engine_queue_kv.png",
        "plots/gpu_memory.png",
        "plots/latency_errors.png",
        "plots/offline_jobs.png",
        "plots/online_requests.png",
    ]
    meta = {
        m.asset_key.to_user_string(): m.metadata
        for m in result.get_asset_materialization_events()
        for m in [m.materialization]
    }
    assert meta["partition_plots"]["plots"].value.count("data:image/png;base64,") == 6
    assert meta["clean_requests"]["mlflow_run_id"].value == c.info.run_id
