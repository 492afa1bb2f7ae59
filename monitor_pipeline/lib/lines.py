"""Read a file as numbered raw lines in bounded-memory Arrow chunks (no decoding, nothing dropped)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

LINE_SCHEMA = pa.schema([
    ("line_no", pa.int64()),
    ("raw", pa.large_binary()),
    ("line_bytes", pa.int64()),
    ("last_no_newline", pa.bool_()),
])


def _table(buf: bytes, starts: np.ndarray, ends: np.ndarray, first_line: int, last_no_newline: bool) -> pa.Table:
    """Zero-copy Arrow view of lines buf[starts[i]:ends[i]] (ends exclude the newline)."""
    n = len(starts)
    # Offsets must be contiguous, so each value spans start..next start and still ends in '\n';
    # the engines strip it (and a '\r') when decoding. line_bytes counts the line without newline.
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[:n] = starts
    offsets[n] = ends[-1] + (0 if last_no_newline else 1) if n else 0
    raw = pa.LargeBinaryArray.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)])
    flags = np.zeros(n, dtype=bool)
    if n and last_no_newline:
        flags[-1] = True
    return pa.Table.from_arrays(
        [pa.array(np.arange(first_line, first_line + n, dtype=np.int64)), raw,
         pa.array((ends - starts).astype(np.int64)), pa.array(flags)],
        schema=LINE_SCHEMA,
    )


def read_line_chunks(path: str | Path, chunk_bytes: int = 64 << 20, max_line_bytes: int = 1_000_000,
                     keep_bytes: int = 4096) -> Iterator[pa.Table]:
    """Yield Arrow tables of (line_no, raw, line_bytes, last_no_newline) covering every line of `path`.

    A line longer than `max_line_bytes` is yielded with only its first `keep_bytes` bytes and its
    true length, so a 10 GB line without a newline never sits in memory.
    """
    line_no = 1
    pending = b""          # the start of a line that continues into the next chunk
    overlong = -1          # bytes seen so far of an over-long line being skipped, or -1
    overlong_head = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(chunk_bytes)
            if not chunk:
                break
            if overlong >= 0:
                nl = chunk.find(b"\n")
                if nl < 0:
                    overlong += len(chunk)
                    continue
                overlong += nl
                yield _overlong(overlong_head, overlong, line_no, False)
                line_no += 1
                overlong, overlong_head = -1, b""
                chunk = chunk[nl + 1:]
            buf = pending + chunk if pending else chunk
            arr = np.frombuffer(buf, dtype=np.uint8)
            nls = np.flatnonzero(arr == 10)
            if len(nls):
                starts = np.concatenate(([0], nls[:-1] + 1)).astype(np.int64)
                ends = nls.astype(np.int64)
                yield _table(buf, starts, ends, line_no, False)
                line_no += len(nls)
                pending = buf[nls[-1] + 1:]
            else:
                pending = buf
            if len(pending) > max_line_bytes:
                overlong, overlong_head, pending = len(pending), pending[:keep_bytes], b""
    if overlong >= 0:
        yield _overlong(overlong_head, overlong, line_no, True)
    elif pending:
        yield _table(pending, np.array([0], dtype=np.int64), np.array([len(pending)], dtype=np.int64),
                     line_no, True)


def _overlong(head: bytes, length: int, line_no: int, last: bool) -> pa.Table:
    return pa.Table.from_pydict(
        {"line_no": [line_no], "raw": [head], "line_bytes": [length], "last_no_newline": [last]},
        schema=LINE_SCHEMA,
    )
