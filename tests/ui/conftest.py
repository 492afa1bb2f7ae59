"""Fixtures of the browser tests: the served product (one module-wide stack) and headless Chromium pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from servers import free_port
from ui_stack import CHROMIUM, CHROMIUM_ARGS, DAYS, Stack, prepare_history, write_project

SERVER_START_S = 240  # dagster dev loads the code location in a few processes: slow on a loaded 2-core box
RUN_S = 300


@pytest.fixture(scope="module")
def ui(tmp_path_factory) -> Stack:
    """Simulated history, the forecasters trained, both UIs up, and `ingestion_job` for one day launched through the API."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make test runs scripts/system-deps.sh)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is missing (pip install -e '.[dev]')")
    from mlflow.tracking import MlflowClient

    from monitor_pipeline.tracking.store import tracking_uri_for

    root = tmp_path_factory.mktemp("ui")
    stack = Stack(
        config=Path(),
        dagster_home=root / "dagster_home",
        logs=root / "logs",
        dagster_port=free_port(),
        mlflow_port=free_port(),
    )
    stack.config = write_project(root, stack.mlflow_port)
    # Create MLflow's tables now: the UI server and this process would otherwise race to create them in a new file.
    MlflowClient(tracking_uri_for(root / "data")).search_experiments()
    stack.start()
    try:
        prepare_history(stack.config)  # in this process while the servers start; the UI run comes after
        stack.wait_ready(SERVER_START_S)
        stack.run_id = stack.launch("ingestion_job", DAYS[1])
        stack.run = stack.wait_run(stack.run_id, RUN_S)
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def browser(ui):
    """Debian's headless Chromium driven by Playwright (its own browser download is never used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page, 1600x1000, every wait bounded."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()
