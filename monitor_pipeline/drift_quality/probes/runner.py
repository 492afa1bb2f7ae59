"""Run a probe set against a target and summarise: pass rate, Wilson interval, ROC-AUC where scores allow."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.metrics import roc_auc_score

from monitor_pipeline.drift_quality.probes.scorers import cosine_pairs, score
from monitor_pipeline.drift_quality.probes.sets import ProbeSet
from monitor_pipeline.drift_quality.probes.stats import wilson


@dataclass
class ProbeRun:
    """One probe set's results against one target."""

    set_name: str
    version: str
    target: str
    results: pd.DataFrame  # id, input, expected, scorer, answer, passed, score, latency_ms
    passed: int
    total: int
    wilson_low: float
    wilson_high: float
    roc_auc: float | None
    roc_auc_of: str

    @property
    def pass_rate(self) -> float:
        """Share of probes that passed."""
        return self.passed / self.total

    def summary(self) -> dict:
        """The figures as one JSON-able dict."""
        return {"set": self.set_name, "version": self.version, "target": self.target, "passed": self.passed,
                "total": self.total, "pass_rate": round(self.pass_rate, 4),
                "wilson_95": [round(self.wilson_low, 4), round(self.wilson_high, 4)],
                "roc_auc": None if self.roc_auc is None else round(self.roc_auc, 4), "roc_auc_of": self.roc_auc_of,
                "latency_ms_p50": round(float(self.results["latency_ms"].median()), 2)}


def run_probes(probe_set: ProbeSet, target, min_similarity: float = 0.8) -> ProbeRun:
    """Ask `target` every probe of `probe_set` and score the answers."""
    answers = target.answer(probe_set)
    labels = list(probe_set.labels)
    sim_idx = [i for i, p in enumerate(probe_set.probes) if p.scorer == "similarity"]
    sims = dict(zip(sim_idx, cosine_pairs([answers[i].text for i in sim_idx],
                                          [str(probe_set.probes[i].expected) for i in sim_idx]), strict=True))
    rows = []
    for i, (probe, ans) in enumerate(zip(probe_set.probes, answers, strict=True)):
        ok, s = score(probe, ans.text, labels, min_similarity, sims.get(i))
        rows.append({"id": probe.id, "input": probe.input, "expected": str(probe.expected), "scorer": probe.scorer,
                     "answer": ans.text, "passed": ok, "score": s, "latency_ms": ans.latency_ms})
    results = pd.DataFrame(rows)
    auc, auc_of = _roc_auc(probe_set, answers, results)
    passed, total = int(results["passed"].sum()), len(results)
    lo, hi = wilson(passed, total)
    return ProbeRun(probe_set.name, probe_set.version, target.name, results, passed, total, lo, hi, auc, auc_of)


def _roc_auc(probe_set: ProbeSet, answers: list, results: pd.DataFrame) -> tuple[float | None, str]:
    labelled = [i for i, p in enumerate(probe_set.probes) if p.scorer == "label" and answers[i].probs]
    if labelled:
        labels = sorted(probe_set.labels)  # sklearn wants the class order sorted
        y = [str(probe_set.probes[i].expected) for i in labelled]
        if len(set(y)) == len(labels):
            probs = [[answers[i].probs[x] for x in labels] for i in labelled]
            return float(roc_auc_score(y, probs, multi_class="ovr", labels=labels)), "class probabilities, one-vs-rest macro"
    sims = results[results["scorer"] == "similarity"]
    # Only meaningful when an independent verdict exists; for similarity the verdict is the score itself.
    return None, "no scorer yields a score independent of the pass verdict" if len(sims) else "no scores"
