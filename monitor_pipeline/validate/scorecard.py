"""The day's validation scorecard, built from the stored expectation outcomes (warehouse.validation keeps them)."""

from __future__ import annotations

import datetime as dt

import pandas as pd


def scorecard(outcomes: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """Per suite: expectations run and failed by severity on `day`, and the pass rate on each earlier day."""
    if outcomes.empty:
        return pd.DataFrame(
            columns=[
                "suite",
                "asset",
                "rows",
                "expectations",
                "failed_critical",
                "failed_warning",
                "pass_rate",
                "pass_rate_before",
                "newly_failing",
            ]
        )
    df = outcomes.assign(partition_date=pd.to_datetime(outcomes["partition_date"]).dt.date)
    today, before = df[df["partition_date"] == day], df[df["partition_date"] < day]
    rows = []
    for suite, g in today.groupby("suite", sort=True):
        prev = before[before["suite"] == suite]
        failed_before = set(prev.loc[~prev["success"], ["expectation", "column_name"]].itertuples(index=False))
        failed_now = g.loc[~g["success"], ["expectation", "column_name"]].itertuples(index=False)
        rows.append(
            {
                "suite": suite,
                "asset": g["asset"].iloc[0],
                "rows": int(g["rows"].iloc[0]),
                "expectations": len(g),
                "failed_critical": int((~g["success"] & (g["severity"] == "critical")).sum()),
                "failed_warning": int((~g["success"] & (g["severity"] != "critical")).sum()),
                "pass_rate": float(g["success"].mean()),
                "pass_rate_before": float(prev["success"].mean()) if len(prev) else float("nan"),
                # What broke today that held on every earlier day in the window: what on-call looks at first.
                "newly_failing": ", ".join(
                    f"{e}({c})" if c else e for e, c in failed_now if (e, c) not in failed_before
                ),
            }
        )
    return pd.DataFrame(rows)
