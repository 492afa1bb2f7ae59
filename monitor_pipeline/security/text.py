"""Vectorised text detectors: prompt injection and jailbreak indicators, PII and secrets.

Each detector is one RE2 pass over an Arrow string array (pyarrow compute); only the rows a pattern hit go through
Python, to validate checksums (Luhn, mod-97, ...) or decode an encoded payload. Typed placeholders left by redaction
(`<EMAIL>`) count as detections of their type, so rules still see PII in text that was redacted at ingestion.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from monitor_pipeline.security.patterns import DECODE_ASK, INJECTION, PATTERNS, TRIGGERS

INJECTION_KINDS = tuple(INJECTION)
_PHRASES = "|".join(INJECTION[k] for k in ("override", "exfiltration", "jailbreak", "roleplay", "template_token"))


@dataclass(frozen=True)
class Hits:
    """Rows (indices into the scanned array) where a detector fired, and how many matches each had."""

    detector: str
    rows: np.ndarray
    counts: np.ndarray


def as_strings(texts: pa.Array | pa.ChunkedArray | Iterable[str | None]) -> pa.Array:
    """An Arrow large-string array of `texts` (one chunk)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks else pa.array([], pa.large_string())
    if not isinstance(texts, pa.Array):
        texts = pa.array(list(texts), pa.large_string())
    return texts.cast(pa.large_string())


def _mask(texts: pa.Array, regex: str) -> np.ndarray:
    return pc.fill_null(pc.match_substring_regex(texts, regex), False).to_numpy(zero_copy_only=False)


def candidates(texts: pa.Array, regex: str) -> np.ndarray:
    """Indices of rows where `regex` matches somewhere."""
    return np.flatnonzero(_mask(texts, regex))


def pii_hits(texts: pa.Array, types: Iterable[str], count_placeholders: bool = True) -> list[Hits]:
    """For each PII/secret type: the rows holding a validated match (or its placeholder) and the match counts."""
    out = []
    for name in types:
        p = PATTERNS[name]
        counts = np.zeros(len(texts), dtype=np.int64)
        rows = candidates(texts, p.regex)
        if len(rows):
            if p.validate is None:
                counts[rows] = pc.count_substring_regex(texts.take(rows), p.regex).to_numpy(zero_copy_only=False)
            else:
                rx = p.compiled
                counts[rows] = [sum(1 for m in rx.finditer(v) if p.accept(m)) for v in texts.take(rows).to_pylist()]
        if count_placeholders:
            marked = candidates(texts, re.escape(p.placeholder))
            if len(marked):
                counts[marked] += pc.count_substring(texts.take(marked), p.placeholder).to_numpy(zero_copy_only=False)
        hit = np.flatnonzero(counts)
        out.append(Hits(name, hit, counts[hit]))
    return out


def _printable_share(data: bytes) -> tuple[str, float]:
    text = data.decode("utf-8", errors="replace")
    good = sum(1 for c in text if c.isprintable() or c in "\n\t\r")
    return text, good / max(1, len(text))


def decode_payload(token: str) -> str | None:
    """The text a base64 / hex / \\x-escaped token decodes to, when it is mostly printable; else None."""
    token = token.strip()
    raw: bytes | None = None
    try:
        if token.startswith("\\x"):
            raw = bytes.fromhex(token.replace("\\x", ""))
        elif re.fullmatch(r"(?:[0-9a-fA-F]{2})+", token):
            raw = bytes.fromhex(token)
        else:
            raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=False)
    except (ValueError, binascii.Error):
        return None
    text, share = _printable_share(raw)
    return text if len(text) >= 16 and share >= 0.9 else None


def _encoded_ok(text: str) -> bool:
    """An encoded token that decodes to an instruction, or decoded text the prompt asks to follow."""
    asked = re.search(DECODE_ASK, text) is not None
    for m in re.finditer(INJECTION["encoded_payload"], text):
        decoded = decode_payload(m.group())
        if decoded and (asked or re.search(_PHRASES, decoded)):
            return True
    return False


def injection_hits(texts: pa.Array, kinds: Iterable[str]) -> list[Hits]:
    """For each injection/jailbreak indicator: the rows it fired on (count 1 a row)."""
    out = []
    for kind in kinds:
        rows = candidates(texts, INJECTION[kind])
        if kind == "encoded_payload" and len(rows):
            keep = [_encoded_ok(v) for v in texts.take(rows).to_pylist()]
            rows = rows[np.array(keep, dtype=bool)]
        out.append(Hits(kind, rows, np.ones(len(rows), dtype=np.int64)))
    return out


def first_match(text: str | None, regex: str) -> tuple[int, int] | None:
    """The span of the first match of `regex` in `text` (for evidence snippets)."""
    if not text:
        return None
    m = re.search(regex, text)
    return (m.start(), m.end()) if m else None


def union_regex(pii_types: Iterable[str] = (), injection_kinds: Iterable[str] = (), placeholders: bool = True) -> str:
    """A regex that matches wherever any of the given detectors could (a union of their triggers): the pre-filter."""
    parts = [TRIGGERS[t] for t in pii_types] + [TRIGGERS[k] for k in injection_kinds]
    if placeholders:
        parts += [re.escape(PATTERNS[t].placeholder) for t in pii_types]
    return "|".join(f"(?:{p})" for p in dict.fromkeys(parts)) or "[^\\s\\S]"
