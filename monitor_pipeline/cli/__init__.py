"""Subcommands of `monitor-pipeline` that live in their own module.

Each module here defines `NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`; cli/app.py finds them, so a new
command is a new file. Keep imports of heavy libraries inside `run` so `--help` stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def command_modules() -> list[ModuleType]:
    """Every command module in this package, sorted by name."""
    mods = [
        importlib.import_module(f"{__name__}.{m.name}")
        for m in pkgutil.iter_modules(__path__)
        if not m.name.startswith("_")
    ]
    return sorted((m for m in mods if hasattr(m, "NAME") and hasattr(m, "run")), key=lambda m: m.NAME)


def main(argv: list[str] | None = None) -> int:
    """The `monitor-pipeline` entry point (cli/app.py)."""
    from monitor_pipeline.cli.app import main as run

    return run(argv)
