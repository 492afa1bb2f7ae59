"""Reading the feeds: sources (fields, time, constants, unmapped), parse limits, and the two engines."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import Field, field_validator

from monitor_pipeline.errors import ConfigError
from monitor_pipeline.settings.base import Strict


class TimeConfig(Strict):
    """How a source's time is read: where, in which format, in which zone, from which origin."""

    field: str | None = Field(
        None, description="the column or JSON path holding the time (same as `fields: {timestamp: ...}`)"
    )
    format: str = Field(
        "auto",
        description="auto (numbers: epoch s/ms/us by magnitude; strings: ISO 8601), iso, "
        "epoch_s, epoch_ms, epoch_us, epoch_ns, or a strptime pattern such as "
        "'%Y/%m/%d %H:%M:%S.%f'",
    )
    timezone: str | None = Field(
        None,
        description="IANA zone of times written without an offset (nvidia-smi, local "
        "logs); unset, they are read as UTC and the ingest says so",
    )
    origin: dt.datetime | None = Field(
        None,
        description="the zero of a relative clock (BurstGPT's seconds from the "
        "trace start): an ISO time with an offset",
    )
    scraped_at: str | None = Field(
        None,
        description="Prometheus samples without a timestamp: an ISO time with an "
        "offset, or `mtime` (the file's modification time, named in "
        "the ingest's warnings); unset, such samples are quarantined",
    )
    year: int | None = Field(
        None,
        ge=2000,
        le=2100,
        description="the year of times written without one (vLLM's server log: `MM-DD HH:MM:SS`); unset, the "
        "file's modification time's (a later date in the year before), said in the ingest's warnings",
    )

    @field_validator("format")
    @classmethod
    def _known_time_format(cls, v: str) -> str:
        from monitor_pipeline.ingest.engines.dialect import java_datetime_pattern
        from monitor_pipeline.ingest.formats.options import NAMED_TIME_FORMATS

        if "%" in v:
            java_datetime_pattern(v)  # raises on a directive Spark cannot read
            return v
        if v not in NAMED_TIME_FORMATS:
            raise ValueError(
                f"unknown time format {v!r}; allowed: {', '.join(NAMED_TIME_FORMATS)} or a strptime "
                "pattern containing %"
            )
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        import zoneinfo

        if v is not None and v not in zoneinfo.available_timezones():
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as UTC, Europe/Berlin, America/New_York")
        return v

    @field_validator("origin")
    @classmethod
    def _aware_origin(cls, v: dt.datetime | None) -> dt.datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("origin needs an offset (e.g. 2023-05-01T00:00:00Z): a naive time would be a guess")
        return v

    @field_validator("scraped_at")
    @classmethod
    def _scrape_time(cls, v: str | None) -> str | None:
        if v is None or v == "mtime":
            return v
        try:
            t = dt.datetime.fromisoformat(v)
        except ValueError:
            raise ValueError(f"scraped_at {v!r} is neither `mtime` nor an ISO time") from None
        if t.tzinfo is None:
            raise ValueError("scraped_at needs an offset (e.g. 2025-03-01T12:00:00Z)")
        return t.isoformat()


class SourceConfig(Strict):
    """One feed of logs or samples, and how to read it when its fields are not the canonical ones."""

    name: str = Field(description="unique name; rows keep it in `source`, re-ingests replace by (source, day)")
    paths: list[str] = Field(
        description="files, directories or globs; hdfs:// and s3a:// URIs on Spark; "
        "relative paths are taken from the project root"
    )
    format: str = Field("auto", description="a format name (see `monitor-pipeline formats`) or auto")
    model: str = Field("unknown", description="model name for rows that carry none")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="canonical column -> CSV column name or JSON "
        "path (`response.body.usage.prompt_tokens`, `choices[0].message.content`; quote a "
        'key holding dots: `attributes."gen_ai.request.model"`)',
    )
    time: TimeConfig = Field(default_factory=TimeConfig, description="how the time is read")
    constants: dict[str, str] = Field(
        default_factory=dict,
        description="canonical column -> a value every row of the source gets (e.g. model: gpt-4o-mini)",
    )
    unmapped: Literal["warn", "keep", "ignore"] = Field(
        "warn",
        description="fields no column reads: named in the ingest's warnings, kept as JSON in `extra`, or ignored",
    )
    live: bool = Field(
        False,
        description="follow the files as they grow: the live sensor ingests their new lines every "
        "`live.interval_s` (local files, DuckDB engine; make `paths` match rotated names too if the logs rotate)",
    )

    @field_validator("format")
    @classmethod
    def _known_format(cls, v: str) -> str:
        from monitor_pipeline.ingest.formats import FORMATS

        if v != "auto" and v not in FORMATS:
            raise ValueError(f"unknown format {v!r}; allowed: auto, {', '.join(sorted(FORMATS))}")
        return v

    @field_validator("fields", "constants")
    @classmethod
    def _canonical_columns(cls, v: dict[str, str]) -> dict[str, str]:
        from monitor_pipeline.warehouse.schema import TABLES

        known = {c for t in TABLES.values() for c in t.names()}
        bad = sorted(k for k in v if k not in known)
        if bad:
            raise ValueError(f"unknown column(s) {', '.join(bad)}; canonical columns: {', '.join(sorted(known))}")
        return v

    @field_validator("fields")
    @classmethod
    def _paths(cls, v: dict[str, str]) -> dict[str, str]:
        from monitor_pipeline.ingest.formats.options import parse_json_path

        for col, path in v.items():
            try:
                parse_json_path(path)
            except ValueError as exc:
                raise ValueError(f"{col}: {exc}") from None
        return v

    def read_options(self):
        """The source's reading instructions for the formats (monitor_pipeline.ingest.formats.options.ReadOptions)."""
        from monitor_pipeline.ingest.formats.options import ReadOptions, TimeSpec

        fields = dict(self.fields)
        if self.time.field:
            if fields.get("timestamp", self.time.field) != self.time.field:
                raise ConfigError(f"source {self.name}: `time.field` and `fields.timestamp` name different fields")
            fields["timestamp"] = self.time.field
        both = sorted(set(fields) & set(self.constants))
        if both:
            raise ConfigError(f"source {self.name}: {', '.join(both)} both mapped in `fields` and set in `constants`")
        t = self.time
        return ReadOptions(
            fields=tuple(fields.items()),
            constants=tuple(self.constants.items()),
            unmapped=self.unmapped,
            time=TimeSpec(
                format=t.format,
                timezone=t.timezone,
                origin=t.origin.isoformat() if t.origin else None,
                scraped_at=t.scraped_at,
                year=t.year,
            ),
        )


class DuckDBConfig(Strict):
    """The embedded engine."""

    memory_limit: str = Field(
        "1GB",
        description="DuckDB memory cap; it spills to disk past it: a size like 512MB, 4GB "
        "or 1.5GiB, or a share of RAM like 80%",
    )
    threads: int | None = Field(None, description="worker threads; all cores when unset")
    lock_timeout_s: float = Field(
        120,
        ge=0,
        description="how long a run waits (with backoff) while another process "
        "holds the warehouse file before it fails naming that process",
    )

    @field_validator("memory_limit")
    @classmethod
    def _memory_limit(cls, v: str) -> str:
        # The forms DuckDB's SET memory_limit parses (checked against DuckDB 2.0), and at least 16MB: DuckDB accepts
        # less but then fails its first query ("Out of Memory Error").
        forms = "a size like 512MB, 4GB or 1.5GiB (KB, MB, GB, TB or KiB, MiB, GiB, TiB) or a share of RAM like 80%"
        units = {
            "kb": 1e3,
            "mb": 1e6,
            "gb": 1e9,
            "tb": 1e12,
            "kib": 2**10,
            "mib": 2**20,
            "gib": 2**30,
            "tib": 2**40,
            "k": 1e3,
            "m": 1e6,
            "g": 1e9,
            "t": 1e12,
        }
        m = re.fullmatch(r"(?P<n>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>[a-z]+|%)", v.strip(), re.IGNORECASE)
        unit = m["unit"].lower() if m else ""
        if m is None or (unit != "%" and unit not in units):
            raise ValueError(f"must be {forms}")
        n = float(m["n"])
        if unit == "%" and not 0 < n <= 100:
            raise ValueError("a share of RAM must be above 0% and at most 100%")
        if unit != "%" and n * units[unit] < 16e6:
            raise ValueError("must be at least 16MB: DuckDB fails its first query with less")
        return v.strip()

    @field_validator("threads")
    @classmethod
    def _threads(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError("must be at least 1; leave it out (or null) to use every core")
        return v


class SparkConfig(Strict):
    """The scale-out engine, through dagster-pyspark."""

    master: str = Field(
        "local[*]", description="local[*], spark://host:7077, yarn, k8s://... (env MONITOR_SPARK_MASTER)"
    )
    app_name: str = Field("monitor_pipeline", description="Spark application name")
    output: str | None = Field(
        None, description="where Spark writes its Parquet tables (hdfs://, s3a://, a path); default <data_dir>/spark"
    )
    conf: dict[str, str] = Field(default_factory=dict, description="extra spark.* settings")
    connect_timeout_s: int = Field(60, description="give up on an unreachable master after this long")


class IngestConfig(Strict):
    """Limits of parsing and validation."""

    max_line_bytes: int = Field(1_000_000, gt=0, description="longer lines are quarantined as line_too_long")
    raw_cap: int = Field(2048, gt=0, description="characters of a bad line kept in quarantine")
    max_future_skew_s: int = Field(300, ge=0, description="timestamps later than now + this are future_timestamp")
    chunk_bytes: int = Field(32 << 20, gt=0, description="bytes read per chunk (bounds memory)")


class LiveTrendConfig(Strict):
    """The live time-to-threshold rule: GPU memory and KV-cache usage climbing toward their thresholds
    (`resource_forecast.memory_threshold`, `resource_forecast.engine.kv_cache_threshold`) in the raw samples."""

    enabled: bool = Field(True, description="fit the trend of every GPU and serving engine in each micro-batch")
    lookback_minutes: float = Field(5, ge=1, le=60, description="minutes of raw samples each fit sees")
    horizon_minutes: float = Field(30, ge=1, description="a crossing predicted within this many minutes is a finding")
    critical_minutes: float = Field(10, ge=0, description="a crossing predicted this close (or reached) is critical")
    min_points: int = Field(12, ge=4, description="samples in the lookback below which a device is not fitted")
    min_rise: float = Field(
        0.05, gt=0, description="rise over the lookback (share of memory or cache: 0.05 = 5 points) that counts"
    )
    confidence: float = Field(0.9, gt=0, lt=1, description="confidence of the slope interval whose low end must be > 0")


class LiveConfig(Strict):
    """The live loop: how often the sensor looks for new lines of `live: true` sources, and what each run does."""

    interval_s: int = Field(
        60,
        ge=10,
        le=600,
        description="seconds between the live sensor's looks at the files (each look that finds new lines is a run)",
    )
    lookback_days: int = Field(
        1, ge=0, le=7, description="days before today whose files are still followed (late lines after midnight)"
    )
    close_grace_s: int = Field(
        60, ge=0, description="a window is scored once it ended this long ago (lines still in flight reach it first)"
    )
    security_lookback_s: int = Field(
        3600, ge=60, description="the rows a live security scan reads before its new rows (the rules' windows)"
    )
    trend: LiveTrendConfig = Field(
        default_factory=LiveTrendConfig, description="the live time-to-threshold rule over raw resource samples"
    )
