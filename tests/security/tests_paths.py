"""Paths of the security test data."""

from pathlib import Path

LABELED = Path(__file__).resolve().parents[1] / "data" / "security_prompts.jsonl"
