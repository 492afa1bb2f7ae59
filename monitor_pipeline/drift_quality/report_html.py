"""Evidently's self-contained HTML report, with the data it embeds unable to act as markup or script.

Evidently 0.7 (`evidently.legacy.utils.dashboard.file_html_template`) writes the report's data as two JavaScript
statements inside a <script> element, `var metric_<id> = <JSON>;` and `var additional_graphs_metric_<id> = <JSON>;`,
straight from `json.dumps`. JSON leaves `<`, `>` and `&` as they are, so a value such as `</script><script>…` closes the
element and runs. Each of those lines is rewritten with those characters as `\\u003c`-style escapes: inside a JSON
string they decode to the same characters, so the report shows exactly what it showed before. A JSON text has no raw
line breaks, so each statement is one line; if the layout ever changes, writing the report fails instead of writing
an unsafe file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from monitor_pipeline.escape import script_json

_DATA_LINE = re.compile(r"^(\s*var (?:additional_graphs_)?(metric_[0-9a-f]{32}) = )(.*);\s*$")


class UnsafeReport(RuntimeError):
    """Evidently's HTML no longer has the layout this module makes safe: upgrade handling before writing reports."""


def inert_html(html: str) -> str:
    """Evidently's standalone HTML with both embedded JSON blobs escaped for <script> (values unchanged)."""
    lines = html.split("\n")
    found: list[str] = []
    for i, line in enumerate(lines):
        m = _DATA_LINE.match(line)
        if not m:
            continue
        try:
            json.loads(m[3])
        except ValueError as exc:
            raise UnsafeReport(f"line {i + 1} of Evidently's HTML looks like its data but is not JSON: {exc}") from None
        lines[i] = f"{m[1]}{script_json(m[3])};"
        found.append(m[2])
    if len(found) != 2 or len(set(found)) != 1:
        raise UnsafeReport(
            f"expected Evidently's two data statements of one dashboard, found {len(found)} ({found}); "
            "its HTML template changed: update monitor_pipeline/drift_quality/report_html.py"
        )
    return "\n".join(lines)


def save_report_html(snapshot: Any, path: str | Path) -> Path:
    """Write an Evidently snapshot's standalone HTML report to `path` with its embedded data made inert."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(inert_html(snapshot.get_html_str(as_iframe=False)), encoding="utf-8")
    return path
