"""Probe sets on disk: `<golden_dir>/<name>/set.yaml` plus one `v<N>.jsonl` per version."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from monitor_pipeline.errors import InputError

SCORERS = ("exact", "regex", "numeric", "label", "similarity")


class ProbeSetError(InputError):
    """A probe set file is malformed; the message names the file, line and field."""


@dataclass(frozen=True)
class Probe:
    """One input with what a good answer looks like and how to score it."""

    id: str
    input: str
    expected: str | float
    scorer: str
    line: int
    tolerance: float = 0.0  # numeric: absolute tolerance
    threshold: float | None = None  # similarity: cosine needed to pass (default probes.min_similarity)


@dataclass
class ProbeSet:
    """A named, versioned list of probes with the set's labels and prompt template."""

    name: str
    version: str
    path: Path
    probes: list[Probe]
    labels: dict[str, str] = field(default_factory=dict)
    prompt: str = "{input}"
    description: str = ""

    def render(self, probe: Probe) -> str:
        """The text sent to a chat target for `probe`."""
        return self.prompt.replace("{labels}", ", ".join(self.labels)).replace("{input}", probe.input)


def versions(folder: Path) -> list[str]:
    """The set's versions, oldest first (v1, v2, …, v10)."""
    found = [(int(m.group(1)), p.stem) for p in folder.glob("v*.jsonl") if (m := re.fullmatch(r"v(\d+)", p.stem))]
    return [name for _, name in sorted(found)]


def load_probe_set(golden_dir: str | Path, spec: str) -> ProbeSet:
    """Load `name` (its latest version) or `name@vN` from `golden_dir`, validating every line."""
    name, _, version = spec.partition("@")
    folder = Path(golden_dir) / name
    if not folder.is_dir():
        known = sorted(p.name for p in Path(golden_dir).glob("*") if p.is_dir())
        raise ProbeSetError(f"{folder}: no such probe set (known: {', '.join(known) or 'none'})")
    available = versions(folder)
    if not available:
        raise ProbeSetError(f"{folder}: no v<N>.jsonl file")
    version = version or available[-1]
    if version not in available:
        raise ProbeSetError(f"{folder}: no version {version} (have {', '.join(available)})")
    meta_path = folder / "set.yaml"
    meta = yaml.safe_load(meta_path.read_text()) if meta_path.exists() else {}
    if not isinstance(meta, dict):
        raise ProbeSetError(f"{meta_path}: expected a mapping")
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise ProbeSetError(f"{meta_path}: field 'labels' must map each label to a description")
    path = folder / f"{version}.jsonl"
    probes = _parse(path, set(labels))
    return ProbeSet(
        name=name,
        version=version,
        path=path,
        probes=probes,
        labels={str(k): v for k, v in labels.items()},
        prompt=str(meta.get("prompt", "{input}")),
        description=str(meta.get("description", "")),
    )


def _parse(path: Path, labels: set[str]) -> list[Probe]:
    probes, seen = [], set()
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue

        def bad(fieldname: str, why: str, n: int = n) -> ProbeSetError:
            return ProbeSetError(f"{path}:{n}: field '{fieldname}': {why}")

        try:
            rec = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ProbeSetError(f"{path}:{n}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(rec, dict):
            raise ProbeSetError(f"{path}:{n}: expected a JSON object")
        for key in ("id", "input", "expected", "scorer"):
            if rec.get(key) in (None, ""):
                raise bad(key, "missing")
        pid, scorer, expected = str(rec["id"]), rec["scorer"], rec["expected"]
        if pid in seen:
            raise bad("id", f"duplicate id {pid!r}")
        seen.add(pid)
        if scorer not in SCORERS:
            raise bad("scorer", f"{scorer!r} is not one of {', '.join(SCORERS)}")
        if scorer == "numeric":
            if not isinstance(expected, int | float) or isinstance(expected, bool):
                raise bad("expected", "a numeric probe needs a number")
        elif not isinstance(expected, str):
            raise bad("expected", f"a {scorer} probe needs a string")
        if scorer == "regex":
            try:
                re.compile(expected)
            except re.error as exc:
                raise bad("expected", f"not a valid regular expression ({exc})") from None
        if scorer == "label" and labels and expected not in labels:
            raise bad("expected", f"{expected!r} is not a label of the set ({', '.join(sorted(labels))})")
        tol, thr = rec.get("tolerance", 0.0), rec.get("threshold")
        if not isinstance(tol, int | float) or tol < 0:
            raise bad("tolerance", "must be a number >= 0")
        if thr is not None and (not isinstance(thr, int | float) or not 0 < thr <= 1):
            raise bad("threshold", "must be a number in (0, 1]")
        probes.append(
            Probe(
                id=pid,
                input=str(rec["input"]),
                expected=expected,
                scorer=scorer,
                line=n,
                tolerance=float(tol),
                threshold=None if thr is None else float(thr),
            )
        )
    if not probes:
        raise ProbeSetError(f"{path}: no probes")
    return probes
