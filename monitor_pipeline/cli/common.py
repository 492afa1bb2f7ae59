"""What every subcommand shares: the help formatter, `--json`/`--quiet`, the version, the JSON writer, exit codes."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TextIO

# Exit codes (README, "Exit codes"): CI gates on 1, a wrong invocation or input is 2, a bug is 3.
OK, CHECK_FAILED, USAGE_ERROR, INTERNAL_ERROR, INTERRUPTED = 0, 1, 2, 3, 130

_DATA: list[TextIO] = []  # where emit() writes while stdout is redirected for --json (a stack: nested main() calls)


def package_version() -> str:
    """The installed distribution's version (importlib.metadata), or `unknown` when run from an uninstalled tree."""
    try:
        return version("monitor-pipeline")
    except PackageNotFoundError:
        return "unknown"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default, like ArgumentDefaultsHelpFormatter, where the help does not already say it.

    Flags (default False), repeatable options (default []) and options whose default comes from the config (None)
    say nothing: their help text states what happens when they are left out."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default is None
            or default is False  # not `in (False, ...)`: 0 == False, and a default 0 is worth showing
            or default == []
            or default == argparse.SUPPRESS
            or not (action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE))
        ):
            return text
        return f"{text} (default: %(default)s)"


def common_options() -> argparse.ArgumentParser:
    """A parent parser giving a subcommand `--json` and `--quiet`, which may also come before the subcommand.

    Their defaults are SUPPRESS here so that a subparser leaves the value set by the top-level parser alone."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="stdout carries JSON Lines only (one object per line); everything else goes to stderr",
    )
    p.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        default=argparse.SUPPRESS,
        help="no progress bars and no notices on stderr (warnings and errors are still printed)",
    )
    return p


def add_subparser(sub: Any, name: str, **kw: Any) -> argparse.ArgumentParser:
    """A subcommand parser with the shared formatter and `--json`/`--quiet`."""
    return sub.add_parser(name, parents=[common_options()], formatter_class=HelpFormatter, **kw)


def emit(obj: Any) -> None:
    """Print one JSON object on the data stream (stdout, even while --json sends other prints to stderr)."""
    print(json.dumps(obj, ensure_ascii=False, default=str), file=_DATA[-1] if _DATA else sys.stdout, flush=True)


@contextlib.contextmanager
def json_only(enabled: bool) -> Iterator[None]:
    """With `enabled`, every print that is not emit() (console alert lines, library chatter) goes to stderr."""
    if not enabled:
        yield
        return
    _DATA.append(sys.stdout)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _DATA.pop()


def notice(args: argparse.Namespace, message: str) -> None:
    """An informational line on stderr, unless --quiet."""
    if not getattr(args, "quiet", False):
        print(f"monitor-pipeline: {message}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    """A warning on stderr, printed even with --quiet."""
    print(f"monitor-pipeline: warning: {message}", file=sys.stderr, flush=True)
