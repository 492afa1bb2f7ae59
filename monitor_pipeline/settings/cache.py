"""Configs loaded once per process: a loaded config is kept until a YAML file its loading read changes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from monitor_pipeline.settings.files import FileStamp, Read, recording

T = TypeVar("T")

# A file written less than this long before it was read may be written again with the same mtime (filesystem
# timestamps are coarse: jiffies, or whole seconds on some network filesystems), so such a load is not kept: the
# next call reads the file again (git's "racily clean" rule).
RACY_NS = 2_000_000_000
MAX_ENTRIES = 64

_lock = threading.Lock()
_entries: dict[Hashable, _Entry] = {}


@dataclass(frozen=True)
class _Entry:
    stamps: tuple[FileStamp, ...]
    value: Any

    def fresh(self) -> bool:
        return all(FileStamp.of(s.path) == s for s in self.stamps)


def load_once(key: Hashable, load: Callable[[], T]) -> T:
    """`load()`'s value, kept under `key` until a file it read (through settings.files) changes; then loaded again.

    The key holds whatever else the value depends on (the resolved path, the env overlays); the files read are
    checked by path, mtime, size and inode on every call, so an edited file is read again and nothing else is."""
    with _lock:
        entry = _entries.get(key)
    if entry is not None and entry.fresh():
        return entry.value
    with recording() as reads:
        value = load()
    with _lock:
        _entries.pop(key, None)
        if reads and not any(_racy(r) for r in reads):
            _entries[key] = _Entry(tuple(dict.fromkeys(r.stamp for r in reads)), value)
            while len(_entries) > MAX_ENTRIES:
                _entries.pop(next(iter(_entries)))
    return value


def _racy(read: Read) -> bool:
    return read.at_ns - read.stamp.mtime_ns < RACY_NS


def clear() -> None:
    """Forget every kept config (tests)."""
    with _lock:
        _entries.clear()
