"""Load configs/*.yaml into pydantic models; the one place that reads environment overlays."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from monitor_pipeline.errors import ConfigError
from monitor_pipeline.settings.files import read_yaml_mapping, validation_message

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "pipeline.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimeConfig(_Strict):
    """How a source's time is read: where, in which format, in which zone, from which origin."""

    field: str | None = Field(None, description="the column or JSON path holding the time (same as "
                                                "`fields: {timestamp: ...}`)")
    format: str = Field("auto", description="auto (numbers: epoch s/ms/us by magnitude; strings: ISO 8601), iso, "
                                            "epoch_s, epoch_ms, epoch_us, epoch_ns, or a strptime pattern such as "
                                            "'%Y/%m/%d %H:%M:%S.%f'")
    timezone: str | None = Field(None, description="IANA zone of times written without an offset (nvidia-smi, local "
                                                   "logs); unset, they are read as UTC and the ingest says so")
    origin: dt.datetime | None = Field(None, description="the zero of a relative clock (BurstGPT's seconds from the "
                                                         "trace start): an ISO time with an offset")
    scraped_at: str | None = Field(None, description="Prometheus samples without a timestamp: an ISO time with an "
                                                     "offset, or `mtime` (the file's modification time, named in "
                                                     "the ingest's warnings); unset, such samples are quarantined")

    @field_validator("format")
    @classmethod
    def _known_time_format(cls, v: str) -> str:
        from monitor_pipeline.ingest.engines.dialect import java_datetime_pattern
        from monitor_pipeline.ingest.formats.options import NAMED_TIME_FORMATS

        if "%" in v:
            java_datetime_pattern(v)  # raises on a directive Spark cannot read
            return v
        if v not in NAMED_TIME_FORMATS:
            raise ValueError(f"unknown time format {v!r}; allowed: {', '.join(NAMED_TIME_FORMATS)} or a strptime "
                             "pattern containing %")
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


class SourceConfig(_Strict):
    """One feed of logs or samples, and how to read it when its fields are not the canonical ones."""

    name: str = Field(description="unique name; rows keep it in `source`, re-ingests replace by (source, day)")
    paths: list[str] = Field(description="files, directories or globs; hdfs:// and s3a:// URIs on Spark; "
                                         "relative paths are taken from the project root")
    format: str = Field("auto", description="a format name (see `monitor-pipeline formats`) or auto")
    model: str = Field("unknown", description="model name for rows that carry none")
    fields: dict[str, str] = Field(default_factory=dict, description="canonical column -> CSV column name or JSON "
                                   "path (`response.body.usage.prompt_tokens`, `choices[0].message.content`; quote a "
                                   "key holding dots: `attributes.\"gen_ai.request.model\"`)")
    time: TimeConfig = Field(default_factory=TimeConfig, description="how the time is read")
    constants: dict[str, str] = Field(default_factory=dict, description="canonical column -> a value every row of "
                                                                        "the source gets (e.g. model: gpt-4o-mini)")
    unmapped: Literal["warn", "keep", "ignore"] = Field("warn", description="fields no column reads: named in the "
                                                        "ingest's warnings, kept as JSON in `extra`, or ignored")

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
        """The source's reading instructions for the formats (lib.formats.options.ReadOptions)."""
        from monitor_pipeline.ingest.formats.options import ReadOptions, TimeSpec

        fields = dict(self.fields)
        if self.time.field:
            if fields.get("timestamp", self.time.field) != self.time.field:
                from monitor_pipeline.errors import ConfigError

                raise ConfigError(f"source {self.name}: `time.field` and `fields.timestamp` name different fields")
            fields["timestamp"] = self.time.field
        both = sorted(set(fields) & set(self.constants))
        if both:
            from monitor_pipeline.errors import ConfigError

            raise ConfigError(f"source {self.name}: {', '.join(both)} both mapped in `fields` and set in `constants`")
        t = self.time
        return ReadOptions(fields=tuple(fields.items()), constants=tuple(self.constants.items()), unmapped=self.unmapped,
                           time=TimeSpec(format=t.format, timezone=t.timezone,
                                         origin=t.origin.isoformat() if t.origin else None, scraped_at=t.scraped_at))


class DuckDBConfig(_Strict):
    """The embedded engine."""

    memory_limit: str = Field("1GB", description="DuckDB memory cap; it spills to disk past it: a size like 512MB, 4GB "
                                                 "or 1.5GiB, or a share of RAM like 80%")
    threads: int | None = Field(None, description="worker threads; all cores when unset")
    lock_timeout_s: float = Field(120, ge=0, description="how long a run waits (with backoff) while another process "
                                                         "holds the warehouse file before it fails naming that process")

    @field_validator("memory_limit")
    @classmethod
    def _memory_limit(cls, v: str) -> str:
        # The forms DuckDB's SET memory_limit parses (checked against DuckDB 2.0), and at least 16MB: DuckDB accepts
        # less but then fails its first query ("Out of Memory Error").
        forms = "a size like 512MB, 4GB or 1.5GiB (KB, MB, GB, TB or KiB, MiB, GiB, TiB) or a share of RAM like 80%"
        units = {"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
                 "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}
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


class SparkConfig(_Strict):
    """The scale-out engine, through dagster-pyspark."""

    master: str = Field("local[*]", description="local[*], spark://host:7077, yarn, k8s://... (env MONITOR_SPARK_MASTER)")
    app_name: str = Field("monitor_pipeline", description="Spark application name")
    output: str | None = Field(None, description="where Spark writes its Parquet tables (hdfs://, s3a://, a path); "
                                                 "default <data_dir>/spark")
    conf: dict[str, str] = Field(default_factory=dict, description="extra spark.* settings")
    connect_timeout_s: int = Field(60, description="give up on an unreachable master after this long")


class IngestConfig(_Strict):
    """Limits of parsing and validation."""

    max_line_bytes: int = Field(1_000_000, gt=0, description="longer lines are quarantined as line_too_long")
    raw_cap: int = Field(2048, gt=0, description="characters of a bad line kept in quarantine")
    max_future_skew_s: int = Field(300, ge=0, description="timestamps later than now + this are future_timestamp")
    chunk_bytes: int = Field(32 << 20, gt=0, description="bytes read per chunk (bounds memory)")


class MlflowConfig(_Strict):
    """Where runs, metrics and artifacts are recorded."""

    tracking_uri: str | None = Field(None, description="default sqlite:///<data_dir>/mlflow.db; any server URI "
                                                       "(http://mlflow:5000, postgresql+psycopg2://...) "
                                                       "(env MLFLOW_TRACKING_URI)")
    artifact_root: str | None = Field(None, description="default <data_dir>/mlartifacts; e.g. s3://bucket/mlflow")
    ui_url: str = Field("http://127.0.0.1:5000", description="MLflow UI base URL for links in Dagster metadata")

    @field_serializer("tracking_uri")
    def _hide_password(self, v: str | None) -> str | None:
        # `monitor-pipeline config` prints this model; a database URI from MLFLOW_TRACKING_URI carries a password.
        return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", v) if v else v


class ValidationConfig(_Strict):
    """Great Expectations suites run as asset checks."""

    expectations_dir: str | None = Field(None, description="folder of <suite>.json files; default: the project's "
                                                          "expectations/ (a relative path is taken from the root)")
    sample_rows: int = Field(100_000, gt=0, description="above this many rows a seeded reservoir sample is validated")


class DriftConfig(_Strict):
    """Reference vs current drift of request features and prompt descriptors (Evidently)."""

    reference_days: int = Field(1, ge=1, description="reference = the N days before the partition")
    reference_partition: dt.date | None = Field(None, description="a pinned reference day instead (YYYY-MM-DD)")
    drift_share: float = Field(0.25, gt=0, le=1, description="the check warns above this share of drifted columns")
    sample_rows: int = Field(50_000, gt=0, description="rows sampled (seeded) from each side")
    min_rows: int = Field(200, gt=0, description="fewer rows on a side: the report is skipped with a reason")
    prompt_embedding_rows: int = Field(0, ge=0, description="rows a side for MiniLM prompt-embedding drift "
                                                            "(0: off; needs the embeddings extra)")


class QualityConfig(_Strict):
    """Model quality from labeled requests (Evidently classification preset, scipy chi-square)."""

    floors: dict[Literal["accuracy", "precision", "recall", "f1", "roc_auc"], float] = Field(
        default_factory=lambda: {"accuracy": 0.8, "f1": 0.75},
        description="a check fails when a metric (whole day or one model) falls under its floor")
    alpha: float = Field(0.01, gt=0, lt=1, description="the chi-square test of output distributions rejects below this")
    min_cramers_v: float = Field(0.05, ge=0, le=1, description="...and only when Cramér's V is at least this (0: the pure test)")
    output_columns: list[str] = Field(default_factory=lambda: ["prediction", "error_type"],
                                      description="categorical outputs tested against the reference window")
    online_accuracy_floor: float = Field(0.8, ge=0, le=1, description="the seed's online.log hourly accuracy floor")
    min_rows: int = Field(50, gt=0, description="fewer labeled rows: the metrics are skipped as `no labels`")
    sample_rows: int = Field(200_000, gt=0, description="labeled rows sampled (seeded) from each side")


class ProbeTargetConfig(_Strict):
    """Where golden-set probes are sent."""

    kind: Literal["local", "openai"] = Field("local", description="local: the embedded MiniLM intent classifier; "
                                                                  "openai: any OpenAI-compatible endpoint")
    base_url: str | None = Field(None, description="e.g. http://127.0.0.1:8000/v1 (openai kind)")
    model: str | None = Field(None, description="model name sent to the endpoint")
    api_key_env: str = Field("OPENAI_API_KEY", description="env var holding the API key (never logged)")
    timeout_s: float = Field(30.0, gt=0)
    retries: int = Field(2, ge=0, description="retries on timeouts, connection errors, 429 and 5xx")
    concurrency: int = Field(4, ge=1, description="requests in flight at once")


class ProbesConfig(_Strict):
    """Golden-set probes (assets/golden/<set>/<version>.jsonl)."""

    golden_dir: str | None = Field(None, description="default: the project's assets/golden/")
    sets: list[str] = Field(default_factory=lambda: ["support_intents"], description="probe sets to run (latest version)")
    target: ProbeTargetConfig = ProbeTargetConfig()
    alpha: float = Field(0.05, gt=0, lt=1, description="the check fails when the pass rate drops significantly at this level")
    min_similarity: float = Field(0.8, gt=0, le=1, description="default threshold of the embedding-similarity scorer")


class SeriesConfig(_Strict):
    """One monitored series (or one per `by` group) aggregated from a windows table."""

    name: str = Field(description="series name; the key is <requests|resources>.<name>{by=value,...}")
    table: Literal["request_windows", "resource_windows"]
    value: str = Field(description="SQL aggregate over the table's columns per window, e.g. sum(requests)")
    by: list[str] = Field(default_factory=list, description="one series per distinct value of these columns")
    where: str | None = Field(None, description="SQL filter on the table, e.g. device LIKE 'gpu%'")
    fill: Literal["zero", "interpolate"] = Field("interpolate", description="missing windows: 0 (counts) or interpolated")
    upper: float | None = Field(None, description="static threshold: a value above it is a critical anomaly")
    lower: float | None = Field(None, description="static threshold: a value below it is a critical anomaly")
    min_deviation: float | None = Field(None, ge=0, description="a window is anomalous only when it is at least this "
                                                                "far from its forecast (series units), whatever its z")
    models: list[Literal["seasonal_naive", "arima", "lstm", "gru"]] | None = Field(
        None, description="models compared on this series (default: forecasting.models)")


def _default_series() -> list[SeriesConfig]:
    # Per-device GPU series are many and smooth: the baseline and ARIMA cover them; the RNNs train on request series.
    gpu = {"table": "resource_windows", "by": ["host", "device"], "where": "device LIKE 'gpu%'",
           "models": ["seasonal_naive", "arima"]}
    return [
        SeriesConfig(name="count", table="request_windows", value="sum(requests)", fill="zero"),
        SeriesConfig(name="error_rate", table="request_windows", value="sum(requests * error_rate) / sum(requests)",
                     upper=0.05),
        SeriesConfig(name="latency_p95_ms", table="request_windows", value="max(latency_p95_ms)", by=["model"]),
        SeriesConfig(name="output_tokens_per_s", table="request_windows", value="sum(output_tokens_per_s)"),
        SeriesConfig(name="input_tokens", table="request_windows", value="sum(input_tokens) / sum(requests)"),
        SeriesConfig(name="gpu_mem_used_share", value="avg(gpu_mem_used_mb_mean / nullif(gpu_mem_total_mb_mean, 0))",
                     upper=0.9, min_deviation=0.02, **gpu),
        SeriesConfig(name="gpu_util_pct", value="avg(gpu_util_pct_mean)", **gpu),
    ]


class ForecastingConfig(_Strict):
    """Forecasters trained on window series, backtested, the best registered as champion; anomaly scoring."""

    window: Literal["5m", "1h"] = Field("5m", description="which windows to forecast")
    history_days: int = Field(30, ge=1, description="days of windows up to the partition used for training")
    horizon: int = Field(12, ge=1, description="steps ahead forecast and backtested")
    folds: int = Field(8, ge=1, description="rolling-origin backtest origins")
    models: list[Literal["seasonal_naive", "arima", "lstm", "gru"]] = Field(
        default_factory=lambda: ["seasonal_naive", "arima", "lstm", "gru"], description="models compared per series")
    epochs: int = Field(30, ge=1, description="max epochs of the LSTM/GRU (early stopping on a hold-out)")
    hidden: int = Field(32, ge=1, description="LSTM/GRU hidden size")
    seed: int = Field(0, description="seed of the neural models")
    z_warning: float = Field(4.0, gt=0, description="residual z-score of a warning anomaly")
    z_critical: float = Field(6.0, gt=0, description="residual z-score of a critical anomaly")
    min_windows: int = Field(2, ge=1, description="a warning anomaly needs this many anomalous windows in a row")
    debias_windows: int = Field(12, ge=0, description="residuals are scored against their median over this many "
                                                      "previous windows, so slow drift is not paged (0: off)")
    correlate_windows: int = Field(3, ge=0, description="anomalies on different series starting within this many "
                                                        "windows of each other are one incident (one alert)")
    calibration_days: int = Field(1, ge=0, description="days before the partition whose one-step residuals set the "
                                                       "robust scale of the anomaly score")
    series: list[SeriesConfig] = Field(default_factory=_default_series, description="the series to forecast")


class ScalabilityConfig(_Strict):
    """Scalability sweeps (batch size, input length, concurrency, training scale), their fits and regression alerts."""

    target: Literal["local", "lstm", "openai"] = Field("local", description="local: the embedded MiniLM encoder; lstm: the "
                                                     "forecaster's LSTM (inference and training); openai: base_url")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when torch sees a GPU, else CPU")
    threads: int | None = Field(None, ge=1, description="torch CPU threads during the sweep (default torch's; 1 is "
                                                        "steadier on a shared machine)")
    batch_sizes: list[int] = Field(default_factory=lambda: [1, 2, 4, 8, 16, 32, 64, 128, 256], description="local targets")
    lengths: list[int] = Field(default_factory=lambda: [16, 64, 128], description="input tokens (MiniLM) or steps (LSTM)")
    reference_length: int | None = Field(None, description="length of the batch-size fits and alerts; default the middle one")
    reference_batch: int = Field(32, ge=1, description="batch (or concurrency) whose throughput is compared across runs")
    concurrency: list[int] = Field(default_factory=lambda: [1, 2, 4, 8, 16], description="openai target: requests in flight")
    base_url: str | None = Field(None, description="openai target, e.g. http://127.0.0.1:8000/v1")
    model: str = Field("default", description="model name sent to the endpoint")
    api_key_env: str = Field("OPENAI_API_KEY", description="env var holding the endpoint's API key (never logged)")
    timeout_s: float = Field(30.0, gt=0, description="per request")
    requests_per_repetition: int = Field(16, ge=1, description="requests sent per repetition at each concurrency level")
    max_requests_per_level: int = Field(160, ge=1, description="bound on requests per level, warm-up included")
    max_tokens: int = Field(32, ge=1, description="completion tokens asked per request")
    lstm_hidden: int = Field(32, ge=1, description="hidden size of the LSTM inference target")
    lstm_horizon: int = Field(12, ge=1, description="forecast steps of the LSTM targets")
    train_samples: list[int] = Field(default_factory=lambda: [512, 1024, 2048, 4096],
                                     description="lstm: training windows per fit ([] skips the training sweep)")
    hidden_sizes: list[int] = Field(default_factory=lambda: [16, 32, 64], description="lstm training: hidden sizes")
    train_epochs: int = Field(2, ge=1, description="epochs per training repetition (no early stopping)")
    warmup: int = Field(2, ge=0, description="untimed repetitions before each point")
    min_repetitions: int = Field(10, ge=3, description="timed repetitions at least (local targets' p95 is over these)")
    max_repetitions: int = Field(30, ge=3, description="...and at most, until the median is stable")
    stable_tolerance: float = Field(0.02, gt=0, description="stop when one more repetition moves the median less than this")
    max_seconds_per_point: float = Field(20.0, gt=0, description="time budget of a point's repetitions")
    max_consecutive_failures: int = Field(2, ge=1, description="a target failing this many points in a row ends its sweep")
    slo_p95_ms: float = Field(500.0, gt=0, description="latency SLO: the SLO-safe batch keeps p95 under it")
    max_degree: int = Field(3, ge=1, le=5, description="highest polynomial degree tried by cross-validation")
    knee_elasticity: float = Field(0.1, gt=0, lt=1, description="the knee: where d ln(throughput)/d ln(batch) stays "
                                                                "below this (doubling adds < 7%)")
    noise_z: float = Field(3.0, gt=0, description="a throughput drop alerts beyond this many noise standard errors")
    min_drop: float = Field(0.05, ge=0, lt=1, description="...and beyond this relative drop")
    history_runs: int = Field(5, ge=2, description="successful runs whose spread estimates run-to-run noise")
    slo_shrink_tolerance: float = Field(0.1, ge=0, lt=1, description="the SLO-safe batch alerts when it shrinks beyond this")

    @field_validator("batch_sizes", "lengths", "concurrency", "train_samples", "hidden_sizes")
    @classmethod
    def _positive_sorted(cls, v: list[int]) -> list[int]:
        if any(x < 1 for x in v):
            raise ValueError(f"values must be positive integers, got {v}")
        return sorted(set(v))


class AlertingConfig(_Strict):
    """Alerts: routing, thresholds and noise control live in their own YAML (configs/alerts.yaml)."""

    config: str | None = Field(None, description="the alerts YAML; default: the project's configs/alerts.yaml "
                                                 "(a relative path is taken from the project root)")


class ResourceForecastConfig(_Strict):
    """GPU memory/utilisation forecasts per device (linear regression, random forest, gradient boosting)."""

    lookback_minutes: int = Field(120, ge=30, description="recent history each fit sees (5-minute windows; an origin "
                                                           "with data in fewer than half of them, min 6, is skipped)")
    horizon_minutes: int = Field(240, ge=5, description="how far ahead to forecast and look for a threshold crossing")
    every_minutes: int = Field(60, ge=5, description="evaluation origins through the partition (the latest is always one)")
    memory_threshold: float = Field(0.9, gt=0, le=1, description="share of GPU memory that must not be crossed")
    util_threshold_pct: float | None = Field(None, gt=0, le=100, description="GPU utilisation limit (None: forecast only)")
    critical_minutes: int = Field(60, ge=0, description="a crossing predicted this close is critical; further out "
                                                        "within the horizon, a warning")
    models: list[Literal["linear", "random_forest", "gradient_boosting"]] = Field(
        default_factory=lambda: ["linear", "random_forest", "gradient_boosting"], description="models compared")
    trend_confidence: float = Field(0.9, gt=0.5, lt=1, description="confidence of the Theil-Sen slope interval: a "
                                                                 "predicted crossing alerts only when its lower bound, "
                                                                 "over the lookback and its recent half, is above zero")


class SecurityConfig(_Strict):
    """Security control: rules over request logs (configs/rules.yaml) and redaction of PII and secrets."""

    redact: bool = Field(True, description="replace PII and secrets in prompt/completion (and quarantined lines) by "
                                           "typed placeholders like <EMAIL> before anything is stored")
    rules_file: str | None = Field(None, description="rules YAML; default: the project's configs/rules.yaml "
                                                     "(a relative path is taken from the root)")
    alert_severity: Literal["info", "warning", "critical"] = Field(
        "warning", description="findings at or above this severity go to the alert outbox (one per rule and scope value)")

    def rules_path(self, root: Path) -> Path:
        """The rules file: rules_file taken from `root` when relative, else the project's configs/rules.yaml."""
        if self.rules_file is None:
            return PROJECT_ROOT / "configs" / "rules.yaml"
        return _absolute(root, self.rules_file)

    def check_rules_file(self, root: Path) -> None:
        """A ValidationError on `security.rules_file` when the file it names is not there (PipelineConfig calls it:
        relative paths need the root, which only the pipeline config knows)."""
        if self.rules_file is None or self.rules_path(root).is_file():
            return
        hint = "" if Path(self.rules_file).expanduser().is_absolute() else f" (a relative path is taken from {root})"
        raise ValidationError.from_exception_data("PipelineConfig", [InitErrorDetails(
            type=PydanticCustomError("file_not_found", "rules file not found: {path}{hint}",
                                     {"path": str(self.rules_path(root)), "hint": hint}),
            loc=("security", "rules_file"), input=self.rules_file)])


class PartitionsConfig(_Strict):
    """Daily partitions of the asset graph."""

    start_date: dt.date = Field(dt.date(2026, 11, 1), description="first daily partition (UTC)")


class PipelineConfig(_Strict):
    """configs/pipeline.yaml."""

    data_dir: str = Field(".monitor", description="warehouse, MLflow store and artifacts (env MONITOR_DATA_DIR)")
    engine: Literal["duckdb", "spark"] = Field("duckdb", description="ingestion engine (env MONITOR_ENGINE)")
    duckdb: DuckDBConfig = DuckDBConfig()
    spark: SparkConfig = SparkConfig()
    ingest: IngestConfig = IngestConfig()
    partitions: PartitionsConfig = PartitionsConfig()
    mlflow: MlflowConfig = MlflowConfig()
    validation: ValidationConfig = ValidationConfig()
    drift: DriftConfig = DriftConfig()
    quality: QualityConfig = QualityConfig()
    probes: ProbesConfig = ProbesConfig()
    forecasting: ForecastingConfig = ForecastingConfig()
    resource_forecast: ResourceForecastConfig = ResourceForecastConfig()
    scalability: ScalabilityConfig = ScalabilityConfig()
    alerting: AlertingConfig = AlertingConfig()
    security: SecurityConfig = SecurityConfig()
    sources: list[SourceConfig] = Field(default_factory=list, description="the feeds to ingest")

    root: Path = Field(PROJECT_ROOT, exclude=True, description="base of relative paths")

    @model_validator(mode="after")
    def _files_exist(self) -> PipelineConfig:
        self.security.check_rules_file(self.root)
        return self

    def data_path(self) -> Path:
        """The data dir as an absolute path."""
        return _absolute(self.root, self.data_dir)

    def expectations_path(self) -> Path:
        """The folder of Great Expectations suites."""
        if self.validation.expectations_dir is None:
            return PROJECT_ROOT / "expectations"
        return _absolute(self.root, self.validation.expectations_dir)

    def golden_path(self) -> Path:
        """The folder of golden probe sets."""
        if self.probes.golden_dir is None:
            return PROJECT_ROOT / "assets" / "golden"
        return _absolute(self.root, self.probes.golden_dir)

    def warehouse_path(self) -> Path:
        """The DuckDB warehouse file."""
        return self.data_path() / "warehouse.duckdb"

    def findings_path(self) -> Path:
        """The SQLite store of findings (alert-worthy rows) and the alert outbox's neighbour."""
        return self.data_path() / "findings.db"

    def source_paths(self, source: SourceConfig) -> list[str]:
        """A source's paths with relative ones made absolute against the root."""
        return [p if "://" in p else str(_absolute(self.root, p)) for p in source.paths]


def _absolute(root: Path, p: str) -> Path:
    path = Path(os.path.expanduser(p))
    return path if path.is_absolute() else root / path


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> PipelineConfig:
    """Read the pipeline config (MONITOR_CONFIG or configs/pipeline.yaml) and apply the env overlays."""
    env = dict(os.environ if env is None else env)
    file = Path(path or env.get("MONITOR_CONFIG") or DEFAULT_CONFIG).resolve()
    data = read_yaml_mapping(file, "config file not found (set MONITOR_CONFIG or pass --config)")
    if env.get("MONITOR_DATA_DIR"):
        data["data_dir"] = env["MONITOR_DATA_DIR"]
    if env.get("MONITOR_ENGINE"):
        data["engine"] = env["MONITOR_ENGINE"]
    if env.get("MLFLOW_TRACKING_URI"):
        data.setdefault("mlflow", {})["tracking_uri"] = env["MLFLOW_TRACKING_URI"]
    if env.get("MONITOR_SPARK_MASTER"):
        data.setdefault("spark", {})["master"] = env["MONITOR_SPARK_MASTER"]
    # Relative paths are taken from the project root: the folder that holds configs/, else the file's folder.
    root = file.parent.parent if file.parent.name == "configs" else file.parent
    try:
        cfg = PipelineConfig(**data, root=root)
    except ValidationError as exc:
        raise ConfigError(validation_message(file, exc)) from None
    names = [s.name for s in cfg.sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{file}: key `sources`: source names must be unique, repeated: {', '.join(dupes)}")
    return cfg
