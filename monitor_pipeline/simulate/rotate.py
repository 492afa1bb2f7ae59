"""Log rotation as logrotate does it, for the live simulator: rename, copy then truncate, or rename and gzip."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

ROTATE_MODES = ("rename", "copytruncate", "gzip")


def rotate(path: Path, mode: str) -> bool:
    """Rotate `path` as logrotate does (`mode`: rename, copytruncate or gzip); False when there is no file (missingok)."""
    if not path.exists():
        return False
    gz = ".gz" if mode == "gzip" else ""
    n = 1
    while path.with_name(f"{path.name}.{n}{gz}").exists():
        n += 1
    for k in range(n - 1, 0, -1):  # .1 -> .2, .2 -> .3, ...: oldest first, nothing overwritten
        os.replace(path.with_name(f"{path.name}.{k}{gz}"), path.with_name(f"{path.name}.{k + 1}{gz}"))
    first = path.with_name(path.name + ".1")
    if mode == "copytruncate":
        # Safe here, unlike with another process writing: this one writes nothing between the copy and the truncate.
        shutil.copyfile(path, first)
        os.truncate(path, 0)
        return True
    os.replace(path, first)
    path.touch()  # logrotate's `create`: a reader finds the new, empty file at once
    if gz:
        with first.open("rb") as src, gzip.open(path.with_name(f"{path.name}.1.gz"), "wb") as dst:
            shutil.copyfileobj(src, dst)
        first.unlink()
    return True
