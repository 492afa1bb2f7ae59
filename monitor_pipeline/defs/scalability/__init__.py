"""Scalability monitoring: the weekly sweep asset, its job and schedule."""
