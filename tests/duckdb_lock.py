"""A second process that holds a DuckDB file's lock, as a notebook or another run would."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    path, read_only, hold_s = sys.argv[1], sys.argv[2] == "ro", float(sys.argv[3])
    con = duckdb.connect(path, read_only=read_only)
    print("holding", flush=True)
    time.sleep(hold_s)
    con.close()
    print("released", flush=True)
    time.sleep(60)  # still alive: the lock goes with the connection, not with the process
    """
)


@contextmanager
def holding(db: str | Path, hold_s: float, read_only: bool = False) -> Iterator[subprocess.Popen]:
    """A process that has opened `db` (read-write or read-only) and closes it after `hold_s` seconds; killed on exit."""
    p = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), "ro" if read_only else "rw", str(hold_s)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout.readline().strip() == "holding"
        yield p
    finally:
        p.kill()
        p.wait()
        p.stdout.close()
