"""Hashed byte n-gram features of prompt texts, vectorised over Arrow arrays (no Python loop per prompt).

The injection model's first stage is linear over these features, so scoring one prompt is a sum of weights looked up
by hash: numpy does it for a whole column at once. Byte n-grams of the NFKC-normalised, lower-cased UTF-8 text work
for every script (no tokenizer, no vocabulary) and survive the paraphrases and misspellings that defeat regular
expressions ("ignroe prevoius instrctions" shares most of its 4-grams with the original). Training and scoring call
the same function, so the features cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Zero-width and bidi controls, the Unicode tag block and the BOM: attackers use them to split trigger words.
INVISIBLE = "[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u180e\U000e0000-\U000e007f]"
_MULT = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: multiply, keep the top bits
_PRIME = np.uint64(1099511628211)  # FNV prime: mixes the bytes of an n-gram into one 64-bit value


@dataclass(frozen=True)
class FeatureSpec:
    """Which n-gram lengths, how many hash buckets (2**bits), and how much of a long text is read."""

    ngrams: tuple[int, ...] = (3, 4, 5)
    bits: int = 20
    head_chars: int = 4000  # a long text is read as its first head_chars and last tail_chars characters
    tail_chars: int = 2000


def normalise(texts: pa.Array, spec: FeatureSpec) -> tuple[pa.Array, np.ndarray]:
    """NFKC, lower case, invisible characters removed, long texts cut to head + tail; and which rows were cut."""
    texts = pc.fill_null(as_large(texts), "")
    lengths = pc.utf8_length(texts).to_numpy(zero_copy_only=False)
    cut = lengths > spec.head_chars + spec.tail_chars
    if cut.any():
        # Only the long rows go through Python; an injection hidden after megabytes of padding is still read in the tail.
        values = texts.to_pylist()
        for i in np.flatnonzero(cut):
            v = values[i]
            values[i] = v[: spec.head_chars] + " … " + v[-spec.tail_chars :]
        texts = pa.array(values, pa.large_string())
    ascii_rows = pc.string_is_ascii(texts).to_numpy(zero_copy_only=False)
    if ascii_rows.all():
        return pc.ascii_lower(texts), cut  # the common case: no Unicode folding to do
    # Fullwidth letters, ligatures and compatibility forms fold to their plain letters (NFKC) before lower-casing.
    folded = pc.replace_substring_regex(pc.utf8_lower(pc.utf8_normalize(texts, form="NFKC")), INVISIBLE, "")
    return pc.if_else(pa.array(ascii_rows), pc.ascii_lower(texts), folded), cut


def as_large(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One large-string chunk."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks else pa.array([], pa.large_string())
    return texts.cast(pa.large_string())


def _buffers(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes and the row offsets of a large-string array (zero copy)."""
    texts = texts.cast(pa.large_string())
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    _, offsets_buf, data_buf = texts.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[texts.offset : texts.offset + len(texts) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return data, offsets


def _windows(padded: np.ndarray, m: int, n: int, bits: int) -> np.ndarray:
    """The hash bucket of each of the first m n-byte windows of `padded` (n <= 8; `padded` has 8 spare bytes)."""
    # Every window as one little-endian integer without copying (stride 1); the mask keeps its first n bytes, so the
    # n-gram itself is the key and only the multiply-shift hash can collide. 4 bytes or fewer use 32-bit arithmetic.
    if n <= 4:
        win32 = np.ndarray((m,), dtype="<u4", buffer=padded, strides=(1,))
        h32 = win32 & np.uint32((1 << (8 * n)) - 1) if n < 4 else win32.copy()
        h32 += np.uint32(n)  # n-grams of different n land in different buckets
        h32 *= np.uint32(0x9E3779B1)
        h32 >>= np.uint32(32 - bits)
        return h32
    win = np.ndarray((m,), dtype="<u8", buffer=padded, strides=(1,))
    h = win & np.uint64((1 << (8 * n)) - 1 if n < 8 else 0xFFFFFFFFFFFFFFFF)
    h += np.uint64(n)
    h *= _MULT
    h >>= np.uint64(64 - bits)
    return h


def iter_grams(texts: pa.Array, spec: FeatureSpec) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """Per n: (n, row of each gram, bucket of each gram, grams per row); `texts` must be normalised already."""
    data, starts, ends = _rows(texts)
    padded = np.concatenate([data, np.zeros(8, np.uint8)])
    for n in spec.ngrams:
        per_row = np.maximum(ends - starts - n + 1, 0)
        buckets = _windows(padded, max(len(data) - n + 1, 0), n, spec.bits)
        # The windows inside row r start at starts[r] .. ends[r] - n; the others straddle two rows.
        rows = np.repeat(np.arange(len(starts)), per_row)
        first = np.repeat(starts - np.cumsum(np.r_[0, per_row[:-1]]), per_row)
        idx = np.arange(len(rows)) + first
        yield n, rows, buckets[idx].astype(np.int64), per_row


def _rows(texts: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data, offsets = _buffers(texts)
    base = offsets[0]
    return data[base : offsets[-1]], offsets[:-1] - base, offsets[1:] - base


def row_scores(texts: pa.Array, weights: dict[int, np.ndarray], spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray]:
    """Σ weight over each row's grams, divided by √(grams in the row); and the gram count (normalised `texts`)."""
    data, starts, ends = _rows(texts)
    padded = np.concatenate([data, np.zeros(8, np.uint8)])
    total = np.zeros(len(starts), np.float64)
    count = np.zeros(len(starts), np.float64)
    for n in spec.ngrams:
        per_row = np.maximum(ends - starts - n + 1, 0)
        if not per_row.any():
            continue
        w = weights[n][_windows(padded, len(data) - n + 1, n, spec.bits)]
        # A running sum over all windows; a row's total is the difference at its first and last window, so the
        # windows that straddle two rows are never counted and no per-window row index is built.
        cs = np.zeros(len(w) + 1, np.float64)
        np.cumsum(w, out=cs[1:])
        ok = per_row > 0
        total[ok] += cs[starts[ok] + per_row[ok]] - cs[starts[ok]]
        count += per_row
    return total / np.sqrt(np.maximum(count, 1.0)), count


def window_buckets(raw: bytes, n: int, bits: int) -> np.ndarray:
    """The bucket of each n-byte window of one normalised text's UTF-8 bytes (for explanations)."""
    data = np.frombuffer(raw, dtype=np.uint8)
    m = len(data) - n + 1
    if m <= 0:
        return np.zeros(0, np.int64)
    padded = np.concatenate([data, np.zeros(8, np.uint8)])
    return _windows(padded, m, n, bits).astype(np.int64)
