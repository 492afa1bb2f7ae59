"""Log a fitted injection model (the .npz shipped in the package) and its held-out evaluation to MLflow."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from monitor_pipeline.tracking.store import Store, ensure_experiment

GROUP = "security-injection-model"
METRICS = ("precision", "recall", "fp_rate")


def evaluation_metrics(evaluation: dict) -> dict[str, float]:
    """`<source>.<detector>.<precision|recall|fp_rate>` for every held-out source, and `pooled.<detector>.*`."""
    out: dict[str, float] = {}
    for src, per in evaluation.get("sources", {}).items():
        for det, s in per.items():
            if isinstance(s, dict):
                out |= {f"{src}.{det}.{m}": float(s[m]) for m in METRICS if m in s}
    for det, s in evaluation.get("pooled_heldout", {}).items():
        out |= {f"pooled.{det}.{m}": float(s[m]) for m in METRICS if m in s}
    return out


def log_injection_model(store: Store, model_file: Path, meta: dict, evaluation: dict) -> str:
    """One run in `<prefix>/security-injection-model`: version and sources as params, per-source metrics, the model
    file and evaluation JSON as artifacts. Returns the run id."""
    client = store.client()
    exp = ensure_experiment(client, store.experiment_name(GROUP), store.artifact_root)
    run = client.create_run(
        exp, run_name=str(meta.get("version", "injection-model")), tags={"model_version": str(meta.get("version"))}
    )
    rid = run.info.run_id
    params = {
        "version": meta.get("version"),
        "trained_on": ",".join(meta.get("trained_on", [])),
        "held_out": ",".join(meta.get("held_out", [])),
        "train_rows": meta.get("train_rows"),
        "threshold": evaluation.get("threshold"),
    }
    for k, v in params.items():
        client.log_param(rid, k, str(v))
    for k, v in evaluation_metrics(evaluation).items():
        client.log_metric(rid, k, v)
    client.log_artifact(rid, str(model_file), artifact_path="model")
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "evaluation.json"
        f.write_text(json.dumps(evaluation, indent=1))
        client.log_artifact(rid, str(f), artifact_path="model")
    client.set_terminated(rid)
    return rid
