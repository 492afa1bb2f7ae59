"""Scoring an answer against a probe: exact, regex, numeric tolerance, label match, embedding similarity."""

from __future__ import annotations

import re

import numpy as np

from monitor_pipeline.drift_quality.probes.sets import Probe

NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def normalise(text: str) -> str:
    """Case-folded, whitespace-collapsed, without surrounding quotes or a final full stop."""
    return " ".join(text.strip().strip("\"'`").rstrip(".").split()).casefold()


def first_number(text: str) -> float | None:
    """The first number written in `text` (thousands separators allowed)."""
    m = NUMBER.search(text)
    return float(m.group(0).replace(",", "")) if m else None


def label_of(answer: str, labels: list[str]) -> str:
    """The label an answer names: itself when it is one, else the first label it mentions as a word."""
    norm = normalise(answer)
    by_norm = {normalise(x): x for x in labels}
    if norm in by_norm:
        return by_norm[norm]
    hits = [(m.start(), x) for x in labels if (m := re.search(rf"\b{re.escape(normalise(x))}\b", norm))]
    return min(hits)[1] if hits else answer.strip()


def score(
    probe: Probe, answer: str, labels: list[str], min_similarity: float, similarity: float | None = None
) -> tuple[bool, float | None]:
    """(passed, score) of `answer`; score is the cosine for similarity probes, else None."""
    if probe.scorer == "exact":
        return normalise(answer) == normalise(str(probe.expected)), None
    if probe.scorer == "regex":
        return re.search(str(probe.expected), answer) is not None, None
    if probe.scorer == "numeric":
        x = first_number(answer)
        return x is not None and abs(x - float(probe.expected)) <= probe.tolerance, None
    if probe.scorer == "label":
        return label_of(answer, labels or [str(probe.expected)]) == probe.expected, None
    if probe.scorer == "similarity":
        if similarity is None:
            raise ValueError("similarity probes need the cosine of answer and expected")
        return similarity >= (probe.threshold or min_similarity), similarity
    raise ValueError(f"unknown scorer {probe.scorer!r}")


def cosine_pairs(answers: list[str], expected: list[str]) -> np.ndarray:
    """Cosine similarity of each answer with its expected text (embedded MiniLM)."""
    from monitor_pipeline.drift_quality.embeddings import encode

    if not answers:
        return np.zeros(0)
    a, e = encode(answers), encode(expected)
    return np.einsum("ij,ij->i", a, e)
