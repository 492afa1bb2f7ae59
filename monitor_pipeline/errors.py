"""Errors the user can act on: each names what went wrong, where, and how to fix it."""


class MonitorError(Exception):
    """Base of the errors the CLI prints as one line (no traceback unless --debug)."""


class InputError(MonitorError):
    """A path, format or file that cannot be read as asked."""


class ConfigError(MonitorError):
    """A configuration file or key that is invalid; the message names the file, key and allowed values."""


class EngineError(MonitorError):
    """An engine (DuckDB, Spark) that cannot run: an unreachable master, a locked database."""
