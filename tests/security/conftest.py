"""Fixtures of the security tests (helpers live in frames.py)."""

from __future__ import annotations

from frames import scan  # noqa: F401 - the fixture, used by name
