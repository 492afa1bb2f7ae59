"""NAB's files: the data folder (`<category>/<name>.csv`), the windows JSON, the profiles and result CSVs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from monitor_pipeline.errors import InputError

DEFAULT_PROFILES = {  # NAB's config/profiles.json
    "standard": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0}},
    "reward_low_FP_rate": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.22, "tnWeight": 1.0}},
    "reward_low_FN_rate": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 2.0, "fpWeight": 0.11, "tnWeight": 1.0}},
}


def load_windows(path: str | Path) -> dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]]:
    """`{relative/path.csv: [(start, end), ...]}` from NAB's `labels/combined_windows.json`."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"labels file {path} does not exist; pass NAB's labels/combined_windows.json") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"labels file {path} is not JSON ({exc}); pass NAB's labels/combined_windows.json") from None
    if not isinstance(raw, dict):
        raise InputError(f"labels file {path}: expected an object {{'category/file.csv': [[start, end], ...]}}")
    out = {}
    for key, wins in raw.items():
        try:
            out[key] = [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in wins]
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"labels file {path}, key {key!r}: windows must be [[start, end], ...] timestamps "
                f"({exc}); combined_labels.json holds points, combined_windows.json the windows"
            ) from None
    return out


def load_profiles(path: str | Path | None) -> dict[str, dict]:
    """NAB's profiles (cost matrices) from a JSON file, or NAB's three defaults."""
    if path is None:
        return DEFAULT_PROFILES
    try:
        profiles = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"profiles file {path} cannot be read as JSON ({exc}); pass NAB's config/profiles.json"
        ) from None
    for name, p in profiles.items() if isinstance(profiles, dict) else [("?", {})]:
        try:
            [float(p["CostMatrix"][k]) for k in ("tpWeight", "fpWeight", "fnWeight")]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"profiles file {path}, profile {name!r}: {exc!r}; expected "
                "{name: {CostMatrix: {tpWeight, fpWeight, fnWeight}}} as NAB's config/profiles.json"
            ) from None
    return profiles


def data_files(data_dir: str | Path) -> list[str]:
    """Relative paths (`category/name.csv`) of every series under a NAB-like data folder, sorted."""
    root = Path(data_dir)
    if not root.is_dir():
        raise InputError(
            f"data folder {root} does not exist; pass a folder laid out like NAB's data/ "
            "(<category>/<series>.csv with timestamp,value columns)"
        )
    files = sorted(p.relative_to(root).as_posix() for p in root.glob("*/*.csv"))
    if not files:
        raise InputError(f"data folder {root} holds no <category>/<series>.csv files (NAB's data/ layout)")
    return files


def read_series(path: str | Path) -> pd.DataFrame:
    """A NAB data file as `timestamp` (datetime64) and `value` (float), in file order (as NAB reads it)."""
    try:
        df = pd.read_csv(path)
        df["timestamp"] = pd.to_datetime(df["timestamp"])
        df["value"] = pd.to_numeric(df["value"], errors="coerce").astype(float)
    except (OSError, KeyError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: not a NAB series with timestamp,value columns ({exc!r})") from None
    return df[["timestamp", "value"]]


def result_path(results_dir: str | Path, detector: str, relative: str) -> Path:
    """Where NAB keeps a detector's output for a data file: `<dir>/<det>/<category>/<det>_<name>.csv`."""
    category, name = relative.split("/", 1)
    return Path(results_dir) / detector / category / f"{detector}_{name}"


def read_result(path: str | Path) -> pd.DataFrame:
    """A NAB result CSV's `timestamp` and `anomaly_score` columns."""
    try:
        df = pd.read_csv(path, usecols=["timestamp", "anomaly_score"])
        df["timestamp"] = pd.to_datetime(df["timestamp"])
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: not a NAB result file with timestamp,anomaly_score columns ({exc!r})") from None
    return df


def result_files(results_dir: str | Path, detector: str) -> list[str]:
    """Relative data paths (`category/name.csv`) that a detector's result folder holds, sorted."""
    root = Path(results_dir) / detector
    prefix = f"{detector}_"
    return sorted(f"{p.parent.name}/{p.name[len(prefix) :]}" for p in root.glob(f"*/{prefix}*.csv"))
