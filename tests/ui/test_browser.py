"""The Dagster UI and the MLflow UI in headless Chromium, as an on-call engineer meets them; screenshots in docs/screenshots."""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import pytest
from ui_stack import DAYS, FORECAST_SERIES

from monitor_pipeline.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow
SHOTS = PROJECT_ROOT / "docs" / "screenshots"
FORECASTERS = ("lstm", "gru", "arima", "seasonal_naive")
ANOMALY_RUN_S = 300


def _defs():
    """The code location's Definitions: what the UI must show is read from the code, not listed here."""
    from monitor_pipeline.definitions import defs

    return defs


def _shot(page, name: str, target=None) -> Path:
    """Save a PNG under docs/screenshots (the whole viewport, or one element)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    (target or page).screenshot(path=str(path))
    assert path.stat().st_size > 10_000, f"{path} looks blank"
    return path


def _metadata_row(page, key: str):
    """The row of a materialization's metadata table whose key is `key`."""
    return page.locator("tr").filter(has=page.locator("td").get_by_text(key, exact=True)).first


def _location(ui) -> str:
    nodes = ui.graphql("{ repositoriesOrError { ... on RepositoryConnection { nodes { location { name } } } } }")
    return nodes["repositoriesOrError"]["nodes"][0]["location"]["name"]


def test_asset_graph_shows_every_group(ui, page):
    graph = _defs().resolve_asset_graph()
    groups = sorted({node.group_name for node in graph.asset_nodes})
    assert "ingestion" in groups and len(groups) >= 7, groups
    page.goto(f"{ui.dagster_url}/asset-groups")
    nodes = page.locator("svg foreignObject")  # the graph's nodes, not the sidebar's tree
    for group in groups:
        nodes.get_by_text(group, exact=True).first.wait_for(state="visible")
    page.wait_for_timeout(1000)  # the graph zooms to fit after layout
    _shot(page, "asset_graph.png")

    ingestion = sorted(n.key.to_user_string() for n in graph.asset_nodes if n.group_name == "ingestion")
    page.set_viewport_size({"width": 1600, "height": 1500})  # the group's graph is tall: all of it in one picture
    page.goto(f"{ui.dagster_url}/locations/{_location(ui)}/asset-groups/ingestion")
    nodes.first.wait_for()
    page.mouse.move(1000, 800)
    page.keyboard.down("Control")  # ctrl+wheel zooms the graph out one step
    page.mouse.wheel(0, 100)
    page.keyboard.up("Control")
    for key in ingestion:
        nodes.get_by_text(key, exact=True).first.wait_for()
    page.wait_for_timeout(2000)  # node bodies (latest event, checks, partitions) load after the names
    _shot(page, "asset_group_ingestion.png")


def test_materialization_launched_through_the_api_shows_plots_and_report_links(ui, page):
    failed = [s["stepKey"] for s in ui.run.get("stepStats", []) if s["status"] != "SUCCESS"]
    assert ui.run["status"] == "SUCCESS", (
        f"run {ui.run_id}: {ui.run['status']}, steps {failed}\n{ui.log_tail('dagster')}"
    )
    page.goto(f"{ui.dagster_url}/runs/{ui.run_id}")
    page.get_by_text("Success", exact=True).first.wait_for()
    page.get_by_text("partition_plots").first.wait_for()
    page.wait_for_timeout(1500)
    _shot(page, "materialization_run.png")

    # The plots asset: a link to its MLflow run, the PNG paths, and the plots inline.
    page.goto(f"{ui.dagster_url}/assets/partition_plots?partition={DAYS[1]}")
    link = _metadata_row(page, "mlflow_run").locator("a").first
    assert link.get_attribute("href").startswith(f"{ui.mlflow_url}/#/experiments/")
    for name in ("online_requests", "offline_jobs", "latency_errors", "gpu_memory"):
        path = _metadata_row(page, name).locator("td").last.inner_text().strip()
        assert path.endswith(f"{DAYS[1]}/{name}.png") and Path(path).is_file(), path
    _shot(page, "materialization_metadata.png")
    _metadata_row(page, "plots").get_by_text("[Show Markdown]").click()
    dialog = page.get_by_role("dialog")
    images = dialog.locator("img[src^='data:image/png']")
    images.nth(3).wait_for()
    assert images.count() == 6
    widths = images.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert all(w > 100 for w in widths), widths  # decoded images, not broken placeholders
    page.wait_for_timeout(1000)  # the dialog fades in: photograph it opaque
    _shot(page, "materialization_plots.png")

    # The drift report: a link to the Evidently HTML in the MLflow run that holds it (it opens from any machine).
    page.goto(f"{ui.dagster_url}/assets/drift_report?partition={DAYS[1]}")
    report = _metadata_row(page, "report")
    report.scroll_into_view_if_needed()
    href = report.locator("a").first.get_attribute("href")
    assert href.startswith(f"{ui.mlflow_url}/#/experiments/") and href.endswith(f"/artifactPath/reports/{DAYS[1]}.html")
    assert _metadata_row(page, "mlflow_run").locator("a").first.get_attribute("href").startswith(ui.mlflow_url)
    page.wait_for_timeout(500)
    _shot(page, "drift_report_metadata.png")


def test_anomalies_materialization_shows_forecast_against_actual(ui, page):
    # What the automation sensor starts after an ingestion run, launched by hand for the UI run's day.
    run = ui.wait_run(ui.launch("anomaly_job", DAYS[1]), ANOMALY_RUN_S)
    assert run["status"] == "SUCCESS", f"anomaly_job: {run}\n{ui.log_tail('dagster')}"
    for asset, shot in (
        ("anomalies", "anomalies_forecast_vs_actual.png"),
        ("resource_forecast", "resource_forecast.png"),
    ):
        page.goto(f"{ui.dagster_url}/assets/{asset}?partition={DAYS[1]}")
        _metadata_row(page, "forecast_vs_actual").get_by_text("[Show Markdown]").click()
        images = page.get_by_role("dialog").locator("img[src^='data:image/png']")
        images.first.wait_for()
        widths = images.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        assert widths and all(w > 100 for w in widths), (asset, widths)  # decoded plots, not broken placeholders
        page.wait_for_timeout(1000)  # the dialog fades in: photograph it opaque
        _shot(page, shot)


def test_schedules_and_sensors_pages_list_ours(ui, page):
    defs = _defs()
    schedules, sensors = [s.name for s in defs.schedules], [s.name for s in defs.sensors]
    assert "hourly_ingestion" in schedules and "alert_sensor" in sensors
    location = _location(ui)
    for kind, names in (("schedules", schedules), ("sensors", sensors)):
        page.goto(f"{ui.dagster_url}/locations/{location}/{kind}")
        for name in names:
            page.get_by_text(name, exact=True).first.wait_for()
    page.goto(f"{ui.dagster_url}/automation")
    for name in schedules + sensors:
        page.get_by_text(name, exact=True).first.wait_for()
    page.wait_for_timeout(500)
    _shot(page, "automation.png")

    page.goto(f"{ui.dagster_url}/locations/{location}/schedules/hourly_ingestion")
    page.get_by_text("5 * * * *").first.wait_for()
    _shot(page, "schedule_hourly_ingestion.png")
    page.goto(f"{ui.dagster_url}/locations/{location}/sensors/alert_sensor")
    page.get_by_text(next(s.description for s in defs.sensors if s.name == "alert_sensor")).first.wait_for()
    page.wait_for_timeout(1000)
    _shot(page, "sensor_alert_sensor.png")


def test_mlflow_lists_experiments_and_compares_the_forecasters(ui, page):
    from mlflow.tracking import MlflowClient

    from monitor_pipeline.settings import load_config
    from monitor_pipeline.tracking.store import tracking_uri_for

    client = MlflowClient(tracking_uri_for(load_config(ui.config).data_path()))
    names = sorted(e.name for e in client.search_experiments() if e.name.startswith("monitor_pipeline/"))
    for group in ("ingestion", "validation", "drift_quality", "security", "forecast_champions"):
        assert f"monitor_pipeline/{group}" in names, names
    page.goto(f"{ui.mlflow_url}/#/experiments")
    for name in names:
        page.get_by_role("link", name=name, exact=True).first.wait_for()
    _close_assistant(page)
    _shot(page, "mlflow_experiments.png")

    exp = client.get_experiment_by_name("monitor_pipeline/forecast_champions")  # one experiment, series as tags
    runs = client.search_runs([exp.experiment_id], f"tags.model != '' and tags.series = '{FORECAST_SERIES}'")
    assert sorted(r.data.tags["model"] for r in runs) == sorted(FORECASTERS)
    query = urllib.parse.urlencode(
        {"runs": json.dumps([r.info.run_id for r in runs]), "experiments": json.dumps([exp.experiment_id])}
    )
    page.goto(f"{ui.mlflow_url}/#/compare-runs?{query}")
    page.get_by_text(f"Comparing {len(runs)} Runs").wait_for()
    for model in FORECASTERS:  # run names are forecast_champions/<model>/<partition>/<dagster run>
        page.get_by_text(re.compile(rf"^forecast_champions/{model}/")).first.wait_for()
    for metric in ("mase", "smape", "coverage"):
        page.get_by_role("link", name=metric, exact=True).first.wait_for()
    _close_assistant(page)
    # Run names and the backtest metrics side by side: fold the plots and the long parameter table away.
    page.get_by_role("button", name="Visualizations").click()
    page.get_by_role("button", name="Parameters").click()
    page.wait_for_timeout(500)
    _shot(page, "mlflow_forecaster_comparison.png")


def _close_assistant(page) -> None:
    """Fold MLflow's assistant side panel, when it is open, so the page itself is photographed."""
    close = page.get_by_role("button", name="Close", exact=True)
    if close.count():
        close.first.click()
        close.first.wait_for(state="hidden")
