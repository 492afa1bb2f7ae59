"""Numbers as an on-call reader wants them: `28,190 ms`, `13.6 %`, `0.0042`, never `2.819e+04`.

Every alert message (Slack blocks, the summary line, the local console) formats its values through `number`, with the
unit `unit_of` reads from the alert (its `detail.unit`, else the metric name in its key).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Unit:
    """How to show a metric: multiply by `scale`, then append `suffix` (`%` values get one decimal)."""

    suffix: str = ""
    scale: float = 1.0


NONE = Unit()
MS = Unit("ms")
PERCENT = Unit("%")  # the value is already in percent (gpu_util_pct)
SHARE = Unit("%", 100.0)  # a share of a whole (error_rate 0.136 -> 13.6 %)

# First match wins; matched against `<rule>:<entity>` in lower case. Shares of a whole are stored as 0..1 fractions.
_RULES: list[tuple[re.Pattern[str], Unit]] = [
    (re.compile(r"_pct\b|_pct[^a-z]|gpu_util\b"), PERCENT),
    (
        re.compile(r"error_rate|_share\b|drift_share|kv_cache_usage|gpu_memory\b|accuracy|precision|recall|\bf1\b"),
        SHARE,
    ),
    (re.compile(r"latency|ttft|_ms\b|_ms[^a-z]"), MS),
    (re.compile(r"tokens_per_s|_per_s\b"), Unit("/s")),
]
_NAMED = {
    "ms": MS,
    "milliseconds": MS,
    "s": Unit("s"),
    "seconds": Unit("s"),
    "minutes": Unit("min"),
    "min": Unit("min"),
    "percent": PERCENT,
    "%": PERCENT,
    "share": SHARE,
    "fraction": SHARE,
}


def unit_of(key: str, detail_unit: object = None) -> Unit:
    """The unit of an alert's values: `detail.unit` when the producer gave one, else read from the metric in `key`."""
    if isinstance(detail_unit, str) and detail_unit.strip():
        return _NAMED.get(detail_unit.strip().lower(), Unit(detail_unit.strip()))
    low = key.lower()
    return next((u for pattern, u in _RULES if pattern.search(low)), NONE)


def number(value: float | int | None, unit: Unit = NONE) -> str:
    """`value` for a person: thousands separators, the unit, one decimal for %, no exponent for ordinary magnitudes."""
    if value is None:
        return "n/a"
    v = float(value) * unit.scale
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        text = "∞" if v > 0 else "-∞"
    elif unit.suffix == "%" and (v == 0 or 0.1 <= abs(v) < 1e15):
        text = _fixed(v, 1)
    else:
        text = _plain(v)
    if not unit.suffix:
        return text
    return f"{text}{unit.suffix}" if unit.suffix.startswith("/") else f"{text} {unit.suffix}"


def _plain(v: float) -> str:
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1e15 or a < 1e-4:
        # Outside ordinary magnitudes a power of ten is the readable form; written as people do, not as `e+18`.
        mantissa, exp = f"{v:.2e}".split("e")
        return f"{_trim(mantissa)} × 10{str(int(exp)).translate(_SUPERSCRIPT)}"
    if a >= 100 or v.is_integer():
        return _fixed(v, 0)
    if a >= 10:
        return _trim(_fixed(v, 1))
    if a >= 1:
        return _trim(_fixed(v, 2))
    return _trim(_fixed(v, max(3, 2 - math.floor(math.log10(a)))))  # 3 significant digits below 1


def _fixed(v: float, places: int) -> str:
    # Half away from zero on the shortest decimal form (1234.5 -> 1,235; 97.25 -> 97.3), as a person rounds;
    # float formatting would round half to even on the binary value.
    d = Decimal(repr(v)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{d:,.{places}f}"


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text
