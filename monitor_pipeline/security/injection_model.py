"""The learned prompt-injection / jailbreak detector that runs beside the rules (rule kind `injection_model`).

Two stages. Stage 1 is logistic regression over hashed byte n-grams (security.features): vectorised over a whole
column, it scores every prompt. Prompts whose stage-1 probability falls in the uncertain band go to stage 2: the
embedded MiniLM sentence encoder and a logistic head over its embedding, which also names the nearest known attack.
The fitted model is one .npz file in the package (no pickle, no download at run time), made by
scripts/train_injection.py; its metadata carries the version, training sources and evaluation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from monitor_pipeline.errors import MonitorError
from monitor_pipeline.security.features import FeatureSpec, as_large, normalise, row_scores, window_buckets

MODEL_PATH = Path(__file__).resolve().parent / "model" / "injection_model.npz"
CHUNK_ROWS = 4096  # rows per numpy pass: keeps the per-chunk arrays in cache (4x faster than 64k-row chunks)
EMBED_CHARS = 1000  # MiniLM reads 128 tokens; the first 1000 characters hold them


class ModelUnavailable(MonitorError):
    """The model file is missing or unreadable."""


@dataclass
class InjectionModel:
    """A fitted two-stage detector: n-gram weights and bias, MiniLM head, known-attack embeddings, metadata."""

    spec: FeatureSpec
    weights: dict[int, np.ndarray]
    bias: float
    head: np.ndarray  # stage-2 logistic weights over the 384-d embedding
    head_bias: float
    attacks: np.ndarray  # unit embeddings of known training attacks (float16), for "nearest known attack"
    attack_texts: list[str]
    meta: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        """The model version (`injection-<date>-<hash>`)."""
        return str(self.meta.get("version", "unknown"))

    def save(self, path: Path) -> None:
        """Write the model as one compressed .npz (no pickled objects)."""
        arrays: dict[str, Any] = {f"w{n}": w.astype(np.float16) for n, w in self.weights.items()}
        arrays |= dict(
            head=self.head.astype(np.float32),
            attacks=self.attacks.astype(np.float16),
            meta=np.array(
                json.dumps(
                    self.meta
                    | {
                        "ngrams": list(self.spec.ngrams),
                        "bits": self.spec.bits,
                        "head_chars": self.spec.head_chars,
                        "tail_chars": self.spec.tail_chars,
                        "bias": self.bias,
                        "head_bias": self.head_bias,
                        "attack_texts": self.attack_texts,
                    },
                    ensure_ascii=False,
                )
            ),
        )
        np.savez_compressed(path, **arrays)


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> InjectionModel:
    """The fitted model shipped in the package (or the one at `path`)."""
    file = Path(path) if path else MODEL_PATH
    try:
        with np.load(file, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            spec = FeatureSpec(
                tuple(meta.pop("ngrams")), meta.pop("bits"), meta.pop("head_chars"), meta.pop("tail_chars")
            )
            weights = {n: z[f"w{n}"].astype(np.float32) for n in spec.ngrams}
            return InjectionModel(
                spec=spec,
                weights=weights,
                bias=float(meta.pop("bias")),
                head=z["head"].astype(np.float32),
                head_bias=float(meta.pop("head_bias")),
                attacks=z["attacks"],
                attack_texts=list(meta.pop("attack_texts")),
                meta=meta,
            )
    except (OSError, KeyError, ValueError) as exc:
        raise ModelUnavailable(
            f"{file}: cannot read the injection model ({exc}); run scripts/train_injection.py"
        ) from exc


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


@dataclass
class Scores:
    """Per row: the final probability, the stage that gave it (1 or 2), whether the text was cut; and counts."""

    prob: np.ndarray
    stage: np.ndarray
    cut: np.ndarray
    stage1: np.ndarray
    stats: dict = field(default_factory=dict)
    nearest: dict[int, tuple[str, float]] = field(default_factory=dict)  # stage-2 rows: nearest known attack


def stage1(model: InjectionModel, texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Stage-1 probability of every row, and which rows were cut to head + tail (chunked numpy passes)."""
    texts = as_large(texts)
    prob = np.zeros(len(texts), np.float64)
    cut = np.zeros(len(texts), bool)
    for i in range(0, len(texts), CHUNK_ROWS):
        norm, c = normalise(texts.slice(i, CHUNK_ROWS), model.spec)
        s, _ = row_scores(norm, model.weights, model.spec)
        prob[i : i + len(s)] = _sigmoid(s + model.bias)
        cut[i : i + len(s)] = c
    return prob, cut


def gpu_present() -> bool:
    """Whether an NVIDIA GPU is visible, without importing torch (which alone costs about a second)."""
    return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists()


def embed(texts: list[str]) -> np.ndarray:
    """Unit MiniLM embeddings of the texts (first EMBED_CHARS characters; 128 tokens)."""
    from monitor_pipeline.drift_quality.embeddings import encode, load_encoder

    model = load_encoder()
    # Attacks show themselves early: 128 tokens halve the cost of the encoder's 256. The encoder is shared (cached)
    # with the drift reports, so its own length is restored afterwards.
    before, model.max_seq_length = model.max_seq_length, 128
    try:
        return encode([t[:EMBED_CHARS] for t in texts])
    finally:
        model.max_seq_length = before


def score(
    model: InjectionModel,
    texts: pa.Array,
    second_stage: bool | str = True,
    band: tuple[float, float] = (0.2, 0.9),
    max_second_stage: int = 5000,
) -> Scores:
    """Stage 1 over every row; stage 2 over the rows whose stage-1 probability is inside `band` (at most
    `max_second_stage`, most uncertain first; the rest keep their stage-1 score). `second_stage="auto"` runs stage 2
    only on a machine with a GPU: on CPU, loading and running MiniLM costs more than all the other rules together."""
    texts = as_large(texts)
    p1, cut = stage1(model, texts)
    prob, stage = p1.copy(), np.ones(len(p1), np.int8)
    nearest: dict[int, tuple[str, float]] = {}
    uncertain = np.flatnonzero((p1 >= band[0]) & (p1 < band[1]))
    stats = {"rows": len(p1), "uncertain": len(uncertain), "second_stage_rows": 0, "second_stage": "off"}
    if second_stage == "auto":
        second_stage = gpu_present()
        stats["second_stage"] = "off (auto: no GPU)" if not second_stage else "off"
    if second_stage and len(uncertain):
        # Most uncertain first: the rows nearest the middle of the band gain most from a second opinion.
        mid = (band[0] + band[1]) / 2
        take = uncertain[np.argsort(np.abs(p1[uncertain] - mid), kind="stable")[:max_second_stage]]
        try:
            emb = embed([str(t) for t in texts.take(pa.array(take)).to_pylist()])
        except (ImportError, MonitorError) as exc:  # no torch / no embeddings extra: stage-1 scores stand
            stats["second_stage"] = f"unavailable: {exc}"
        else:
            prob[take] = _sigmoid(emb @ model.head + model.head_bias)
            stage[take] = 2
            sims = emb @ model.attacks.astype(np.float32).T  # one product for all rows, not one encode per finding
            best = sims.argmax(axis=1)
            nearest = {
                int(r): (model.attack_texts[int(b)], float(sims[k, b]))
                for k, (r, b) in enumerate(zip(take, best, strict=True))
            }
            stats |= {
                "second_stage": "on",
                "second_stage_rows": len(take),
                "second_stage_skipped": len(uncertain) - len(take),
            }
    return Scores(prob, stage, cut, p1, stats, nearest)


def top_ngrams(model: InjectionModel, text: str, k: int = 3) -> list[tuple[str, float]]:
    """The k n-grams of `text` that pushed its stage-1 score up most, with their weights."""
    norm, _ = normalise(pa.array([text], pa.large_string()), model.spec)
    raw = norm[0].as_py().encode("utf-8")
    best: dict[str, float] = {}
    for n in model.spec.ngrams:
        buckets = window_buckets(raw, n, model.spec.bits)
        w = model.weights[n][buckets]
        for i in np.argsort(-w)[: 4 * k]:
            if w[i] <= 0:
                break
            # Widen the byte window to whole characters so the snippet is readable.
            gram = raw[max(0, i - 2) : i + n + 2].decode("utf-8", errors="ignore").strip()
            if gram and not any(gram in g or g in gram for g in best):
                best[gram] = float(w[i])
    return sorted(best.items(), key=lambda kv: -kv[1])[:k]


def explain(
    model: InjectionModel,
    text: str,
    prob: float,
    stage: int,
    cut: bool = False,
    nearest: tuple[str, float] | None = None,
) -> str:
    """One line an on-call engineer can judge: stage, score, strongest n-grams and (stage 2) nearest known attack."""
    out = f"injection_model stage {stage} p={prob:.2f}"
    if nearest is not None:
        out += f"; nearest known attack (cos {nearest[1]:.2f}): {nearest[0][:80]!r}"
    grams = top_ngrams(model, text)
    if grams:
        out += "; n-grams: " + ", ".join(f"{g!r} {w:+.1f}" for g, w in grams)
    if cut:
        out += "; long text scored on its head and tail"
    return out
