"""Reading YAML config files with errors that name the file and the key (shared by every config loader)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from monitor_pipeline.errors import ConfigError


def read_yaml_mapping(file: Path, missing: str) -> dict[str, Any]:
    """The top-level mapping of a YAML file; ConfigError naming the file when it is absent, not YAML or not a mapping."""
    if not file.is_file():
        raise ConfigError(f"{file}: {missing}")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the top level must be a mapping of keys")
    return data


def validation_message(file: Path | str, exc: ValidationError) -> str:
    """One line per invalid key: `<file>: key `a.b`: what is wrong (got value)`, or `unknown key`."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(x) for x in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{file}: unknown key `{key}`")
        else:
            got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
            lines.append(f"{file}: key `{key}`: {err['msg'].removeprefix('Value error, ')}{got}")
    return "; ".join(lines)
