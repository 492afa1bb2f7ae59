"""The demo's attribution of alerts to the simulated incidents."""

from __future__ import annotations

import datetime as dt

from monitor_pipeline.evaluation.incidents import match_alerts

INC = [
    {"id": "inc-1", "start": "2026-11-19T02:00:00+00:00", "end": "2026-11-19T04:00:00+00:00"},
    {"id": "inc-4", "start": "2026-11-19T12:00:00+00:00", "end": "2026-11-19T13:00:00+00:00"},
]


def _a(key: str, onset: str, end: str) -> dict:
    return {"key": key, "onset": f"2026-11-{onset}:00+00:00", "end": f"2026-11-{end}:00+00:00"}


def test_match_alerts_by_onset_day_level_and_false():
    got = match_alerts(
        INC,
        [
            _a("anomaly:latency", "19T02:10", "19T03:00"),
            _a("security:u", "19T12:05", "19T13:00"),
            _a("security:ip", "19T12:01", "19T12:50"),
            _a("check.drift:drift_report", "19T00:00", "20T00:00"),
            _a("check.acc:quality", "17T00:00", "18T00:00"),
            _a("anomaly:gpu", "19T18:00", "19T18:30"),
        ],
        days=3,
        grace=dt.timedelta(hours=1),
    )
    assert got["alerts_per_incident"] == {"inc-1": 1, "inc-4": 2}
    assert got["day_level_alerts"] == ["check.drift:drift_report"]
    assert got["false_alerts"] == ["check.acc:quality", "anomaly:gpu"] and got["false_alerts_per_day"] == 0.67
