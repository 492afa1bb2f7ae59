"""How one source's files are read: field mapping, time reading and what to do with unmapped fields."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

TimeFormat = str  # auto | iso | epoch_s | epoch_ms | epoch_us | epoch_ns | a strptime pattern ("%Y/%m/%d %H:%M:%S")
EPOCH_UNITS_US = {"epoch_s": 1_000_000, "epoch_ms": 1_000, "epoch_us": 1, "epoch_ns": 0.001}
NAMED_TIME_FORMATS = ("auto", "iso", *EPOCH_UNITS_US)


@dataclass(frozen=True)
class TimeSpec:
    """How a source's time is read; every field left unset is the format's own behaviour."""

    format: TimeFormat = "auto"
    # Zone of times written without an offset (nvidia-smi, the seed logs): an IANA name. Unset, such times are
    # taken as UTC and the ingest says so in its warnings.
    timezone: str | None = None
    # Relative clocks (seconds since the trace started): the instant they count from, ISO 8601 with an offset.
    origin: str | None = None
    # Prometheus scrapes without sample timestamps: the scrape's time, an ISO instant or 'mtime' (the file's).
    scraped_at: str | None = None
    # Logs whose times carry no year (vLLM's `MM-DD HH:MM:SS`): the year they were written in. Unset, the year is
    # taken from the file's modification time and the ingest says so in its warnings.
    year: int | None = None

    @property
    def epoch_us(self) -> float | None:
        """Microseconds per unit when the format is an epoch unit."""
        return EPOCH_UNITS_US.get(self.format)

    @property
    def strptime(self) -> str | None:
        """The strptime pattern, when the format is one."""
        return self.format if "%" in self.format else None


@dataclass(frozen=True)
class ReadOptions:
    """A source's reading instructions from configs/pipeline.yaml (`fields`, `time`, `constants`, `unmapped`)."""

    # Canonical column -> CSV column name or JSON path ("response.body.usage.prompt_tokens", "choices[0].text").
    fields: tuple[tuple[str, str], ...] = ()
    time: TimeSpec = field(default_factory=TimeSpec)
    # Canonical column -> a value every row of the source gets (the column is not read from the file).
    constants: tuple[tuple[str, str], ...] = ()
    unmapped: Literal["warn", "keep", "ignore"] = "warn"
    # Top-level keys of a JSON source that no column reads, found in the file's head (kept in `extra` with `keep`).
    extra_keys: tuple[str, ...] = ()

    def field_map(self) -> dict[str, str]:
        """The mapping as a dict."""
        return dict(self.fields)


_SEGMENT = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|\[(\d+)\]|\[\'([^\']*)\'\]|([^.\["]+))\s*')


def parse_json_path(path: str) -> tuple[str | int, ...]:
    """`response.body.choices[0].text` -> ('response', 'body', 'choices', 0, 'text'); a key holding dots is quoted:
    `attributes."gen_ai.usage.input_tokens"`. A leading `$.` is allowed. Raises ValueError on a malformed path."""
    s = path.strip()
    if s.startswith("$."):
        s = s[2:]
    elif s.startswith("$"):
        s = s[1:]
    out: list[str | int] = []
    pos = 0
    while pos < len(s):
        m = _SEGMENT.match(s, pos)
        if not m or m.end() == pos:
            raise ValueError(f"malformed JSON path {path!r} at character {pos + 1}")
        quoted, index, bracketed, plain = m.groups()
        if index is not None:
            if not out:
                raise ValueError(f"malformed JSON path {path!r}: it starts with an index")
            out.append(int(index))
        else:
            out.append(
                quoted.replace('\\"', '"')
                if quoted is not None
                else bracketed
                if bracketed is not None
                else plain.strip()
            )
        pos = m.end()
        if pos < len(s):
            if s[pos] == ".":
                pos += 1
                if pos >= len(s):
                    raise ValueError(f"malformed JSON path {path!r}: it ends with a dot")
            elif s[pos] != "[":
                raise ValueError(f"malformed JSON path {path!r} at character {pos + 1}")
    if not out:
        raise ValueError("an empty JSON path")
    if any(isinstance(k, str) and ("/" in k or "'" in k) for k in out):
        raise ValueError(f"JSON path {path!r}: keys holding '/' or a single quote are not supported")
    return tuple(out)


def key_spec(segments: tuple[str | int, ...]) -> str:
    """The internal key spec of a JSON path: segments joined by '/', an array index written `[n]`."""
    return "/".join(f"[{s}]" if isinstance(s, int) else s for s in segments)
