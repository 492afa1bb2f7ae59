"""The reference window that drift and quality compare a partition against."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor_pipeline.settings.drift_quality import DriftConfig


@dataclass(frozen=True)
class ReferenceWindow:
    """A partition and the days it is compared against."""

    day: dt.date
    reference: tuple[dt.date, ...]

    @classmethod
    def of(cls, day: dt.date, cfg: DriftConfig) -> ReferenceWindow:
        """The pinned reference partition, else the `reference_days` days before `day`."""
        if cfg.reference_partition:
            return cls(day, (cfg.reference_partition,))
        return cls(day, tuple(day - dt.timedelta(days=k) for k in range(1, cfg.reference_days + 1)))

    def describe(self) -> dict[str, str]:
        """The partition and its reference days as text: what reports and metadata show."""
        return {"partition": self.day.isoformat(), "reference": ", ".join(d.isoformat() for d in self.reference)}
