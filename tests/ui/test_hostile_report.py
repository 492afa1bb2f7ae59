"""The Evidently reports of hostile data, opened in headless Chromium: no value runs as script or becomes markup."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ui_stack import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.slow

HOSTILE = [
    "</script><script>document.title='pwned'</script>",
    "<img src=x onerror=\"document.title='pwned'\">",
    "<svg onload=alert('pwned')>",
    "<!channel>",
    "<!here>",
    "a@b (c)+d",
]


def _requests(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.choice(HOSTILE[:3] + ["ok"], n)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2026-11-18", periods=n, freq="min", tz="UTC"),
            "input_tokens": rng.integers(10, 500, n),
            "output_tokens": rng.integers(10, 500, n),
            "latency_ms": rng.gamma(2.0, 100.0, n),
            "ttft_ms": rng.gamma(2.0, 20.0, n),
            "status": rng.choice(["ok", "error"], n),
            "model": rng.choice(HOSTILE, n),
            "operation": rng.choice(HOSTILE, n),
            "prompt": rng.choice([*HOSTILE, "hello"], n),
            "label": label,
            "prediction": np.where(rng.random(n) < 0.8, label, rng.choice(HOSTILE[:3], n)),
            "score": rng.random(n),
        }
    )


def _drift(path: Path) -> Path:
    from monitor_pipeline.drift_quality.drift import DriftSettings, compare

    return compare(_requests(80, 1), _requests(80, 2), DriftSettings(min_rows=50)).save_html(path)


def _quality(path: Path) -> Path:
    from monitor_pipeline.drift_quality.quality import QualitySettings, measure_quality

    return measure_quality(_requests(80, 3), _requests(80, 4), QualitySettings(min_rows=50)).save_html(path)


@pytest.fixture(scope="module")
def chromium():
    """Debian's headless Chromium through Playwright, as tests/ui launches it."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make test runs scripts/system-deps.sh)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.parametrize("build", [_drift, _quality], ids=["drift_report", "quality_report"])
def test_report_of_hostile_values_runs_no_script(chromium, tmp_path, build):
    html = build(tmp_path / "report.html")
    context = chromium.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(html.as_uri())  # returns after `load`: every inline script has run
        assert page.title() == "" and dialogs == []
        page.locator("svg").first.wait_for()  # the dashboard drew itself from the embedded data
        # Open the per-column details where the model/operation values are drawn (category axes of the plots).
        for column in ("model", "operation"):
            rows = page.locator("tr", has_text=column)
            if rows.count():
                rows.first.locator("button").first.click()
        page.wait_for_timeout(1000)
        assert page.title() == "" and dialogs == []
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"], [onerror], [onload]').length") == 0
        assert page.evaluate("document.querySelectorAll('script').length") == 4  # Evidently's own, none from data
        if build is _drift:  # the values are shown, as text
            shown = page.evaluate("Array.from(document.querySelectorAll('svg text')).map(t => t.textContent)")
            assert HOSTILE[0] in shown and "a@b (c)+d" in shown
    finally:
        context.close()
