"""The few SQL spellings that differ between DuckDB and Spark SQL; everything else is shared text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    """Renders engine-specific SQL functions; `name` is 'duckdb' or 'spark'."""

    name: str

    @property
    def is_spark(self) -> bool:
        """True for Spark SQL."""
        return self.name == "spark"

    def str_lit(self, value: str) -> str:
        """A string literal; Spark treats backslash as an escape inside literals, DuckDB does not."""
        if self.is_spark:
            value = value.replace("\\", "\\\\")
        return "'" + value.replace("'", "''") + "'"

    def isfinite(self, e: str) -> str:
        """True when a DOUBLE is neither NaN nor infinite."""
        if self.is_spark:
            return f"(NOT isnan({e}) AND abs({e}) < double('inf'))"
        return f"isfinite({e})"

    def to_double(self, e: str) -> str:
        """A string's number after trimming it, NULL when it is none.

        DuckDB's cast already skips ASCII whitespace, so it trims (a copy of the string) only when that cast fails.
        """
        if self.is_spark:
            return f"TRY_CAST(trim({e}) AS DOUBLE)"
        return f"COALESCE(TRY_CAST({e} AS DOUBLE), TRY_CAST(trim({e}) AS DOUBLE))"

    def parse_ts(self, e: str) -> str:
        """An ISO-8601-ish string to a UTC timestamp, NULL when unparseable (session time zone is UTC)."""
        if self.is_spark:
            return f"TRY_CAST({e} AS TIMESTAMP)"
        return f"TRY_CAST({e} AS TIMESTAMPTZ)"

    def parse_naive_ts(self, e: str) -> str:
        """A string without an offset to a timestamp of its wall-clock reading (to be placed in a zone)."""
        return f"TRY_CAST({e} AS TIMESTAMP)"

    def local_to_utc(self, e: str, tz: str) -> str:
        """A wall-clock timestamp read in zone `tz` as a UTC instant."""
        if self.is_spark:
            return f"to_utc_timestamp({e}, {self.str_lit(tz)})"
        return f"timezone({self.str_lit(tz)}, {e})"

    def strptime(self, e: str, pattern: str) -> str:
        """A string parsed with a strptime pattern (NULL when it does not fit); Spark gets the Java equivalent."""
        if self.is_spark:
            return f"try_to_timestamp({e}, {self.str_lit(java_datetime_pattern(pattern))})"
        return f"try_strptime({e}, {self.str_lit(pattern)})"

    def regex_search(self, e: str, pattern: str) -> str:
        """True when `pattern` matches somewhere in `e`."""
        if self.is_spark:
            return f"({e} RLIKE {self.str_lit(pattern)})"
        return f"regexp_matches({e}, {self.str_lit(pattern)})"

    def ts_type(self) -> str:
        """The timestamp type that holds UTC instants."""
        return "TIMESTAMP" if self.is_spark else "TIMESTAMPTZ"

    def ts_literal(self, iso: str) -> str:
        """A timestamp literal from an ISO string with offset."""
        return f"CAST({self.str_lit(iso)} AS {self.ts_type()})"

    def epoch_us_to_ts(self, e: str) -> str:
        """Microseconds since the epoch (BIGINT) to a timestamp."""
        if self.is_spark:
            return f"timestamp_micros({e})"
        return f"CAST(make_timestamp({e}) AS TIMESTAMPTZ)"

    def ts_to_epoch_us(self, e: str) -> str:
        """A timestamp to microseconds since the epoch."""
        return f"unix_micros({e})" if self.is_spark else f"epoch_us({e})"

    def ts_to_epoch_s(self, e: str) -> str:
        """A timestamp to whole seconds since the epoch."""
        if self.is_spark:
            return f"unix_timestamp({e})"
        return f"CAST(floor(epoch({e})) AS BIGINT)"

    def bucket(self, ts: str, seconds: int) -> str:
        """Floor a timestamp to a window of `seconds` aligned on the epoch (and so on UTC days)."""
        floored = f"(floor({self.ts_to_epoch_s(ts)} / {seconds}) * {seconds})"
        if self.is_spark:
            return f"timestamp_seconds(CAST({floored} AS BIGINT))"
        return f"to_timestamp(CAST({floored} AS BIGINT))"

    def quantile(self, e: str, q: float) -> str:
        """Exact quantile with linear interpolation (both engines compute the same value)."""
        if self.is_spark:
            return f"percentile({e}, {q})"
        return f"quantile_cont({e}, {q})"

    def quantiles(self, e: str, qs: tuple[float, ...]) -> str:
        """Exact quantiles as one list, values sorted once (pick elements with `list_get`); same as `quantile`."""
        arr = ", ".join(str(q) for q in qs)
        if self.is_spark:
            return f"percentile({e}, array({arr}))"
        return f"quantile_cont({e}, [{arr}])"

    def last_nonnull(self, e: str) -> str:
        """Window function: last non-null value so far."""
        return f"last({e}, true)" if self.is_spark else f"last_value({e} IGNORE NULLS)"

    def first_nonnull(self, e: str) -> str:
        """Window function: first non-null value in the frame."""
        return f"first({e}, true)" if self.is_spark else f"first_value({e} IGNORE NULLS)"

    def regex_full(self, e: str, pattern: str) -> str:
        """True when the whole string matches `pattern`."""
        if self.is_spark:
            return f"({e} RLIKE {self.str_lit('^(?:' + pattern + ')$')})"
        return f"regexp_full_match({e}, {self.str_lit(pattern)})"

    def regex_group(self, e: str, pattern: str, group: int) -> str:
        """Group `group` of the first match of `pattern` ('' when there is none)."""
        return f"regexp_extract({e}, {self.str_lit(pattern)}, {group})"

    def split_count(self, e: str, sep: str) -> str:
        """How many fields `e` splits into at `sep`."""
        if self.is_spark:
            return f"size(split({e}, {self.str_lit(_regex_escape(sep))}))"
        return f"len(string_split({e}, {self.str_lit(sep)}))"

    def split_part(self, e: str, sep: str, index: int) -> str:
        """Field `index` (1-based) of `e` split at `sep`."""
        return f"split_part({e}, {self.str_lit(sep)}, {index})"

    def json_is_object(self, e: str) -> str:
        """True when `e` is one valid JSON object."""
        if self.is_spark:
            return f"(ltrim({e}) LIKE '{{%' AND get_json_object({e}, '$') IS NOT NULL)"
        return f"(json_valid({e}) AND json_type({e}) = 'OBJECT')"

    def json_path(self, key: str) -> str:
        """A JSON path for a key spec where '/' descends, `[n]` indexes an array and dots belong to the key."""
        parts = key.split("/")
        out = "$"
        for p in parts:
            if p.startswith("[") and p.endswith("]") and p[1:-1].isdigit():
                out += p
            elif self.is_spark:
                out += f"['{p}']"
            else:
                out += '."' + p.replace('"', '\\"') + '"'
        return out

    def json_get_many(self, e: str, keys: list[str]) -> str:
        """All `keys` of JSON text `e` as a list of strings (parsed once where the engine can)."""
        if self.is_spark:
            return "array(" + ", ".join(f"get_json_object({e}, {self.str_lit(self.json_path(k))})" for k in keys) + ")"
        paths = ", ".join(self.str_lit(self.json_path(k)) for k in keys)
        return f"json_extract_string({e}, [{paths}])"

    def row_json(self, exprs: list[str], names: list[str]) -> str:
        """A JSON object text of named values (for showing a row that has no raw line kept)."""
        pairs = list(zip(exprs, names, strict=True))
        if self.is_spark:
            return "to_json(named_struct(" + ", ".join(f"'{n}', {e}" for e, n in pairs) + "))"
        return "CAST(to_json(struct_pack(" + ", ".join(f'"{n}" := {e}' for e, n in pairs) + ")) AS VARCHAR)"

    def list_get(self, e: str, index0: int) -> str:
        """Element `index0` (0-based) of a list."""
        return f"{e}[{index0}]" if self.is_spark else f"{e}[{index0 + 1}]"


_JAVA = {
    "%Y": "yyyy",
    "%y": "yy",
    "%m": "MM",
    "%d": "dd",
    "%H": "HH",
    "%I": "hh",
    "%M": "mm",
    "%S": "ss",
    "%f": "SSSSSS",
    "%p": "a",
    "%b": "MMM",
    "%B": "MMMM",
    "%a": "EEE",
    "%A": "EEEE",
    "%z": "XX",
    "%Z": "z",
    "%j": "DDD",
    "%%": "%",
}


def java_datetime_pattern(pattern: str) -> str:
    """A strptime pattern as a Java DateTimeFormatter pattern (literal text quoted); unknown directives raise."""
    out: list[str] = []
    lit: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "%":
            code = pattern[i : i + 2]
            if code not in _JAVA:
                raise ValueError(f"strptime directive {code!r} has no Spark equivalent; use one of {', '.join(_JAVA)}")
            if lit:
                out.append("'" + "".join(lit).replace("'", "''") + "'")
                lit = []
            out.append(_JAVA[code])
            i += 2
        else:
            lit.append(pattern[i])
            i += 1
    if lit:
        out.append("'" + "".join(lit).replace("'", "''") + "'")
    return "".join(out)


def _regex_escape(sep: str) -> str:
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in sep)


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")
