"""Redaction: PII and secrets replaced by typed placeholders (`<EMAIL>`, `<CREDIT_CARD>`, `<API_KEY>`, ...).

Vectorised over Arrow string arrays: one RE2 pass finds the rows that need work; unvalidated types are replaced
with pyarrow's RE2 replace, and only the rows holding a checksum candidate (cards, IBANs, IDs) go through Python.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from monitor_pipeline.lib.security.patterns import PATTERNS
from monitor_pipeline.lib.security.text import as_strings, candidates, union_regex

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
            text = p.compiled.sub(lambda m, p=p: p.placeholder if p.validate(m.group()) else m.group(), text)
    return text


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


def redact_array(texts: pa.Array | pa.ChunkedArray | Iterable[str | None], types: Iterable[str] = ALL_TYPES) -> pa.Array:
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
