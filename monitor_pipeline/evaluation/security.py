"""Precision and recall of the detectors: on a labeled prompt set, and on the simulator's labeled abusive user.

python -m monitor_pipeline.evaluation.security [FILE]      # default tests/data/security_prompts.jsonl
python -m monitor_pipeline.evaluation.security --simulate
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from monitor_pipeline.security.patterns import PATTERNS, PII_TYPES, SECRET_TYPES
from monitor_pipeline.security.text import INJECTION_KINDS, as_strings, injection_hits, pii_hits


def _scores(pred: np.ndarray, truth: np.ndarray) -> dict:
    tp, fp = int((pred & truth).sum()), int((pred & ~truth).sum())
    fn, tn = int((~pred & truth).sum()), int((~pred & ~truth).sum())
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0,
        "fp_rate": round(fp / (fp + tn), 4) if fp + tn else 0.0,
    }


def score_prompts(rows: list[dict]) -> dict:
    """Scores per kind (injection, pii, secret) and per PII/secret type; a row is positive when any detector fires."""
    texts = as_strings([r["text"] for r in rows])
    n = len(rows)
    fired: dict[str, np.ndarray] = {}
    for h in pii_hits(texts, PATTERNS, count_placeholders=False) + injection_hits(texts, INJECTION_KINDS):
        mask = np.zeros(n, dtype=bool)
        mask[h.rows] = True
        fired[h.detector] = mask

    def any_of(names) -> np.ndarray:
        return np.logical_or.reduce([fired[k] for k in names]) if names else np.zeros(n, dtype=bool)

    def labeled(names) -> np.ndarray:
        return np.array([bool(set(r["pii"]) & set(names)) for r in rows])

    out = {
        "rows": n,
        "injection": _scores(any_of(INJECTION_KINDS), np.array([r["injection"] for r in rows])),
        "pii": _scores(any_of(PII_TYPES), labeled(PII_TYPES)),
        "secret": _scores(any_of(SECRET_TYPES), labeled(SECRET_TYPES)),
    }
    out["types"] = {t: _scores(fired[t], labeled([t])) for t in PATTERNS}
    return out


def score_simulation(days: int = 2, requests_per_day: int = 5000, seed: int = 0) -> dict:
    """Simulate traffic with the labeled abusive user, ingest it (redacting), run configs/rules.yaml; score per kind.

    Truth comes from the raw log lines, not from the detectors: the abuser's prompt templates are all injections and
    plant a card, an e-mail, or a phone number with an AWS key; ordinary traffic carries none.
    """
    import tempfile

    from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine, connect
    from monitor_pipeline.ingest.request import build_request
    from monitor_pipeline.security.config import load_rules
    from monitor_pipeline.security.scan import DuckDBRunner, run_rules
    from monitor_pipeline.settings.paths import PROJECT_ROOT
    from monitor_pipeline.simulate import simulate

    with tempfile.TemporaryDirectory() as tmp:
        simulate(Path(tmp) / "sim", days=days, requests_per_day=requests_per_day, seed=seed)
        files = sorted(str(p) for p in (Path(tmp) / "sim").glob("requests-*.jsonl"))
        truth: dict[str, dict] = {}
        for f in files:
            for line in Path(f).read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    r = json.loads(line)
                    p = str(r.get("prompt") or "")
                except (ValueError, AttributeError):
                    continue
                abuser = r.get("user_id") == "user-9999"
                truth[str(r.get("request_id"))] = {
                    "injection": abuser,
                    "secret": abuser and "AWS key" in p,
                    "pii": abuser and any(k in p for k in ("My card is", "Email the data", "Call me at")),
                }
        DuckDBEngine(Path(tmp) / "w.duckdb").ingest(build_request(files, "jsonl"))
        con = connect(Path(tmp) / "w.duckdb")
        try:
            res = run_rules(DuckDBRunner(con), load_rules(PROJECT_ROOT / "configs" / "rules.yaml"), "requests")
            ids = [r[0] for r in con.execute("SELECT request_id FROM requests").fetchall()]
        finally:
            con.close()
    f = res.findings
    out: dict = {"requests": len(ids), "abuser_requests": sum(truth.get(i, {}).get("injection", False) for i in ids)}
    for kind in ("injection", "pii", "secret"):
        flagged = set(f.loc[(f["kind"] == kind) & f["request_id"].notna(), "request_id"])
        out[kind] = _scores(
            np.array([i in flagged for i in ids]), np.array([truth.get(i, {}).get(kind, False) for i in ids])
        )
    users = f[f["request_id"].isna()].groupby("kind")["scope_value"].agg(lambda s: sorted(set(s)))
    out["window_rules_flagged"] = {k: v for k, v in users.items()}
    return out


def load(path: str | Path) -> list[dict]:
    """The labeled rows of a JSONL file."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


if __name__ == "__main__":
    if sys.argv[1:] == ["--simulate"]:
        print(json.dumps(score_simulation()))
    else:
        default = Path(__file__).resolve().parents[2] / "tests" / "data" / "security_prompts.jsonl"
        print(json.dumps(score_prompts(load(sys.argv[1] if len(sys.argv) > 1 else default))))
