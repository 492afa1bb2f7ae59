"""Run a probe set against a target and summarise: pass rate, Wilson interval, ROC-AUC where scores allow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd

from monitor_pipeline.drift_quality.probes.endpoints import build_target
from monitor_pipeline.drift_quality.probes.scorers import cosine_pairs, score
from monitor_pipeline.drift_quality.probes.sets import ProbeSet, load_probe_set
from monitor_pipeline.drift_quality.probes.stats import Comparison, compare, wilson
from monitor_pipeline.escape import markdown_table

if TYPE_CHECKING:
    from monitor_pipeline.settings.drift_quality import ProbesConfig


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
        return {
            "set": self.set_name,
            "version": self.version,
            "target": self.target,
            "passed": self.passed,
            "total": self.total,
            "pass_rate": round(self.pass_rate, 4),
            "wilson_95": [round(self.wilson_low, 4), round(self.wilson_high, 4)],
            "roc_auc": None if self.roc_auc is None else round(self.roc_auc, 4),
            "roc_auc_of": self.roc_auc_of,
            "latency_ms_p50": round(float(self.results["latency_ms"].median()), 2),
        }


def run_probes(probe_set: ProbeSet, target, min_similarity: float = 0.8) -> ProbeRun:
    """Ask `target` every probe of `probe_set` and score the answers."""
    answers = target.answer(probe_set)
    labels = list(probe_set.labels)
    sim_idx = [i for i, p in enumerate(probe_set.probes) if p.scorer == "similarity"]
    sims = dict(
        zip(
            sim_idx,
            cosine_pairs([answers[i].text for i in sim_idx], [str(probe_set.probes[i].expected) for i in sim_idx]),
            strict=True,
        )
    )
    rows = []
    for i, (probe, ans) in enumerate(zip(probe_set.probes, answers, strict=True)):
        ok, s = score(probe, ans.text, labels, min_similarity, sims.get(i))
        rows.append(
            {
                "id": probe.id,
                "input": probe.input,
                "expected": str(probe.expected),
                "scorer": probe.scorer,
                "answer": ans.text,
                "passed": ok,
                "score": s,
                "latency_ms": ans.latency_ms,
            }
        )
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
            return float(_sklearn_roc_auc(y, probs, labels)), "class probabilities, one-vs-rest macro"
    sims = results[results["scorer"] == "similarity"]
    # Only meaningful when an independent verdict exists; for similarity the verdict is the score itself.
    return None, "no scorer yields a score independent of the pass verdict" if len(sims) else "no scores"


class PreviousRun(NamedTuple):
    """The latest finished run of the same set, version and target."""

    passed: int
    total: int
    run_id: str


@dataclass
class SetOutcome:
    """One set's run and how its pass rate compares with the previous run's."""

    run: ProbeRun
    alpha: float
    previous: PreviousRun | None
    comparison: Comparison | None

    @property
    def significant_drop(self) -> bool:
        """The pass rate dropped significantly (one-sided test at alpha) since the previous run."""
        return bool(self.comparison and self.comparison.significant_drop)

    def params(self) -> dict[str, Any]:
        """The set, its version, the target, alpha and the run compared with, as tracking params."""
        r = self.run
        return {
            "set": r.set_name,
            "version": r.version,
            "target": r.target,
            "alpha": self.alpha,
            "previous_run": self.previous.run_id if self.previous else "none",
        }

    def metrics(self) -> dict[str, float]:
        """Pass rate with its Wilson interval, median latency, ROC-AUC where scores allow, the previous rate and p."""
        r, c = self.run, self.comparison
        out = {
            "pass_rate": r.pass_rate,
            "passed": r.passed,
            "total": r.total,
            "wilson_low": r.wilson_low,
            "wilson_high": r.wilson_high,
            "latency_ms_p50": float(r.results["latency_ms"].median()),
        }
        if r.roc_auc is not None:
            out["roc_auc"] = r.roc_auc
        if c:
            out |= {"previous_pass_rate": c.previous_rate, "p_value_vs_previous": c.p_value}
        return out

    def row(self) -> dict[str, Any]:
        """The set's line of the summary table."""
        r, c, s = self.run, self.comparison, self.run.summary()
        return {
            "set": f"{r.set_name}@{r.version}",
            "pass_rate": s["pass_rate"],
            "passed": f"{r.passed}/{r.total}",
            "wilson_95": f"[{s['wilson_95'][0]}, {s['wilson_95'][1]}]",
            "roc_auc": s["roc_auc"],
            "previous": "none" if not c else round(c.previous_rate, 4),
            "p_drop": "" if not c else f"{c.p_value:.3g}",
            "significant_drop": "yes" if self.significant_drop else "",
        }


@dataclass
class ProbeReport:
    """Every configured golden set answered by one target; each run is compared with its previous run in turn."""

    target: str  # the target's URL
    alpha: float
    runs: list[ProbeRun]
    outcomes: list[SetOutcome] = field(default_factory=list)

    def compare(self, run: ProbeRun, previous: PreviousRun | None) -> SetOutcome:
        """Compare `run` with its previous run (none: nothing to compare) and keep the outcome."""
        cmp = compare(run.passed, run.total, previous.passed, previous.total, self.alpha) if previous else None
        self.outcomes.append(SetOutcome(run, self.alpha, previous, cmp))
        return self.outcomes[-1]

    @property
    def drops(self) -> list[str]:
        """Sets whose pass rate dropped significantly."""
        return [o.run.set_name for o in self.outcomes if o.significant_drop]

    @property
    def pass_rate(self) -> float:
        """The first set's pass rate (0 without sets)."""
        return self.runs[0].pass_rate if self.runs else 0.0

    def failures(self, limit: int = 20) -> dict[str, list[dict]]:
        """Per set, the first `limit` failed probes: id, expected and the answer."""
        return {
            r.set_name: r.results[~r.results["passed"]][["id", "expected", "answer"]].head(limit).to_dict("records")
            for r in self.runs
        }

    def markdown(self) -> str:
        """One line per compared set."""
        rows = [o.row() for o in self.outcomes]
        keys = list(rows[0])
        return markdown_table(keys, [[r[k] for k in keys] for r in rows])


def run_golden_sets(golden_dir: str | Path, cfg: ProbesConfig, env: Mapping[str, str] | None = None) -> ProbeReport:
    """Load the configured golden sets, ask the configured target every probe, score the answers.

    Raises ProbeSetError for a bad set, ConfigError for a bad target and TargetUnavailable when the target cannot
    answer; every set is answered before the report exists, so a target that is down leaves earlier results intact.
    """
    sets = [load_probe_set(golden_dir, s) for s in cfg.sets]
    target = build_target(cfg.target, env)
    return ProbeReport(target.url, cfg.alpha, [run_probes(s, target, cfg.min_similarity) for s in sets])


def _sklearn_roc_auc(y, probs, labels) -> float:
    """One-vs-rest ROC-AUC (scikit-learn imported here: every Dagster run process imports this module, few use it)."""
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(y, probs, multi_class="ovr", labels=labels)
