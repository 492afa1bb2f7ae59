"""`monitor-pipeline demo`: simulate a service, materialize every partition, say what was done and where to look."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from monitor_pipeline.settings import PipelineConfig, load_config
from monitor_pipeline.simulate import DEFAULT_START, simulate

HISTORY_DAYS = 2  # days of windows the forecasters train on before the first day they score
# The demo prints its own report; Dagster's per-event console log would bury it.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


INSTANCE_MARK = "# Written by monitor-pipeline"
INSTANCE_YAML = f"""{INSTANCE_MARK} (monitor_pipeline/demo.py) for `make demo` and `make ui`, and rewritten by them while
# this first line is here: delete the line to keep your own edits.
telemetry:
  enabled: false
# Runs wait their turn on the DuckDB warehouse, which takes one writer process. The daemon starts the runs it launches
# (schedules, sensors, the UI, backfills) one at a time, like configs/production/dagster.yaml; and every asset and check
# that uses the warehouse is in the `warehouse` pool (WarehouseResource.POOL), which runs one step at a time across all
# runs, so runs that skip the queue (the demo's, in process) wait too.
concurrency:
  runs:
    max_concurrent_runs: 1
  pools:
    default_limit: 1
# A run whose process was killed (kill -9, out of memory) keeps its slot until it is marked ended: while `make ui`
# runs, the daemon fails runs still going after max_runtime_seconds and frees an ended run's slots after a minute.
run_monitoring:
  enabled: true
  max_runtime_seconds: 21600
  free_slots_after_run_end_seconds: 60
"""
_OLD_INSTANCE_YAML = "telemetry:\n  enabled: false\n"  # what earlier versions wrote


def dagster_home(cfg: PipelineConfig) -> Path:
    """A persistent Dagster instance under the data dir, so `make ui` shows the demo's runs (INSTANCE_YAML)."""
    home = Path(os.environ.get("DAGSTER_HOME") or cfg.data_path() / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    conf = home / "dagster.yaml"
    text = conf.read_text() if conf.exists() else ""
    if not text.strip() or text == _OLD_INSTANCE_YAML or (text.startswith(INSTANCE_MARK) and text != INSTANCE_YAML):
        conf.write_text(INSTANCE_YAML)  # also silences the "no dagster.yaml" warning
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def critical_failures(result: dg.ExecuteInProcessResult) -> list[str]:
    """The checks of a run that failed with ERROR severity: critical GX suites, model quality, golden probes."""
    return sorted(
        e.check_name
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    )


def run_demo(
    config_path: str | None = None,
    days: int = 3,
    requests_per_day: int = 100_000,
    seed: int = 0,
    out=print,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Simulate `days` days into <data_dir>/sim, run the ingestion job for each, print a report.

    `progress(steps_done, steps)` follows the runs: the simulation, each day's ingestion and forecasting, the probes
    and the alerts. The report's `critical_failures` lists `<job> <partition>: <check>` for each critical check that
    failed (what `demo --strict` exits 1 on)."""
    from monitor_pipeline.definitions import build_definitions

    started = time.monotonic()
    steps = 1 + days + max(0, days - HISTORY_DAYS) + 2
    step = _stepper(progress, steps)
    critical: list[str] = []
    cfg = load_config(config_path)
    home = dagster_home(cfg)
    sim_dir = cfg.data_path() / "sim"
    sim = simulate(sim_dir, days=days, seed=seed, requests_per_day=requests_per_day, start=DEFAULT_START)
    out(
        f"simulated {sim['requests']:,} requests over {days} days into {sim_dir} "
        f"({len(sim['incidents'])} labeled incidents in incidents.json) in {time.monotonic() - started:.1f} s"
    )
    step()
    defs = build_definitions(config_path)
    job = defs.resolve_job_def("ingestion_job")
    out(
        f"{'partition':<12}{'lines':>9}{'clean':>9}{'quarantined':>13}{'skipped':>9}{'other days':>12}{'win 5m':>8}"
        f"{'win 1h':>8}{'gpu rows':>10}  reasons"
    )
    rows = {}
    with dg.DagsterInstance.get() as instance:
        for d in sim["days"]:
            day = d["day"]
            result = job.execute_in_process(partition_key=day, instance=instance, run_config=QUIET)
            meta = {
                m.asset_key.to_user_string(): m.metadata
                for m in result.get_asset_materialization_events()
                for m in [m.materialization]
            }
            c, w, g = meta["clean_requests"], meta["request_windows"], meta["resource_samples"]
            rows[day] = {
                "read": c["read"].value,
                "clean": c["clean"].value,
                "quarantined": c["quarantined"].value,
                "skipped": c["skipped"].value,
                "other_partitions": c["other_partitions"].value,
                "windows_5m": w["windows_5m"].value,
                "windows_1h": w["windows_1h"].value,
                "gpu_rows": g["dagster/row_count"].value,
                "by_reason": c["by_reason"].value,
                "plots": meta["partition_plots"]["plot_dir"].value,
                "drift_share": meta["drift_report"].get("drift_share").value
                if "drift_share" in meta["drift_report"]
                else None,
                "accuracy": meta["quality_report"]["accuracy"].value if "accuracy" in meta["quality_report"] else None,
                "failed_checks": sorted(e.check_name for e in result.get_asset_check_evaluations() if not e.passed),
                "critical_failed_checks": critical_failures(result),
            }
            critical += [f"ingestion {day}: {c}" for c in rows[day]["critical_failed_checks"]]
            r = rows[day]
            reasons = ", ".join(f"{k} {v}" for k, v in r["by_reason"].items()) or "-"
            drift = "skipped (no reference day)" if r["drift_share"] is None else f"{r['drift_share']:.0%} of columns"
            acc = "-" if r["accuracy"] is None else f"{r['accuracy']:.1%}"
            out(
                f"{day:<12}{r['read']:>9,}{r['clean']:>9,}{r['quarantined']:>13,}{r['skipped']:>9,}"
                f"{r['other_partitions']:>12,}{r['windows_5m']:>8}"
                f"{r['windows_1h']:>8}{r['gpu_rows']:>10,}  {reasons}; drift: {drift}; accuracy: {acc}; "
                f"failed checks: {', '.join(r['failed_checks']) or 'none'}"
                + (f" (critical: {', '.join(r['critical_failed_checks'])})" if r["critical_failed_checks"] else "")
            )
            step()
        forecasting = _forecasting(defs, instance, sim, out, step, critical)
        probes = _probes(defs, instance, out, critical)
        step()
        from monitor_pipeline.defs.alerting.demo import demo_alerts

        alerts = demo_alerts(cfg, defs, instance, sim_dir / "incidents.json", days, out)
        step()
    data = cfg.data_path()
    out("")
    out(f"plots (PNG):        {data / 'plots'}/<day>/  (also in each Dagster materialization and MLflow run)")
    out(f"MLflow store:       sqlite:///{data / 'mlflow.db'}  artifacts under {data / 'mlartifacts'}")
    out(
        "                   experiments monitor_pipeline/ingestion; runs tagged dagster.run_id, dagster.asset_key,"
        " dagster.partition"
    )
    out(f"warehouse (DuckDB): {cfg.warehouse_path()}  (requests, quarantine, request_windows, resource_windows, ...)")
    out(f"drift reports:      {data / 'reports' / 'drift'}/<day>.html (Evidently; also MLflow artifacts)")
    out(f"quality reports:    {data / 'reports' / 'quality'}/<day>.html (Evidently classification preset)")
    out(f"incident truth:     {sim_dir / 'incidents.json'}")
    out(f"Dagster runs:       DAGSTER_HOME={home}")
    out(
        "open the UIs:       make ui   -> Dagster http://127.0.0.1:3000, MLflow http://127.0.0.1:5000 (Ctrl-C stops both)"
    )
    elapsed = time.monotonic() - started
    out(f"demo finished in {elapsed:.1f} s")
    return {
        "days": rows,
        "seconds": elapsed,
        "simulation": sim,
        "probes": probes,
        "alerts": alerts,
        "forecasting": forecasting,
        "critical_failures": critical,
    }


def _stepper(progress: Callable[[int, int], None] | None, steps: int) -> Callable[[], None]:
    """A function that reports one more finished step of `steps` to `progress` (nothing without one)."""
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, steps)

    return step


def _forecasting(
    defs: dg.Definitions, instance: dg.DagsterInstance, sim: dict, out, step: Callable[[], None], critical: list[str]
) -> dict:
    """Train and score the days with at least HISTORY_DAYS of history before them; measure against the incidents."""
    import pandas as pd

    from monitor_pipeline.evaluation.incidents import match_incidents

    job, report = defs.resolve_job_def("forecasting_job"), {}
    for d in sim["days"][HISTORY_DAYS:]:
        result = job.execute_in_process(partition_key=d["day"], instance=instance, run_config=QUIET)
        critical += [f"forecasting {d['day']}: {c}" for c in critical_failures(result)]
        meta = {
            m.asset_key.to_user_string(): m.metadata
            for m in result.get_asset_materialization_events()
            for m in [m.materialization]
        }
        champions = meta["forecast_champions"]["champions"].value
        wins = pd.Series([c["model"] for c in champions.values()]).value_counts().to_dict()
        found = pd.DataFrame(meta["anomalies"]["events_table"].value) if "events_table" in meta["anomalies"] else None
        day_incidents = [i for i in sim["incidents"] if i["start"][:10] == d["day"]]
        score = match_incidents(
            found.assign(start=pd.to_datetime(found["start"]), end=pd.to_datetime(found["end"]))
            if found is not None and len(found)
            else pd.DataFrame(),
            day_incidents,
            pd.Timedelta("5min"),
        )
        report[d["day"]] = {"champions": wins, "anomaly_events": score["events"], "evaluation": score}
        precision = "-" if score["precision"] is None else f"{score['precision']:.0%}"
        delay = "-" if score["mean_delay_windows"] is None else f"{score['mean_delay_windows']:.1f}"
        out(
            f"forecasting {d['day']}: champions per series {wins}; anomaly events {score['events']}: incidents "
            f"found {score['detected']}/{score['incidents']}, precision {precision}, mean delay {delay} windows"
        )
        step()
    if not report:
        out(
            f"forecasting:        skipped (the demo needs more than {HISTORY_DAYS} days to train on the days before one)"
        )
    return report


def _probes(defs: dg.Definitions, instance: dg.DagsterInstance, out, critical: list[str]) -> dict | None:
    """One run of the golden-set probes against the configured target (the embedded MiniLM by default)."""
    result = defs.resolve_job_def("probes_job").execute_in_process(
        instance=instance, run_config=QUIET, raise_on_error=False
    )
    critical += [f"probes: {c}" for c in critical_failures(result)]
    if not result.success:
        failure = next((e for e in result.all_events if e.event_type_value == "STEP_FAILURE"), None)
        why = failure.event_specific_data.error.message.strip() if failure else "see the Dagster run"
        out(f"golden probes:      failed: {why}")
        return None
    meta = result.asset_materializations_for_node("quality_probes")[0].metadata
    out(
        f"golden probes:      pass rate {meta['pass_rate'].value:.1%} on {meta['target'].value} "
        "(experiment monitor_pipeline/quality_probes; re-run with `monitor-pipeline probe`)"
    )
    return {"pass_rate": meta["pass_rate"].value, "target": meta["target"].value}
