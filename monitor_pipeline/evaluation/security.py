"""Precision and recall of the detectors: on a labeled prompt set, on held-out public sources, and on the simulator.

python -m monitor_pipeline.evaluation.security [FILE]      # default tests/data/security_prompts.jsonl
python -m monitor_pipeline.evaluation.security --heldout   # per held-out source: rules, model, both
python -m monitor_pipeline.evaluation.security --simulate
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from monitor_pipeline.security.patterns import PATTERNS, PII_TYPES, SECRET_TYPES
from monitor_pipeline.security.text import INJECTION_KINDS, as_strings, injection_hits, pii_hits

DEFAULT_SET = Path(__file__).resolve().parents[2] / "tests" / "data" / "security_prompts.jsonl"
DEFAULT_HELDOUT = Path(__file__).resolve().parents[2] / "data" / "injection" / "prompts.jsonl.gz"


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

    from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
    from monitor_pipeline.ingest.engines.duckdb_connect import connect
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


def rule_injection(texts: list[str]) -> np.ndarray:
    """Whether any injection indicator of the rules fires on each text."""
    arr = as_strings(texts)
    fired = np.zeros(len(texts), dtype=bool)
    for h in injection_hits(arr, INJECTION_KINDS):
        fired[h.rows] = True
    return fired


def score_heldout(
    rows: list[dict],
    threshold: float | None = None,
    model_path: str | None = None,
    project: list[dict] | None = None,
    second_stage: bool = True,
) -> dict:
    """Per held-out source (and the project's labeled set): injection precision, recall and false-positive rate of
    the rules alone, the model's stage 1 alone, the two-stage model, and rules OR model; and all sources pooled."""
    from monitor_pipeline.security.injection_model import load_model, score

    model = load_model(model_path)
    thr = float(threshold if threshold is not None else model.meta.get("suggested_threshold", 0.5))
    project = load(DEFAULT_SET) if project is None else project
    rows = list(rows) + [{"text": r["text"], "label": int(r["injection"]), "source": "project_240"} for r in project]
    texts = [r["text"] for r in rows]
    truth = np.array([r["label"] == 1 for r in rows])
    sc = score(
        model,
        as_strings(texts),
        second_stage=second_stage,
        band=tuple(model.meta.get("band", (0.2, 0.9))),
        max_second_stage=10**9,
    )
    preds = {
        "rules": rule_injection(texts),
        "model_stage1": sc.stage1 >= thr,
        "model": sc.prob >= thr,
    }
    preds["rules_or_stage1"] = preds["rules"] | preds["model_stage1"]
    preds["rules_or_model"] = preds["rules"] | preds["model"]
    sources = np.array([r["source"] for r in rows])
    out: dict = {"threshold": round(thr, 3), "model_version": model.version, "second_stage": sc.stats, "sources": {}}
    for src in sorted(set(sources)):
        m = sources == src
        out["sources"][src] = {"rows": int(m.sum()), "attacks": int(truth[m].sum())} | {
            k: _scores(v[m], truth[m]) for k, v in preds.items()
        }
    public = sources != "project_240"
    out["pooled_heldout"] = {k: _scores(v[public], truth[public]) for k, v in preds.items()}
    # Diagnostic only (it reads the held-out labels): the threshold that gives a 2% false-positive rate on the
    # pooled held-out benign prompts, and the recall there: how far a re-tuned threshold alone could go.
    benign = public & ~truth
    for name, p in (("model_stage1", sc.stage1), ("model", sc.prob)):
        t2 = float(np.quantile(p[benign], 0.98)) if benign.any() else 1.0
        out.setdefault("at_2pct_fpr", {})[name] = {"threshold": round(t2, 3)} | _scores(p[public] > t2, truth[public])
    return out


def load(path: str | Path) -> list[dict]:
    """The labeled rows of a JSONL file."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def load_heldout(path: str | Path = DEFAULT_HELDOUT) -> list[dict]:
    """The held-out rows of the injection model's compact labeled set (data/injection/prompts.jsonl.gz)."""
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [r for r in (json.loads(x) for x in f if x.strip()) if r["split"] == "heldout"]


if __name__ == "__main__":
    if sys.argv[1:] == ["--simulate"]:
        print(json.dumps(score_simulation()))
    elif sys.argv[1:2] == ["--heldout"]:
        print(json.dumps(score_heldout(load_heldout(*sys.argv[2:3]))))
    else:
        print(json.dumps(score_prompts(load(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SET))))
