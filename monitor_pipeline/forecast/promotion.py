"""Champion versus challenger: tonight's best model against the champion in force, on the same backtest origins.

The challenger is the series' lowest-MASE model of tonight's backtest. The champion in force (trained for an earlier
day) forecasts the same origins as fitted, without refitting; the challenger replaces it unless the champion is
strictly more accurate there. Who is compared, the figures and the decision are what the tracking run logs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from monitor_pipeline.forecast.backtest import forecast_origins
from monitor_pipeline.forecast.base import Forecaster, NotEnoughData
from monitor_pipeline.forecast.champions import ModelBacktest

PROMOTE, KEEP = "promote", "keep"
METRICS = ("mase", "smape", "coverage")


@dataclass
class Incumbent:
    """The champion in force: its fitted forecaster and where it is registered."""

    forecaster: Forecaster
    version: int
    partition: str  # the day it was trained for ("" when unknown)


@dataclass
class Comparison:
    """Tonight's challenger against the champion in force on the same origins, and the decision."""

    series: str
    partition: str
    challenger: dict[str, float | str]
    champion: dict[str, float | str] | None
    decision: str  # PROMOTE or KEEP
    reason: str
    # Whether the registry's `champion` alias follows this partition's champion: not for a day older than the one
    # the alias serves (a backfill must not replace the newest champion).
    move_alias: bool = True
    origins: list[int] = field(default_factory=list)

    @property
    def promote(self) -> bool:
        """Whether the challenger becomes this partition's champion."""
        return self.decision == PROMOTE

    def metrics(self) -> dict[str, float]:
        """`challenger.<metric>` and `champion.<metric>` on the shared origins (the champion's when it was scored)."""
        out = {f"challenger.{k}": float(self.challenger[k]) for k in METRICS}
        if self.champion is not None:
            out |= {f"champion.{k}": float(self.champion[k]) for k in METRICS if k in self.champion}
        return out

    def tags(self) -> dict[str, str]:
        """The decision and why, as run tags."""
        return {"promotion.decision": self.decision, "promotion.reason": self.reason}

    def table(self) -> pd.DataFrame:
        """One row per contender: role, model, version, the metrics on the shared origins, the decision."""
        rows = [{"role": "challenger", **self.challenger}]
        if self.champion is not None:
            rows.append({"role": "champion", **self.champion})
        return pd.DataFrame(rows).assign(decision=self.decision, reason=self.reason, partition=self.partition)


def _means(rows: list[dict]) -> dict[str, float]:
    return {k: float(sum(r[k] for r in rows) / len(rows)) for k in METRICS}


def _key(scores: dict) -> str:
    """MASE unless it is undefined (a flat training stretch), then sMAPE: as selection ranks."""
    return "mase" if math.isfinite(float(scores["mase"])) else "smape"


def compare(challenger: ModelBacktest, incumbent: Incumbent | None, partition: str) -> Comparison:
    """Score `incumbent` on the challenger's backtest origins and decide whether the challenger replaces it."""
    result = challenger.result
    origins = [int(r["origin"]) for r in result.per_origin]
    mine: dict[str, float | str] = {"model": challenger.model, **_means(result.per_origin)}

    def decided(decision: str, reason: str, theirs: dict | None = None, move_alias: bool = True) -> Comparison:
        return Comparison(challenger.series, partition, mine, theirs, decision, reason, move_alias, origins)

    if incumbent is None:
        return decided(PROMOTE, "no champion registered yet")
    theirs: dict[str, float | str] = {"model": incumbent.forecaster.name, "version": incumbent.version}
    if incumbent.partition and incumbent.partition > partition:
        # A backfill: the champion in force was trained for a later day and has seen this day's data.
        return decided(PROMOTE, f"champion was trained for a later day ({incumbent.partition})", theirs, False)
    if incumbent.partition == partition:
        return decided(PROMOTE, "retrained for the same day: replaces that day's champion", theirs)
    if incumbent.forecaster.season != challenger.forecaster.season:
        return decided(PROMOTE, f"champion forecasts a season of {incumbent.forecaster.season} steps", theirs)
    try:
        rows = forecast_origins(
            incumbent.forecaster, challenger.y.to_numpy(), origins, challenger.horizon, challenger.phase0
        )
    except (NotEnoughData, ValueError) as exc:
        return decided(PROMOTE, f"champion could not forecast the backtest origins: {exc}", theirs)
    theirs |= _means(rows)
    key = _key(mine)
    a, b = float(mine[key]), float(theirs[key])
    if math.isfinite(b) and b < a:
        return decided(KEEP, f"champion {key} {b:.4g} < challenger {a:.4g} on the same {len(rows)} origins", theirs)
    return decided(PROMOTE, f"challenger {key} {a:.4g} <= champion {b:.4g} on the same {len(rows)} origins", theirs)
