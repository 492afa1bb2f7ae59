"""Paths the tests share."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "assets" / "sample_logs"
SHARED_DATA = ROOT.parent / "shared" / "data"
