"""A process whose __main__ has no file, like a Dagster run worker launched from the UI or a schedule, can load GX."""

from __future__ import annotations

import subprocess
import sys

from monitor_pipeline.settings import PROJECT_ROOT


def test_great_expectations_loads_where_main_has_no_file():
    # `python -c` leaves __main__ without __file__ or __spec__, as the spawned run worker does; pyspark.sql.connect
    # then calls sys.exit(0) on import, which used to end every validation step of a UI-launched run.
    code = "from monitor_pipeline.validate.suites import _gx; print('gx', _gx().__version__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("gx "), out.stdout + out.stderr
