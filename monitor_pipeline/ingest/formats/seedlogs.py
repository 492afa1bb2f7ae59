"""The seed project's whitespace-separated logs: online.log and offline.log."""

from __future__ import annotations

from monitor_pipeline.ingest.engines.dialect import Dialect
from monitor_pipeline.ingest.formats.base import LineFormat

# <date> <time> <a> <b>; the date may use '-' or '/', the time may carry a fraction ('.' or ',').
LINE = r"\s*(\d{4}[-/]\d{1,2}[-/]\d{1,2})[ T]+(\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?)\s+(\S+)\s+(\S+)\s*"


def _seed(name: str, table: str, a: str, b: str, description: str) -> LineFormat:
    def fields(d: Dialect) -> tuple[str, dict[str, str]]:
        g = lambda i: d.regex_group("text", LINE, i)  # noqa: E731
        error = (
            f"CASE WHEN NOT {d.regex_full('text', LINE)} THEN "
            f"{d.str_lit('expected 4 whitespace-separated fields: <date> <time> <' + a + '> <' + b + '>')} END"
        )
        ts = f"replace({g(1)}, '/', '-') || ' ' || replace({g(2)}, ',', '.')"
        return error, {"timestamp": ts, a: g(3), b: g(4)}

    return LineFormat(name=name, table=table, description=description, fields=fields)


ONLINE_LOG = _seed(
    "online_log",
    "online_log",
    "request_num",
    "accuracy",
    "the seed's online.log: <date> <time> <request_num> <accuracy>",
)
OFFLINE_LOG = _seed(
    "offline_log",
    "offline_log",
    "batch_size",
    "train_sample_num",
    "the seed's offline.log: <date> <time> <batch_size> <train_sample_num>",
)
