"""What a format sniff sees of a file (`Head`), what it says (`Verdict`), and the registry every sniff joins."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from monitor_pipeline.ingest.formats.options import ReadOptions

ACCEPT = 0.8
SAMPLE_LINES = 200


@dataclass
class Head:
    """The first lines of a file, decoded, with what detection needs computed once."""

    path: str
    name: str
    raw: bytes
    options: ReadOptions = field(default_factory=ReadOptions)

    @cached_property
    def lines(self) -> list[str]:
        """Up to SAMPLE_LINES non-blank lines that are valid UTF-8 (a line cut at the end of the head is dropped)."""
        parts = self.raw.split(b"\n")
        if len(self.raw) >= (64 << 10) and len(parts) > 1:
            parts = parts[:-1]
        out = []
        for p in parts:
            try:
                t = p.rstrip(b"\r").decode("utf-8")
            except UnicodeDecodeError:
                continue
            if t.strip():
                out.append(t)
            if len(out) >= SAMPLE_LINES:
                break
        return out

    @cached_property
    def undecodable(self) -> float:
        """The share of the head's characters that are not text: invalid UTF-8 or control characters (NUL, ...).

        Measured on characters, not lines: a log with a few corrupt bytes is text with bad lines (quarantined one by
        one); random or compressed bytes are mostly not text at all.
        """
        text = self.raw.decode("utf-8", errors="replace")
        if not text:
            return 0.0
        bad = sum(1 for c in text if c == "\ufffd" or (ord(c) < 32 and c not in "\t\n\r\f\v"))
        return bad / len(text)

    @cached_property
    def objects(self) -> list[dict | None]:
        """Each sample line parsed as a JSON object (None when it is not one)."""
        out: list[dict | None] = []
        for t in self.lines:
            try:
                v = json.loads(t)
            except ValueError:
                v = None
            out.append(v if isinstance(v, dict) else None)
        return out

    @property
    def dicts(self) -> list[dict]:
        """The sample lines that are JSON objects."""
        return [o for o in self.objects if o is not None]


@dataclass(frozen=True)
class Verdict:
    """One format's opinion of a file."""

    name: str
    score: float
    why: str = ""
    problem: str | None = None  # the file is of this format but cannot be read right without more configuration
    warnings: tuple[str, ...] = ()
    extra_keys: tuple[str, ...] = ()
    unmapped: bool = False  # shaped like the format, but its fields do not map (refused even when named)


Sniffer = Callable[[Head], Verdict]
SNIFFERS: dict[str, Sniffer] = {}


def sniffer(name: str) -> Callable[[Sniffer], Sniffer]:
    """Register a format's sniff."""

    def wrap(fn: Sniffer) -> Sniffer:
        SNIFFERS[name] = fn
        return fn

    return wrap
