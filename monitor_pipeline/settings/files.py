"""Reading YAML config files (shared by every config loader): overlays that `extends` a base file, errors that name
the file and the key, and a record of every file read with its stamp (what the config cache checks)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from monitor_pipeline.errors import ConfigError

EXTENDS = "extends"


@dataclass(frozen=True)
class FileStamp:
    """What identifies one version of a file: an edit, a rewrite or a replacement changes it."""

    path: Path
    mtime_ns: int
    size: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileStamp | None:
        """The file's stamp now; None when it is not there."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        return cls(path, st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass(frozen=True)
class Read:
    """One file read: its stamp, taken before the read, and when (ns since the epoch)."""

    stamp: FileStamp
    at_ns: int


_recorders: ContextVar[tuple[list[Read], ...]] = ContextVar("config_file_recorders", default=())


@contextmanager
def recording() -> Iterator[list[Read]]:
    """Collect every YAML file read (by any loader) inside the block, nested blocks included."""
    reads: list[Read] = []
    token = _recorders.set((*_recorders.get(), reads))
    try:
        yield reads
    finally:
        _recorders.reset(token)


def read_yaml_mapping(file: Path, missing: str) -> dict[str, Any]:
    """The top-level mapping of a YAML file; ConfigError naming the file when it is absent, not YAML or not a mapping."""
    # Stamped before the read: an edit that lands during it changes the stamp, so a cache re-reads the file.
    stamp = FileStamp.of(file)
    if stamp is None or not file.is_file():
        raise ConfigError(f"{file}: {missing}")
    for reads in _recorders.get():
        reads.append(Read(stamp, time.time_ns()))
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the top level must be a mapping of keys")
    return data


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """`overlay` over `base`: mappings merge key by key; lists and scalars (null included) replace."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class ConfigSource:
    """A config file with the files it extends resolved: the merged mapping, and which file each key came from."""

    file: Path
    data: dict[str, Any]
    layers: tuple[tuple[Path, dict[str, Any]], ...] = field(default=())  # the file first, then the one it extends, ...

    def origin(self, loc: Sequence[str | int]) -> Path:
        """The file that set the value at `loc` (a pydantic error location): the overlay nearest the top wins."""
        best, depth = self.file, -1
        for path, data in self.layers:
            d = _depth(data, loc)
            if d > depth:
                best, depth = path, d
        return best

    def where(self, loc: Sequence[str | int]) -> str:
        """`<file>` for a key of the file itself, `<base> (extended by <file>)` for one it inherited."""
        origin = self.origin(loc)
        return str(origin) if origin == self.file else f"{origin} (extended by {self.file})"


def _depth(data: Any, loc: Sequence[str | int]) -> int:
    """How much of `loc` a file's raw mapping holds; a list or scalar on the way owns everything beneath it."""
    node, n = data, 0
    for part in loc:
        if not isinstance(node, dict):
            return len(loc)
        if part not in node:
            return n
        node, n = node[part], n + 1
    return n


def read_config(file: Path, missing: str) -> ConfigSource:
    """A YAML config resolved through its `extends:` chain (a path relative to the file that names it), deep-merged."""
    file = Path(file).expanduser()
    layers: list[tuple[Path, dict[str, Any]]] = []
    chain: list[Path] = []  # resolved, to catch a loop
    current, why = file, missing
    while True:
        data = read_yaml_mapping(current, why)
        chain.append(current.resolve())
        base = data.pop(EXTENDS, None)
        layers.append((current, data))
        if base is None:
            break
        if not isinstance(base, str) or not base.strip():
            raise ConfigError(
                f"{current}: key `{EXTENDS}`: must be the path of the YAML file this one overlays, "
                f"e.g. ../pipeline.yaml (got {base!r})"
            )
        target = (current.parent / Path(base).expanduser()).resolve()
        if target in chain:
            loop = " -> ".join(str(p) for p in [*chain, target])
            raise ConfigError(f"{current}: key `{EXTENDS}`: {base!r} leads back to a file already in the chain: {loop}")
        current, why = target, f"file not found (named by `{EXTENDS}` in {current})"
    merged: dict[str, Any] = {}
    for _, data in reversed(layers):
        merged = deep_merge(merged, data)
    return ConfigSource(file, merged, tuple(layers))


def validation_message(file: Path | str | ConfigSource, exc: ValidationError) -> str:
    """One line per invalid key: `<file>: key `a.b`: what is wrong (got value)`, or `unknown key`.

    Given a ConfigSource, each line names the file the key came from (an overlay or the file it extends)."""
    lines = []
    for err in exc.errors():
        where = file.where(err["loc"]) if isinstance(file, ConfigSource) else file
        key = ".".join(str(x) for x in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key `{key}`")
        else:
            got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
            lines.append(f"{where}: key `{key}`: {err['msg'].removeprefix('Value error, ')}{got}")
    return "; ".join(lines)
