"""Read a file as numbered, decoded lines in bounded-memory Arrow chunks (nothing dropped).

Lines are split with numpy and handed to the engine as one Arrow string array per chunk: the
newline (and a CR before it) is cut out by a single vectorised copy, and UTF-8 is validated by
Arrow for the whole chunk. Only a chunk that holds invalid bytes takes the per-line Python path.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa

LINE_SCHEMA = pa.schema(
    [
        ("line_no", pa.int64()),
        ("text", pa.large_string()),  # NULL when the line is not valid UTF-8 (a U+FFFD written as such is valid text)
        ("line_bytes", pa.int64()),  # bytes of the line without its newline
        ("last_no_newline", pa.bool_()),
        ("bad_raw", pa.large_string()),  # the bytes of a line that is not valid UTF-8, invalid ones as \xNN; else NULL
    ]
)
BOM = b"\xef\xbb\xbf"


def _chunk_table(buf: np.ndarray, nl: np.ndarray, first_line: int, last_no_newline: bool) -> pa.Table:
    """Lines ending at the newline positions `nl` of `buf` (the last one may end at len(buf))."""
    n = len(nl)
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 0
    starts[1:] = nl[:-1] + 1
    ends = nl.astype(np.int64)
    cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    ends = ends - cr
    lens = ends - starts
    mask = np.ones(len(buf), dtype=bool)
    mask[nl[nl < len(buf)]] = False
    mask[(nl - 1)[cr]] = False
    data = buf[mask]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    text = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        text.validate(full=True)
        bad_raw = pa.nulls(n, pa.large_string())
    except pa.ArrowInvalid:
        text, bad_raw = _decode_each(data, offsets)
    flags = np.zeros(n, dtype=bool)
    flags[-1] = last_no_newline
    return pa.Table.from_arrays(
        [
            pa.array(np.arange(first_line, first_line + n, dtype=np.int64)),
            text,
            pa.array(lens),
            pa.array(flags),
            bad_raw,
        ],
        schema=LINE_SCHEMA,
    )


def escape_bytes(raw: bytes) -> str:
    """A line that is not valid UTF-8, kept readable: valid characters as they are, invalid bytes as \\xNN."""
    return raw.decode("utf-8", errors="backslashreplace")


def _decode_each(data: np.ndarray, offsets: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """The slow path for a chunk with invalid UTF-8: decode line by line; bad lines get NULL text and escaped bytes."""
    raw = data.tobytes()
    out: list[str | None] = []
    bad: list[str | None] = []
    for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
        try:
            out.append(raw[a:b].decode("utf-8"))
            bad.append(None)
        except UnicodeDecodeError:
            out.append(None)
            bad.append(escape_bytes(raw[a:b]))
    return pa.array(out, type=pa.large_string()), pa.array(bad, type=pa.large_string())


def read_line_chunks(
    path: str | Path, chunk_bytes: int = 64 << 20, max_line_bytes: int = 1_000_000, keep_bytes: int = 8192
) -> Iterator[pa.Table]:
    """Yield Arrow tables of (line_no, text, line_bytes, last_no_newline) covering every line of `path`.

    A line longer than `max_line_bytes` is yielded with only its first `keep_bytes` bytes (decoded
    leniently) and its true length, so a 10 GB line without a newline never sits in memory. A UTF-8
    byte-order mark at the start of the file is not part of line 1.
    """
    line_no = 1
    pending = b""  # the start of a line that continues into the next chunk
    overlong = -1  # bytes seen so far of an over-long line being skipped, or -1
    head = b""
    first = True
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(chunk_bytes)
            if first:
                while len(chunk) < len(BOM) and (more := fh.read(chunk_bytes)):
                    chunk += more
                chunk = chunk.removeprefix(BOM)
                first = False
            if not chunk:
                break
            if overlong >= 0:
                nl = chunk.find(b"\n")
                if nl < 0:
                    overlong += len(chunk)
                    continue
                yield _overlong(head, overlong + nl, line_no, False)
                line_no += 1
                overlong, head = -1, b""
                chunk = chunk[nl + 1 :]
            buf = pending + chunk if pending else chunk
            arr = np.frombuffer(buf, dtype=np.uint8)
            nls = np.flatnonzero(arr == 10)
            if len(nls):
                yield _chunk_table(arr[: nls[-1] + 1], nls, line_no, False)
                line_no += len(nls)
                pending = buf[nls[-1] + 1 :]
            else:
                pending = buf
            if len(pending) > max_line_bytes:
                overlong, head, pending = len(pending), pending[:keep_bytes], b""
    if overlong >= 0:
        yield _overlong(head, overlong, line_no, True)
    elif pending:
        arr = np.frombuffer(pending, dtype=np.uint8)
        yield _chunk_table(arr, np.array([len(arr)], dtype=np.int64), line_no, True)


def _overlong(head: bytes, length: int, line_no: int, last: bool) -> pa.Table:
    text = head.decode("utf-8", errors="ignore").rstrip("\r\n")
    return pa.Table.from_pydict(
        {"line_no": [line_no], "text": [text], "line_bytes": [length], "last_no_newline": [last], "bad_raw": [None]},
        schema=LINE_SCHEMA,
    )


def prefetch(chunks: Iterator[pa.Table], depth: int = 1) -> Iterator[pa.Table]:
    """Produce `chunks` on a background thread so reading overlaps the engine's work on the last chunk."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def run() -> None:
        try:
            for item in chunks:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # noqa: BLE001 - hand the reader's error to the consumer
            q.put(exc)

    worker = threading.Thread(target=run, daemon=True, name="line-prefetch")
    worker.start()
    try:
        while (item := q.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


class RawLine(NamedTuple):
    """One physical line for the Python-parsed formats."""

    line_no: int
    nbytes: int  # bytes without its newline (and a CR before it); the true length of an over-long line
    text: str | None  # None when not valid UTF-8; only the start of an over-long line
    bad_raw: str | None  # an invalid line's bytes, escaped
    last_no_newline: bool


def iter_lines(path: str | Path, max_line_bytes: int = 1_000_000, keep_bytes: int = 8192) -> Iterator[RawLine]:
    """Every physical line of `path` in order (a byte-order mark is not part of line 1); bounded memory."""
    for chunk in read_line_chunks(path, max_line_bytes=max_line_bytes, keep_bytes=keep_bytes):
        cols = chunk.to_pydict()
        yield from map(
            RawLine, cols["line_no"], cols["line_bytes"], cols["text"], cols["bad_raw"], cols["last_no_newline"]
        )
