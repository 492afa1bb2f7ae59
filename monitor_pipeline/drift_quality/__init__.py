"""drift_quality."""
