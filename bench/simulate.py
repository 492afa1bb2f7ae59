"""Simulator speed: `python bench/simulate.py [--requests 1000000]` prints one JSON line (target: 1M in < 60 s)."""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor_pipeline.simulate import simulate


def main() -> None:
    """Simulate about --requests requests over two days and time it."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        s = simulate(tmp, days=2, requests_per_day=args.requests // 2)
        sec = time.perf_counter() - t
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    print(
        json.dumps(
            {
                "requests": s["requests"],
                "seconds": round(sec, 2),
                "requests_per_s": round(s["requests"] / sec),
                "mb_written": round(size / 2**20, 1),
                "target_s": 60,
                "met": sec < 60,
            }
        )
    )


if __name__ == "__main__":
    main()
