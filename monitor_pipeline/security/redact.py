"""Redaction: PII and secrets replaced by typed placeholders (`<EMAIL>`, `<CREDIT_CARD>`, `<API_KEY>`, ...).

Vectorised over Arrow string arrays: one RE2 pass finds the rows that need work; unvalidated types are replaced
with pyarrow's RE2 replace, and only the rows holding a checksum candidate (cards, IBANs, IDs) go through Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from monitor_pipeline.security.patterns import PATTERNS, Pattern
from monitor_pipeline.security.text import as_strings, candidates, union_regex

ALL_TYPES = tuple(PATTERNS)
_ANY = union_regex(ALL_TYPES, placeholders=False)


def redact_text(text: str | None, types: Iterable[str] = ALL_TYPES) -> str | None:
    """One string with every PII/secret match replaced by its placeholder (NULL stays NULL)."""
    if text is None:
        return None
    for name in types:
        p = PATTERNS[name]
        if p.validate is None:
            text = p.compiled.sub(p.placeholder, text)
        else:
            text = p.compiled.sub(_replacer(p, lambda m: True), text)
    return text


def _replacer(p: Pattern, where: Callable[[re.Match], bool]) -> Callable[[re.Match], str]:
    """The substitution for pattern `p`: its placeholder where the match is a real one and `where` holds it."""

    def replace(m: re.Match) -> str:
        return p.placeholder if where(m) and p.accept(m) else m.group()

    return replace


def redact_raw(text: str | None, types: Iterable[str] = ALL_TYPES) -> str | None:
    """A raw input line redacted where text is: inside JSON string values for a JSON line, else the whole line
    (numbers are safe either way: a match inside a longer number is never PII)."""
    if text is None:
        return None
    if not text.lstrip().startswith(("{", "[")):
        return redact_text(text, types)
    for name in types:  # the line is searched whole, once a type; only the (rare) lines with a match are re-read
        p = PATTERNS[name]
        if p.compiled.search(text):
            text = p.compiled.sub(_replacer(p, _in_string), text)
    return text


_QUOTE_OR_ESCAPE = re.compile(r'\\.|"')


def _in_string(m: re.Match) -> bool:
    """Whether a match lies inside one JSON string value: an odd number of unescaped quotes before it and none in it
    (quotes counted, not parsed; a line with backslashes is read escape by escape)."""
    text, a, b = m.string, m.start(), m.end()
    head = text[:a]
    if "\\" in head:
        opened = sum(1 for q in _QUOTE_OR_ESCAPE.finditer(head) if q.group() == '"')
    else:
        opened = head.count('"')
    return opened % 2 == 1 and '"' not in text[a:b]


def redact_raw_array(texts: pa.Array | pa.ChunkedArray | Iterable[str | None]) -> pa.Array:
    """`redact_raw` over an array: RE2 finds each type's rows at once, Python redacts only those rows."""
    arr = as_strings(texts)
    rows = candidates(arr, _ANY)
    if not len(rows):
        return arr
    sub = arr.take(rows)
    for name in ALL_TYPES:
        hit = candidates(sub, PATTERNS[name].regex)
        if not len(hit):
            continue
        fixed = [redact_raw(v, (name,)) for v in sub.take(hit).to_pylist()]
        only = np.zeros(len(sub), dtype=bool)
        only[hit] = True
        sub = pc.replace_with_mask(sub, pa.array(only), pa.array(fixed, sub.type))
    mask = np.zeros(len(arr), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(arr, pa.array(mask), sub)


def _redact_rows(texts: pa.Array, types: tuple[str, ...]) -> pa.Array:
    """Redact an array whose every row is known to hold a candidate."""
    for name in types:
        p = PATTERNS[name]
        if p.validate is None:
            texts = pc.replace_substring_regex(texts, p.regex, p.placeholder)
            continue
        rows = candidates(texts, p.regex)
        if not len(rows):
            continue
        fixed = [redact_text(v, (name,)) for v in texts.take(rows).to_pylist()]
        mask = np.zeros(len(texts), dtype=bool)
        mask[rows] = True
        texts = pc.replace_with_mask(texts, pa.array(mask), pa.array(fixed, texts.type))
    return texts


def redact_array(
    texts: pa.Array | pa.ChunkedArray | Iterable[str | None], types: Iterable[str] = ALL_TYPES
) -> pa.Array:
    """Every string of `texts` redacted; rows without any candidate are returned untouched."""
    arr = as_strings(texts)
    types = tuple(types)
    regex = _ANY if types == ALL_TYPES else union_regex(types, placeholders=False)
    rows = candidates(arr, regex)
    if not len(rows):
        return arr
    fixed = _redact_rows(arr.take(rows), types)
    mask = np.zeros(len(arr), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(arr, pa.array(mask), fixed)
