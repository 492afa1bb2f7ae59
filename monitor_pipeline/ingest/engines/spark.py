"""The scale-out engine: Spark reads numbered lines from any Hadoop path and runs the same shared SQL.

Output is Parquet under `output/<table>/partition_date=D/source_id=S/`; re-ingesting a (source, day)
slice deletes that slice's directories first and appends, so a re-run never duplicates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from monitor_pipeline.errors import InputError
from monitor_pipeline.ingest.engines.base import IngestRequest, IngestResult, SourceFile
from monitor_pipeline.ingest.engines.common import check_line_count, line_skip_sql, naive_time_warning, typing_options
from monitor_pipeline.ingest.engines.dialect import SPARK as S
from monitor_pipeline.ingest.engines.redaction import redact_spark
from monitor_pipeline.ingest.engines.sql import (
    final_sql,
    fixes_sql,
    request_windows_sql,
    resource_rows_sql,
    resource_windows_sql,
    typed_sql,
)
from monitor_pipeline.ingest.formats.base import LineFormat
from monitor_pipeline.ingest.formats.files import readable, scan
from monitor_pipeline.ingest.request import is_remote
from monitor_pipeline.ingest.serving import windows as serving_windows
from monitor_pipeline.warehouse.schema import TABLES, TableSchema

SPARK_TYPES = {"timestamp": T.TimestampType(), "string": T.StringType(), "int": T.LongType(), "double": T.DoubleType()}
QUARANTINE_COLS = ("table_name", "source", "source_file", "line_no", "reason", "field", "detail", "raw")
SKIPPED_COLS = ("table_name", "source", "source_file", "line_no", "reason", "raw")


def source_id(source: str) -> str:
    """A path-safe partition value for a source name (names may hold slashes: CLI sources are paths)."""
    return hashlib.sha1(source.encode()).hexdigest()[:16]


def table_schema(schema: TableSchema) -> T.StructType:
    """The Spark schema of a canonical table with its lineage columns (partition columns excluded)."""
    fields = [T.StructField(c.name, SPARK_TYPES[c.type]) for c in schema.columns]
    fields += [
        T.StructField("source", T.StringType()),
        T.StructField("source_file", T.StringType()),
        T.StructField("source_line", T.LongType()),
        T.StructField("ingested_at", T.TimestampType()),
    ]
    return T.StructType(fields)


class SparkEngine:
    """Ingests with a SparkSession into Parquet tables under `output` (a local path or a Hadoop URI)."""

    def __init__(self, spark: SparkSession, output: str) -> None:
        self.spark, self.output = spark, output.rstrip("/")
        self._jvm: Any = spark.sparkContext._jvm
        self._hconf = spark.sparkContext._jsc.hadoopConfiguration()

    # --- Hadoop filesystem helpers (work for file://, hdfs://, s3a://) ---
    def _path(self, p: str):
        return self._jvm.org.apache.hadoop.fs.Path(p)

    def _fs(self, p: str):
        return self._path(p).getFileSystem(self._hconf)

    def _exists(self, p: str) -> bool:
        return bool(self._fs(p).exists(self._path(p)))

    def _delete(self, p: str) -> None:
        if self._exists(p):
            self._fs(p).delete(self._path(p), True)

    def _ends_with_newline(self, p: str) -> bool:
        fs, path = self._fs(p), self._path(p)
        length = fs.getFileStatus(path).getLen()
        if length == 0:
            return True
        stream = fs.open(path)
        try:
            stream.seek(length - 1)
            return stream.read() == 10
        finally:
            stream.close()

    def read_table(self, name: str) -> DataFrame:
        """A stored table as a DataFrame (empty with the right columns when nothing was written yet)."""
        path = f"{self.output}/{name}"
        if self._exists(path):
            try:
                return self.spark.read.option("basePath", path).parquet(path)
            except AnalysisException as exc:
                # A table whose every partition was replaced away (a rerun of its only day): nothing to read.
                if "UNABLE_TO_INFER_SCHEMA" not in str(exc):
                    raise
        return self.spark.createDataFrame([], T.StructType([T.StructField("partition_date", T.DateType())]))

    def _lines(self, f: SourceFile, path: str) -> tuple[DataFrame, int]:
        """(source_file, line_no, skip, line_bytes, last_no_newline, text, bad_raw) of one file, numbered on the JVM
        side, and its line count."""
        assert isinstance(f.fmt, LineFormat)
        df = self.spark.read.option("lineSep", "\n").text(path)
        df = df.withColumn("mid", F.monotonically_increasing_id()).withColumn("pid", F.spark_partition_id())
        # Line numbers: rows keep file order within and across the text splits; offset each split by the
        # sizes of the splits before it (what zipWithIndex does, without a Python round trip).
        counts = sorted((r["pid"], r["count"]) for r in df.groupBy("pid").count().collect())
        offsets, total = [], 0
        for pid, n in counts:
            offsets.append((pid, total))
            total += n
        off = self.spark.createDataFrame(offsets or [(0, 0)], "pid INT, off BIGINT")
        df = df.join(F.broadcast(off), "pid").withColumn(
            "line_no", F.col("mid") - F.shiftleft(F.col("pid").cast("long"), 33) + F.col("off") + 1
        )
        no_nl = not self._ends_with_newline(path)
        t0 = F.regexp_replace("value", "\r$", "")
        # Spark decodes invalid UTF-8 as U+FFFD; a local file's lines holding one are checked against their bytes.
        t0 = F.when(F.col("line_no") == 1, F.regexp_replace(t0, "^\ufeff", "")).otherwise(t0)
        df = df.select(
            F.lit(f.label).alias("source_file"),
            "line_no",
            F.octet_length(t0).cast("long").alias("line_bytes"),
            ((F.col("line_no") == total) & F.lit(no_nl)).alias("last_no_newline"),
            t0.alias("text"),
        )
        bad = self._invalid_lines(df, path)
        if bad is not None:
            df = df.join(F.broadcast(bad), "line_no", "left").select(
                "source_file",
                "line_no",
                "line_bytes",
                "last_no_newline",
                F.when(F.col("bad_raw").isNull(), F.col("text")).alias("text"),
                "bad_raw",
            )
        else:
            df = df.withColumn("bad_raw", F.lit(None).cast("string"))
        df.createOrReplaceTempView("lines_raw")
        return self.spark.sql(
            f"SELECT source_file, line_no, {line_skip_sql(S, f.fmt)} AS skip, line_bytes, "
            f"last_no_newline, text, bad_raw FROM lines_raw"
        ), total

    def _invalid_lines(self, df: DataFrame, path: str) -> DataFrame | None:
        """(line_no, bad_raw) of the lines of a local file that are not valid UTF-8 (Spark shows them with U+FFFD)."""
        if is_remote(path):
            return None
        suspects = sorted(r["line_no"] for r in df.filter(F.instr("text", "\ufffd") > 0).select("line_no").collect())
        if not suspects:
            return None
        from monitor_pipeline.ingest.lines import iter_lines

        wanted, bad = set(suspects), []
        for line in iter_lines(path):
            if line.line_no in wanted and line.text is None:
                bad.append((line.line_no, line.bad_raw))
        if not bad:
            return None
        return self.spark.createDataFrame(bad, "line_no BIGINT, bad_raw STRING")

    def _stage(self, f: SourceFile, path: str, view: str) -> tuple[str, int]:
        """Register the stage relation of one file as `view`; return its SQL and its rows (one per line)."""
        if isinstance(f.fmt, LineFormat):
            lines, total = self._lines(f, path)
            lines.createOrReplaceTempView(f"{view}_lines")
            return f.fmt.stage_sql(S, f"{view}_lines"), total
        if is_remote(path):
            raise InputError(f"{f.path}: format {f.fmt.name} is parsed on the driver; give a local path")
        tables = list(f.fmt.stages(Path(path), f.label))
        arrow = pa.concat_tables(tables) if tables else None
        if arrow is None or arrow.num_rows == 0:
            return "", 0
        self.spark.createDataFrame(arrow.to_pandas()).createOrReplaceTempView(f"{view}_py")
        return f"SELECT * FROM {view}_py", arrow.num_rows

    def ingest(self, request: IngestRequest) -> IngestResult:
        """Parse, type, dedupe and store every file of `request`; replace the (source, day) slices it covers."""
        by_table: dict[str, list[SourceFile]] = defaultdict(list)
        for f in request.files:
            by_table[f.fmt.table].append(f)
        result = IngestResult(warnings=list(request.warnings))
        days: set[dt.date] = set()
        for table, files in by_table.items():
            days |= self._ingest_table(TABLES[table], files, request, result)
        self._windows(days, result)
        result.days = [d.isoformat() for d in days]
        return result

    def _ingest_table(
        self, schema: TableSchema, files: list[SourceFile], request: IngestRequest, result: IngestResult
    ) -> set[dt.date]:
        typed: DataFrame | None = None
        for i, f in enumerate(files):
            if is_remote(f.path):
                stage, rows = self._stage(f, f.path, f"f{i}")
                lines = rows  # a remote file is counted by the same read that numbers its lines
            else:
                with readable(f.path, result.warnings) as path:
                    facts = scan(path)
                    stage, rows = self._stage(f, path, f"f{i}")
                    check_line_count(f.label, facts, rows)
                    lines = facts.lines
                    if stage:  # Spark reads lazily: pin this file's rows before its temp copy is gone
                        part = self.spark.sql(typed_sql(S, schema, stage, typing_options(request, f))).persist()
                        part.count()
                        typed = part if typed is None else typed.unionByName(part)
                        stage = ""
            result.add_file(f.label, f.fmt.name, lines)
            if stage:
                part = self.spark.sql(typed_sql(S, schema, stage, typing_options(request, f)))
                typed = part if typed is None else typed.unionByName(part)
        if typed is None:
            return set()
        typed = typed.persist()
        if request.redact:  # before duplicates copy typed values into quarantine, and before anything is written
            redacted, changed = redact_spark(typed, schema.names())
            if changed:
                redacted = redacted.persist()
                redacted.count()
                typed.unpersist()
                typed = redacted
            result.redacted += changed
        typed.createOrReplaceTempView("typed")
        gaps = typed.filter("anchor_day IS NULL").limit(1).count() > 0
        fallback = (request.partition or request.now.date()).isoformat()
        self.spark.sql(fixes_sql(S, schema, "typed", fallback, gaps)).createOrReplaceTempView("fixes")
        sources = {f.label: f.source for f in files}
        src = self.spark.createDataFrame(
            [(k, v, source_id(v)) for k, v in sources.items()], "source_file STRING, source STRING, source_id STRING"
        )
        final = self.spark.sql(final_sql(S, schema, "typed", "fixes")).join(F.broadcast(src), "source_file")
        other = 0
        if request.partition is not None:
            other = final.filter(F.col("partition_date") != F.lit(request.partition)).count()
            final = final.filter(F.col("partition_date") == F.lit(request.partition))
            slices = [(s, request.partition) for s in set(sources.values())]
        else:
            slices = [
                (r["source"], r["partition_date"])
                for r in final.select("source", "partition_date").distinct().collect()
            ]
        final = final.persist()
        # Times read without an offset, per file, among the rows this run keeps (as the DuckDB engine counts them).
        for r in (
            final.filter("ts_naive AND reason IS NULL").groupBy("source_file").count().orderBy("source_file").collect()
        ):
            result.warn(naive_time_warning(r["source_file"], r["count"]))
        now = F.lit(request.now.astimezone(dt.UTC).replace(tzinfo=None)).cast("timestamp")
        for s, day in slices:
            for name in (
                schema.name,
                f"quarantine/table_name={schema.name}",
                f"skipped_lines/table_name={schema.name}",
            ):
                self._delete(f"{self.output}/{name}/partition_date={day.isoformat()}/source_id={source_id(s)}")
        clean = final.filter("reason IS NULL AND skip IS NULL").select(
            *schema.names(),
            "source",
            "source_file",
            F.col("line_no").alias("source_line"),
            now.alias("ingested_at"),
            "partition_date",
            "source_id",
        )
        clean.write.mode("append").partitionBy("partition_date", "source_id").parquet(f"{self.output}/{schema.name}")
        bad = final.filter("reason IS NOT NULL").select(
            F.lit(schema.name).alias("table_name"),
            *QUARANTINE_COLS[1:],
            now.alias("ingested_at"),
            "partition_date",
            "source_id",
        )
        bad.write.mode("append").partitionBy("table_name", "partition_date", "source_id").parquet(
            f"{self.output}/quarantine"
        )
        skipped = final.filter("skip IS NOT NULL").select(
            F.lit(schema.name).alias("table_name"),
            "source",
            "source_file",
            "line_no",
            F.col("skip").alias("reason"),
            "raw",
            now.alias("ingested_at"),
            "partition_date",
            "source_id",
        )
        skipped.write.mode("append").partitionBy("table_name", "partition_date", "source_id").parquet(
            f"{self.output}/skipped_lines"
        )
        counts = {
            r["r"]: r["n"]
            for r in final.filter("skip IS NULL")
            .groupBy(F.coalesce("reason", F.lit("")).alias("r"))
            .agg(F.count(F.lit(1)).alias("n"))
            .collect()
        }
        skips = {
            r["skip"]: r["n"]
            for r in final.filter("skip IS NOT NULL").groupBy("skip").agg(F.count(F.lit(1)).alias("n")).collect()
        }
        final.unpersist()
        typed.unpersist()
        clean_n = counts.pop("", 0)
        result.add_table(schema.name, clean_n, sum(counts.values()), sum(skips.values()), other, counts, skips)
        return {d for _, d in slices}

    def _view(self, name: str, days: list[str]) -> str:
        df = self.read_table(name)
        if "source" not in df.columns:  # nothing stored yet: an empty frame with the canonical columns
            df = self.spark.createDataFrame([], table_schema(TABLES[name])).withColumn(
                "partition_date", F.lit(None).cast("date")
            )
        df.filter(F.col("partition_date").cast("string").isin(days)).createOrReplaceTempView(f"w_{name}")
        return f"w_{name}"

    def _windows(self, days: set[dt.date], result: IngestResult) -> None:
        """Recompute the windows of every day this batch touched."""
        if not days:
            return
        ds = sorted(d.isoformat() for d in days)
        req, onl = self._view("requests", ds), self._view("online_log", ds)
        res, gau = self._view("resources", ds), self._view("gauges", ds)
        for table, sql in (
            ("request_windows", request_windows_sql(S, req, onl)),
            ("resource_windows", resource_windows_sql(S, f"({resource_rows_sql(S, res, gau)})")),
        ):
            for d in ds:
                self._delete(f"{self.output}/{table}/partition_date={d}")
            out = self.spark.sql(sql).persist()
            out.write.mode("append").partitionBy("partition_date").parquet(f"{self.output}/{table}")
            n = {
                r["window_size"]: r["n"] for r in out.groupBy("window_size").agg(F.count(F.lit(1)).alias("n")).collect()
            }
            out.unpersist()
            if table == "request_windows":
                result.windows_5m, result.windows_1h = n.get("5m", 0), n.get("1h", 0)
            else:
                result.resource_windows_5m, result.resource_windows_1h = n.get("5m", 0), n.get("1h", 0)
        self._engine_windows(gau, self._view("engine_log", ds), ds, result)

    def _engine_windows(self, gauges_view: str, log_view: str, days: list[str], result: IngestResult) -> None:
        """The serving engines' windows of `days`: their gauges are few next to requests, so they are collected
        and summarised by the same pandas code as the DuckDB engine's (counter resets, histogram quantiles)."""
        for d in days:
            self._delete(f"{self.output}/engine_windows/partition_date={d}")
        pdf = self.spark.sql(
            f"SELECT timestamp, metric, labels, value, source, partition_date FROM {gauges_view} "
            f"WHERE {serving_windows.metric_filter_sql()}"
        ).toPandas()
        log = self.spark.sql(f"SELECT * FROM {log_view}").drop("source_file", "source_line", "ingested_at").toPandas()
        rows = serving_windows.engine_windows(pdf, log)
        if len(rows):
            rows["window_start"] = rows["window_start"].dt.tz_convert("UTC").dt.tz_localize(None)
            self.spark.createDataFrame(rows).withColumn(
                "partition_date", F.col("partition_date").cast("date")
            ).write.mode("append").partitionBy("partition_date").parquet(f"{self.output}/engine_windows")
        n = rows["window_size"].value_counts().to_dict() if len(rows) else {}
        result.engine_windows_5m, result.engine_windows_1h = n.get("5m", 0), n.get("1h", 0)
