"""The `injection_model` rules over a requests relation: every non-empty text scored, findings in the rules' frame.

Unlike the regex rules there is no SQL pre-filter (the model must see every prompt); identical texts are scored once
(retries, canned prompts and templates repeat in real traffic), and only the flagged texts are explained.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from monitor_pipeline.security.config import SCOPE_COLUMNS
from monitor_pipeline.security.injection_model import ModelUnavailable, explain, load_model, score
from monitor_pipeline.security.redact import redact_array
from monitor_pipeline.security.window_rules import FINDING_COLUMNS

if TYPE_CHECKING:
    from monitor_pipeline.security.scan import Runner

MAX_EXPLAINED = 300  # distinct flagged texts explained per rule and scan (~1 ms each); the rest: stage and score
EVIDENCE_CHARS = 200
INVISIBLE = "[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u180e\U000e0000-\U000e007f]"


def _unique(texts: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The distinct texts and, per row, the index of its text among them."""
    enc = pc.dictionary_encode(texts)
    return enc.dictionary, enc.indices.to_numpy(zero_copy_only=False)


def _findings(rule: Any, cand: pa.Table, fld: str, stats: dict) -> pd.DataFrame:
    p = rule.params
    model = load_model(p.model_path)
    texts = pc.fill_null(cand.column(fld).combine_chunks().cast(pa.large_string()), "")
    uniq, idx = _unique(texts)
    sc = score(model, uniq, p.second_stage, tuple(p.uncertain), p.max_second_stage)
    stats.setdefault("injection_model", {})[f"{rule.id}.{fld}"] = sc.stats | {
        "distinct_texts": len(uniq),
        "model_version": model.version,
    }
    flagged_u = np.flatnonzero(sc.prob >= p.threshold)
    if not len(flagged_u):
        return pd.DataFrame(columns=list(FINDING_COLUMNS))
    # Explanations quote n-grams of the text: they are taken from the redacted text, like every evidence snippet.
    values = redact_array(uniq.take(pa.array(flagged_u))).to_pylist()
    why = {
        int(u): (
            explain(model, v, float(sc.prob[u]), int(sc.stage[u]), bool(sc.cut[u]), sc.nearest.get(int(u)))
            if k < MAX_EXPLAINED
            else f"injection_model stage {int(sc.stage[u])} p={sc.prob[u]:.2f}; not explained (over {MAX_EXPLAINED} a scan)"
        )
        for k, (u, v) in enumerate(zip(flagged_u, values, strict=True))
    }
    rows = np.flatnonzero(np.isin(idx, flagged_u))
    sub = cand.take(pa.array(rows))
    snippet = pc.utf8_slice_codeunits(redact_array(sub.column(fld)), 0, EVIDENCE_CHARS)
    snippet = pc.replace_substring_regex(snippet, INVISIBLE, "<INVISIBLE>").to_pylist()
    ts = sub.column("timestamp").to_pandas()
    return pd.DataFrame(
        {
            "rule": rule.id,
            "kind": rule.kind,
            "scope": rule.scope,
            "severity": rule.severity,
            "scope_value": sub.column(SCOPE_COLUMNS[rule.scope]).to_numpy(zero_copy_only=False),
            "window_start": ts,
            "window_end": ts,
            "value": sc.prob[idx[rows]],
            "threshold": p.threshold,
            "count": np.ones(len(rows), dtype=np.int64),
            "request_id": sub.column("request_id").to_numpy(zero_copy_only=False),
            "evidence": [f"{fld}: {why[int(u)]}: {s or ''}" for u, s in zip(idx[rows], snippet, strict=True)],
        }
    )


def scan_model(
    runner: Runner, rules: Sequence[Any], requests: str, columns: set[str], stats: dict
) -> list[pd.DataFrame]:
    """Findings of each `injection_model` rule (a rule whose model file cannot be read is skipped, with its reason)."""
    out: list[pd.DataFrame] = []
    for rule in rules:
        try:
            load_model(rule.params.model_path)
        except ModelUnavailable as exc:
            stats["skipped_rules"][rule.id] = str(exc)
            continue
        for fld in rule.params.fields:
            if fld not in columns:
                continue
            # Only non-empty texts travel to Python; an empty prompt cannot carry an injection.
            cand = runner.fetch(
                f"SELECT request_id, timestamp, {SCOPE_COLUMNS[rule.scope]}, {fld} FROM {requests} "
                f"WHERE {fld} IS NOT NULL AND length({fld}) > 0"
            )
            out.append(_findings(rule, cand, fld, stats))
    return out
