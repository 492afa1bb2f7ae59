"""Great Expectations suites run as asset checks."""

from __future__ import annotations

from pydantic import Field

from monitor_pipeline.settings.base import Strict


class ValidationConfig(Strict):
    """Great Expectations suites run as asset checks."""

    expectations_dir: str | None = Field(
        None,
        description="folder of <suite>.json files; default: the project's "
        "expectations/ (a relative path is taken from the root)",
    )
    sample_rows: int = Field(100_000, gt=0, description="above this many rows a seeded reservoir sample is validated")
