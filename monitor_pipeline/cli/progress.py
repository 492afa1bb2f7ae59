"""Progress bars on stderr (tqdm) for long commands; off with --quiet or when stderr is not a terminal."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

# What domain code is handed: progress(done, total), in the command's unit, as often as it likes.
Progress = Callable[[int, int], None]


def wanted(args: argparse.Namespace, stream: TextIO | None = None) -> bool:
    """Bars are drawn only for a person: stderr is a terminal and --quiet is not given."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return not getattr(args, "quiet", False) and bool(isatty and isatty())


@contextlib.contextmanager
def bar(
    args: argparse.Namespace,
    desc: str,
    unit: str = "it",
    total: int | None = None,
    stream: TextIO | None = None,
    bytes_: bool = False,
) -> Iterator[Progress | None]:
    """A `Progress` callback drawing one tqdm bar on `stream` (stderr), or None when no bar is wanted."""
    stream = sys.stderr if stream is None else stream
    if not wanted(args, stream):
        yield None
        return
    from tqdm import tqdm

    with tqdm(
        total=total,
        desc=desc,
        unit="B" if bytes_ else unit,
        unit_scale=bytes_,
        file=stream,
        dynamic_ncols=True,
    ) as t:

        def update(done: int, total_: int) -> None:
            if t.total != total_:
                t.total = total_
            t.update(done - t.n)  # callers report the position; tqdm counts steps

        yield update


def printer(progress: Progress | None) -> Callable[[str], None]:
    """A print for report lines that does not tear a bar drawn by bar() (tqdm.write clears and redraws it)."""
    if progress is None:
        return print

    def write(line: str) -> None:
        from tqdm import tqdm

        tqdm.write(line, file=sys.stdout)  # sys.stdout as it is now: stderr while --json redirects it

    return write
