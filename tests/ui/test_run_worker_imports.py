"""A process whose __main__ has no file, like a Dagster run worker launched from the UI or a schedule, can load GX."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitor_pipeline.settings import PROJECT_ROOT

# Every way into GX that can come first in a process: each must go through suites._gx's guard.
FIRST_GX_USE = {
    "_gx": "from monitor_pipeline.validate.suites import _gx; print('gx', _gx().__version__)",
    "needs_whole_day": "from monitor_pipeline.validate.suites import needs_whole_day as f; "
    "print('gx', f('expect_column_values_to_be_unique'))",
    "load_suite": "from monitor_pipeline.validate.suites import load_suite; "
    "print('gx', load_suite('expectations/requests.json').name)",
}


@pytest.mark.parametrize("entry", sorted(FIRST_GX_USE))
def test_great_expectations_loads_where_main_has_no_file(entry):
    # `python -c` leaves __main__ without __file__ or __spec__, as the spawned run worker (and a pytest-xdist worker)
    # does; pyspark.sql.connect then calls sys.exit(0) on import, which used to end every validation step of a
    # UI-launched run, and once failed CI when a test's first GX use was needs_whole_day.
    code = FIRST_GX_USE[entry]
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("gx "), out.stdout + out.stderr
