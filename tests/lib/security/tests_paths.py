"""Paths of the security test data."""

from pathlib import Path

LABELED = Path(__file__).resolve().parents[2] / "data" / "security_prompts.jsonl"
