"""Where the project is, and how a relative path in a config is made absolute (a leaf: no project imports)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "pipeline.yaml"


def absolute(root: Path, p: str) -> Path:
    """`p` with `~` expanded, taken from `root` when relative."""
    path = Path(os.path.expanduser(p))
    return path if path.is_absolute() else root / path
