"""Incremental ingestion: which bytes of a growing log are new since the last read, across rotation and truncation.

A *generation* is one file's content as a writer produced it, whatever name it has now: `requests.jsonl` renamed to
`requests.jsonl.1`, or compressed to `requests.jsonl.1.gz`, or copied there before the original is truncated
(logrotate's copytruncate). Its cursor lives in the warehouse (`ingest_cursors`): its identity (device + inode + a
hash of its first bytes), the bytes and complete lines read, the partial last line held back until its newline
arrives, and the label its rows carry (`source_file`). A generation is found again by inode (a rename keeps it) or
by its first bytes (a copy or a gzip does not), so rotated lines are read once, never twice.

The label is the path the generation has now: when it moves, its rows are relabelled (once per rotation), so the
warehouse equals one ingest of the files as they are, and `file:line` in quarantine still finds the line.
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from monitor_pipeline.ingest.formats.files import BOM, GZIP_MAGIC, GzipDamage, gunzip, is_gzip

HEAD_BYTES = 4096  # the identity hash covers up to this many first bytes of the content
CURSOR_DDL = (
    "CREATE TABLE IF NOT EXISTS ingest_cursors (label VARCHAR, source VARCHAR, path VARCHAR, dev UBIGINT, "
    "inode UBIGINT, gz BOOLEAN, head_len INTEGER, head_hash VARCHAR, read_bytes BIGINT, lines BIGINT, "
    "pending BIGINT, last_day DATE, state VARCHAR, updated_at TIMESTAMPTZ)"
)
CURSOR_COLUMNS = (
    "label",
    "source",
    "path",
    "dev",
    "inode",
    "gz",
    "head_len",
    "head_hash",
    "read_bytes",
    "lines",
    "pending",
    "last_day",
    "state",
    "updated_at",
)


@dataclass(frozen=True)
class Cursor:
    """How far one generation of a file has been read, and how to recognise it."""

    label: str  # the source_file its rows carry (its path when last seen)
    source: str
    path: str
    dev: int
    inode: int
    gz: bool
    head_len: int
    head_hash: str
    read_bytes: int = 0  # content bytes read: the end of the last complete line
    lines: int = 0  # complete lines read (its next line is lines + 1)
    pending: int = 0  # bytes of a partial last line held back until its newline arrives
    last_day: dt.date | None = None  # the day of the last line read (lines without a time fall back to it)
    state: str = "active"  # active | gone (the file vanished and was not found again)
    updated_at: dt.datetime | None = None

    def row(self) -> tuple:
        """The cursor as a row of ingest_cursors."""
        return tuple(getattr(self, c) for c in CURSOR_COLUMNS)


@dataclass(frozen=True)
class FileId:
    """A file as it is now: inode, whether gzipped, content size (plain files) and first bytes of the content."""

    path: str
    dev: int
    inode: int
    gz: bool
    size: int | None  # content bytes; None for gzip (known only by reading it)
    head: bytes

    def matches(self, c: Cursor) -> bool:
        """Whether this file starts with the bytes that identify cursor `c`'s generation."""
        return len(self.head) >= c.head_len and _hash(self.head[: c.head_len]) == c.head_hash


@dataclass(frozen=True)
class Segment:
    """New bytes of one generation to ingest: [start, end) of the content of `path`, its first line's number."""

    label: str
    source: str
    path: str
    start: int
    first_line: int
    header: bool = False  # the format needs the file's header line (CSV): prepend it to a read from the middle


@dataclass
class Plan:
    """What one incremental read does: segments to read, labels to move, cursors to keep, what to say."""

    segments: list[tuple[Segment, Cursor]] = field(default_factory=list)  # with each generation's cursor before
    relabels: list[tuple[str, str]] = field(default_factory=list)  # (old label, new label)
    cursors: dict[str, Cursor] = field(default_factory=dict)  # label -> cursor to store (after relabels)
    dropped: list[str] = field(default_factory=list)  # labels whose cursor is removed (replaced by a new label)
    warnings: list[str] = field(default_factory=list)


def _hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def identify(path: str) -> FileId:
    """The identity of the file at `path` now (its first HEAD_BYTES of content, decompressed when gzipped)."""
    st = os.stat(path)
    gz = is_gzip(path)
    with open(path, "rb") as fh:
        if gz:
            parts: list[bytes] = []
            try:
                parts.extend(gunzip(fh, HEAD_BYTES))
            except GzipDamage:
                pass
            head = b"".join(parts)[:HEAD_BYTES]
        else:
            head = fh.read(HEAD_BYTES)
    return FileId(path, st.st_dev, st.st_ino, gz, None if gz else st.st_size, head)


def new_cursor(f: FileId, source: str, label: str) -> Cursor:
    """A cursor at the start of file `f`."""
    n = min(len(f.head), HEAD_BYTES)
    return Cursor(label, source, f.path, f.dev, f.inode, f.gz, n, _hash(f.head[:n]))


ROTATED = re.compile(r"(\.\d+)?(\.gz)?$")  # logrotate's suffixes: x.1, x.1.gz, x.gz


def rotated_siblings(path: str) -> list[str]:
    """Files beside `path` whose names extend its unrotated name (`x.1`, `x.2.gz`, `x-20261206`): where logrotate
    moves a file, and where it shifts one already rotated (x.1 to x.2)."""
    base = ROTATED.sub("", path) or path
    if not Path(base).parent.is_dir():
        return []
    return sorted(
        q
        for q in glob.glob(glob.escape(base) + "?*")
        if q != path and os.path.isfile(q) and not Path(q).name.startswith(".")
    )


def _same(f: FileId, c: Cursor) -> bool:
    """Whether `f` holds generation `c`: its inode (a rename keeps it) or, for a copy or a gzip, its first bytes,
    and at least the bytes already read."""
    if f.size is not None and f.size < c.read_bytes:
        return False
    if not f.matches(c):
        return False
    return ((f.dev, f.inode) == (c.dev, c.inode) and not f.gz) or c.head_len > 0


def plan(files: Sequence[tuple[str, str, bool]], cursors: Iterable[Cursor], now: dt.datetime | None = None) -> Plan:
    """Match the files named now (path, source, whether its format has a header line) with the stored cursors.

    A generation found at its path reads on from its cursor; one that moved (rename, gzip, copy) is found among the
    named files or beside its old path and its remainder read under its new name; a file that shrank in place was
    truncated (copytruncate) and starts a new generation; a file nobody has seen starts one at byte 0. Cursors of
    files not named now (another day's, another source's) are left as they are.
    """
    now = now or dt.datetime.now(dt.UTC)
    out = Plan()
    named = {p: (src, hdr) for p, src, hdr in files}
    sources = {src for src, _ in named.values()}
    active = [c for c in cursors if c.state == "active"]
    ids = {p: identify(p) for p in named}
    at: dict[str, str] = {}  # cursor label -> the path its generation is at now
    # Same inode first (a file that grew, or was renamed), then the same first bytes (a copy, a compressed copy).
    for exact in (True, False):
        for p, f in ids.items():
            if p in at.values():
                continue
            for c in active:
                if c.label in at:
                    continue
                inode = (f.dev, f.inode) == (c.dev, c.inode) and not f.gz and not c.gz
                if inode == exact and _same(f, c):
                    at[c.label] = p
                    break
    gone: list[Cursor] = []
    for c in active:
        if c.label in at or not (c.source in sources or c.path in named):
            continue
        if c.path not in named and os.path.exists(c.path):
            f = identify(c.path)
            if (f.dev, f.inode) == (c.dev, c.inode) and _same(f, c):
                continue  # still where it was, just not named this time (another day's file): leave it
        for q in rotated_siblings(c.path):  # rotated to a name the paths do not match
            if q in ids:
                continue
            f = identify(q)
            if _same(f, c):
                ids[q], at[c.label] = f, q
                out.warnings.append(f"{c.label}: rotated to {q}; its last lines are read from there")
                break
        else:
            if c.path in named:
                f = ids[c.path]
                if (f.dev, f.inode) == (c.dev, c.inode):  # truncated in place, or a new file on a reused inode
                    out.warnings.append(
                        f"{c.path}: the file shrank below the {c.read_bytes:,} bytes already read or now holds other "
                        f"lines (copytruncate, or replaced by another file of the same name) and no copy of the old "
                        f"lines was found beside it; reading it from the start as a new file (lines after line "
                        f"{c.lines:,} written before that are lost)"
                    )
                else:
                    out.warnings.append(
                        f"{c.path}: replaced by another file of the same name; the old one ({c.lines:,} lines read) "
                        "was not found beside it; reading the new file from the start"
                    )
                gone.append(c)
            elif not os.path.exists(c.path):
                if c.pending:  # a rotated file logrotate deleted after we read it all is no news; a cut line is
                    out.warnings.append(
                        f"{c.path}: the file is gone with a partial last line unread ({c.pending} bytes) and was not "
                        f"found beside it ({c.lines:,} lines read)"
                    )
                gone.append(c)
    # New labels: a moved generation takes its new path; a gone one frees its path for the file there now.
    renamed = {label: p for label, p in at.items() if p != label}
    renamed.update({c.label: f"{c.label}#inode{c.inode}" for c in gone})
    out.relabels = list(renamed.items())
    by_label = {c.label: c for c in active}
    for c in gone:
        new = renamed[c.label]
        out.cursors[new] = replace(c, label=new, state="gone", updated_at=now)
    for label, p in at.items():
        c, f = by_label[label], ids[p]
        new = renamed.get(label, label)
        if not f.gz and c.head_len < HEAD_BYTES and len(f.head) > c.head_len:  # seen small: a longer identity now
            c = replace(c, head_len=len(f.head), head_hash=_hash(f.head))
        c = replace(c, label=new, path=p, dev=f.dev, inode=f.inode, gz=f.gz, updated_at=now)
        out.cursors[new] = c
    for p, f in ids.items():
        if p in at.values():
            continue
        out.cursors[p] = replace(new_cursor(f, named[p][0], p), updated_at=now)
    out.dropped = [label for label in renamed]
    for c in out.cursors.values():
        if c.state == "active" and c.path in ids:
            # A rotated generation beside its old path reads like the named files of its source.
            hdr = named[c.path][1] if c.path in named else any(h for src, h in named.values() if src == c.source)
            out.segments.append((Segment(c.label, c.source, c.path, c.read_bytes, c.lines + 1, hdr), c))
    return out


@dataclass(frozen=True)
class Extract:
    """The complete new lines of a segment copied to a plain file (with the header line first when asked)."""

    path: str  # the temp file to ingest
    lines: int  # complete new lines in it (the header line not counted)
    end: int  # content offset after the last complete line
    pending: int  # bytes after it: a partial last line held back
    header_lines: int  # 1 when a header line was prepended


def _content(path: str) -> Iterable[bytes]:
    """The content of a file in blocks: gzip undone (up to any damage)."""
    with open(path, "rb") as fh:
        gz = fh.read(2) == GZIP_MAGIC
        fh.seek(0)
        if gz:
            try:
                yield from gunzip(fh)
            except GzipDamage:
                return
        else:
            while block := fh.read(16 << 20):
                yield block


def _first_line(path: str) -> bytes:
    """The first line of a file's content, newline included (a header), the byte-order mark removed."""
    buf = b""
    for block in _content(path):
        buf += block
        nl = buf.find(b"\n")
        if nl >= 0:
            return buf[: nl + 1].removeprefix(BOM)
        if len(buf) > 1 << 20:
            break
    return b""


def extract(seg: Segment, tmp_dir: str, final: bool = False) -> Extract:
    """Copy the new complete lines of `seg` into a temp file in `tmp_dir`; a partial last line is held back unless
    `final` (a compressed generation will not grow: its last line is read as it is)."""
    header = _first_line(seg.path) if seg.header and seg.start > 0 else b""
    name = Path(seg.path).name.removesuffix(".gz")
    fd, out = tempfile.mkstemp(dir=tmp_dir, prefix="new-", suffix="-" + name[-40:])
    body, last_nl, lines, pos = 0, -1, 0, 0
    with os.fdopen(fd, "wb") as fh:
        fh.write(header)
        for block in _content(seg.path):
            lo = max(seg.start - pos, 0)
            pos += len(block)
            if lo >= len(block):
                continue
            part = block[lo:] if lo else block
            fh.write(part)
            nl = part.rfind(b"\n")
            if nl >= 0:
                last_nl = body + nl
                lines += part.count(b"\n")
            body += len(part)
    complete = last_nl + 1
    pending = body - complete
    if pending and final:
        lines, complete, pending = lines + 1, body, 0
    elif pending:
        os.truncate(out, len(header) + complete)
    return Extract(out, lines, seg.start + complete, pending, 1 if header else 0)
