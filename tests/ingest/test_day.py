"""One day's ingestion in numbers: the counts per output table and the accounting the checks verify."""

from __future__ import annotations

from monitor_pipeline.ingest.day import Accounting, quarantine_share, quarantine_table, table_counts, totals
from monitor_pipeline.ingest.engines.base import IngestResult


def _result() -> IngestResult:
    return IngestResult(
        read=100,
        clean=80,
        quarantined=6,
        skipped=4,
        other_partitions=10,
        windows_5m=12,
        windows_1h=2,
        resource_windows_5m=3,
        resource_windows_1h=1,
        by_table={"requests": {"clean": 50}, "resources": {"clean": 30}},
    )


def test_counts_per_table():
    counts = table_counts(_result())
    assert counts["requests"] == {**totals(_result()), "row_count": 50}
    assert counts["request_windows"] == {"windows_5m": 12, "windows_1h": 2, "row_count": 14}
    assert counts["resource_windows"]["row_count"] == 4 and counts["offline_log"] == {"row_count": 0}
    assert counts["quarantine"] == {"row_count": 6} and counts["resources"] == {"row_count": 30}


def test_accounting_and_quarantine_share():
    lines = Accounting(
        read=100, stored={"requests": 50, "resources": 30, "quarantine": 6, "skipped_lines": 4}, other_partitions=10
    )
    assert lines.nothing_lost and lines.stored_plus_other_days == 100
    assert not Accounting(read=100, stored={"requests": 89}, other_partitions=10).nothing_lost
    assert quarantine_share(_result()) == 0.06 and quarantine_share(IngestResult()) == 0.0


def test_quarantine_table_shows_file_names_and_cuts_details():
    md = quarantine_table([("/var/log/gw.jsonl", 7, "malformed", "", "x" * 200), ("a/b.csv", 2, "bad_type", "n", None)])
    lines = md.splitlines()
    assert lines[0] == "| file:line | reason | field | detail |"
    assert lines[2].startswith("| gw.jsonl:7 | malformed |  | " + "x" * 120 + " |")
    assert lines[3] == "| b.csv:2 | bad_type | n |  |"
