"""Local input files as the readers see them: gzip undone, a byte-order mark set aside, lines counted once."""

from __future__ import annotations

import os
import shutil
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from monitor_pipeline.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
BLOCK = 16 << 20


@dataclass(frozen=True)
class FileFacts:
    """What one pass over a (decompressed) file found."""

    lines: int  # physical lines: newlines, plus one for a last line without a newline
    ends_with_newline: bool
    has_cr: bool  # a carriage return anywhere (CRLF or a lone CR)
    has_bom: bool  # starts with a UTF-8 byte-order mark (not part of line 1)
    size: int
    # With scan(index_every=K): the bytes of the longest line (its newline not counted), and the byte offset where
    # each K-th line starts (lines 1, K + 1, 2K + 1, ...), so that a few lines can be read again by number.
    longest: int | None = None
    index_every: int = 0
    starts: np.ndarray | None = field(default=None, compare=False, repr=False)

    def read_lines(self, path: str | Path, numbers: Iterable[int]) -> list[bytes]:
        """The raw bytes (no newline) of the lines numbered `numbers` (1-based, ascending) of the scanned file."""
        if self.starts is None or not self.index_every:
            raise ValueError("the file was scanned without a line index")
        out: list[bytes] = []
        k = self.index_every
        with open(path, "rb") as fh:
            group, lines = -1, [b""]
            for n in numbers:
                g = (n - 1) // k
                if g != group:  # read the K lines from the checkpoint before line n
                    group = g
                    start = int(self.starts[g])
                    end = int(self.starts[g + 1]) if g + 1 < len(self.starts) else self.size
                    fh.seek(start)
                    lines = fh.read(end - start).split(b"\n")
                out.append(lines[(n - 1) % k])
        return out


def is_gzip(path: str | Path) -> bool:
    """True when the file starts with the gzip magic bytes (whatever its name)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError:
        return False


def gunzip(src: BinaryIO, limit: int | None = None) -> Iterator[bytes]:
    """Decompressed blocks of a gzip stream (every member of a concatenated one), up to `limit` bytes.

    Unlike the gzip module, a stream cut short or damaged yields everything before the damage and then stops with
    GzipDamage, so a truncated rotated log still gives up the lines it holds.
    """
    d = zlib.decompressobj(wbits=31)
    out = 0
    while block := src.read(BLOCK // 16):
        while block:
            try:
                data = d.decompress(block)
            except zlib.error as exc:
                raise GzipDamage(str(exc)) from None
            if data:
                yield data
                out += len(data)
                if limit is not None and out >= limit:
                    return
            block = d.unused_data
            if d.eof:
                d = zlib.decompressobj(wbits=31) if block else d
            else:
                block = b""
    if not d.eof:
        raise GzipDamage("the stream ends before its last member does (cut short)")


class GzipDamage(Exception):
    """A gzip stream that is cut short or corrupt."""


def read_head(path: str | Path, nbytes: int = 64 << 10) -> bytes:
    """The first `nbytes` of a file's content (decompressed when gzipped, the byte-order mark removed)."""
    try:
        with open(path, "rb") as fh:
            if fh.read(2) == GZIP_MAGIC:
                fh.seek(0)
                parts: list[bytes] = []
                try:
                    parts.extend(gunzip(fh, nbytes))
                except GzipDamage:
                    pass  # the head is what decompressed; reading the file says what was lost
                data = b"".join(parts)[:nbytes]
            else:
                fh.seek(0)
                data = fh.read(nbytes)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return data.removeprefix(BOM)


def scan(path: str | Path, index_every: int = 0) -> FileFacts:
    """Count the physical lines of a plain local file in one buffered pass (no mmap: mapped pages count as RSS).

    With `index_every` K > 0 it also finds the longest line and where every K-th line starts (FileFacts.read_lines):
    numpy finds the newlines of each block at about the speed of counting them (the pass is bound by reading).
    """
    lines, size, cr, bom, last = 0, 0, False, False, b""
    longest, line_start = 0, 0  # where the line in progress started
    starts: list[np.ndarray] = [np.zeros(1, np.int64)] if index_every else []
    with open(path, "rb") as fh:
        while block := fh.read(BLOCK):
            if not size:
                bom = block.startswith(BOM)
            if index_every:
                nl = np.flatnonzero(np.frombuffer(block, np.uint8) == 10) + size  # offsets in the file
                if len(nl):
                    ends = np.concatenate(([line_start - 1], nl))
                    longest = max(longest, int((ends[1:] - ends[:-1]).max()) - 1)
                    # the newline ending line L (1-based: lines + j + 1) starts line L + 1, a checkpoint when L % K == 0
                    first = (-(lines + 1)) % index_every
                    starts.append(nl[first::index_every] + 1)
                    line_start = int(nl[-1]) + 1
                lines += len(nl)
            else:
                lines += block.count(b"\n")
            cr = cr or b"\r" in block
            size += len(block)
            last = block[-1:]
    content = size - (3 if bom else 0)
    if content > 0 and last != b"\n":
        lines += 1
        longest = max(longest, size - line_start)
    index = np.concatenate(starts) if index_every else None
    if index is not None and len(index) and index[-1] >= size:  # the checkpoint after a final newline: no line
        index = index[:-1]
    return FileFacts(
        lines=lines,
        ends_with_newline=last == b"\n" or content == 0,
        has_cr=cr,
        has_bom=bom,
        size=size,
        longest=longest if index_every else None,
        index_every=index_every,
        starts=index,
    )


@contextmanager
def readable(path: str, warnings: list[str] | None = None) -> Iterator[str]:
    """A plain local path with the file's content: the file itself, or a gzip file decompressed to a temp file.

    A gzip stream cut short keeps what was decompressed (its last line then has no newline) and says so in
    `warnings`: rotated logs are often gzipped, and a truncated one still holds most of its lines.
    """
    if not is_gzip(path):
        yield path
        return
    tmp = tempfile.mkdtemp(prefix="monitor-gunzip-")
    out = os.path.join(tmp, Path(path).name.removesuffix(".gz"))
    try:
        with open(path, "rb") as src, open(out, "wb") as dst:
            try:
                for block in gunzip(src):
                    dst.write(block)
            except GzipDamage as exc:
                if warnings is not None:
                    warnings.append(
                        f"{path}: the gzip stream is damaged or cut short ({exc}); the "
                        f"{dst.tell():,} bytes decompressed before it were read"
                    )
        yield out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
