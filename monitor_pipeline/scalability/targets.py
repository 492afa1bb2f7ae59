"""What a sweep measures: the embedded MiniLM encoder, the project's LSTM forecaster (inference and training).

A target turns one sweep point `(x, series)` into a callable that does one repetition of work and says how much it did;
the sweep times it. Inputs are built once per point, outside the timed call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from monitor_pipeline.errors import ConfigError, MonitorError
from monitor_pipeline.settings.scalability import ScalabilityConfig

WORDS = "the model data time user request answer service system value".split()  # one WordPiece token each
MAX_MINILM_TOKENS = 256  # all-MiniLM-L6-v2 truncates longer inputs


class TargetError(MonitorError):
    """The target failed to do a repetition's work (an endpoint answering errors, a device out of memory)."""


@dataclass
class Work:
    """What one repetition did: items (sentences, sequences, requests, training samples) and tokens processed."""

    items: int
    tokens: int = 0
    latencies_ms: list[float] | None = None  # per request (endpoints); else the repetition's wall time is the latency


def resolve_device(device: str) -> str:
    """`auto` → cuda when torch sees a GPU, else cpu; `cuda` without a GPU is a config error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("scalability.device: cuda was asked for but torch sees no GPU; use auto or cpu")
    return device


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


class MiniLMTarget:
    """The embedded all-MiniLM-L6-v2 encoder: `encode` on `x` texts of `series` tokens each."""

    sweep, axis, series_key, role = "minilm_inference", "batch_size", "length", "serving"

    def __init__(self, cfg: ScalabilityConfig) -> None:
        too_long = [n for n in cfg.lengths if not 3 <= n <= MAX_MINILM_TOKENS]
        if too_long:
            raise ConfigError(
                f"scalability.lengths: {too_long} outside 3..{MAX_MINILM_TOKENS} tokens (MiniLM's window)"
            )
        self.device = resolve_device(cfg.device)
        self.name = "local:all-MiniLM-L6-v2"
        self.grid = [(b, n) for n in cfg.lengths for b in cfg.batch_sizes]

    def prepare(self) -> None:
        """Load the encoder (once per process) outside any timing."""
        from monitor_pipeline.drift_quality.embeddings import load_encoder

        self.model = load_encoder(self.device)

    def call(self, x: int, series: int | None) -> Callable[[], Work]:
        """One `encode` of a batch of x distinct texts, each exactly `series` tokens with [CLS] and [SEP]."""
        length = int(series or 0)
        texts = [" ".join(WORDS[(i + j) % len(WORDS)] for i in range(length - 2)) for j in range(x)]

        def run() -> Work:
            self.model.encode(texts, batch_size=x, show_progress_bar=False, convert_to_numpy=True)
            return Work(items=x, tokens=x * length)

        return run


class LSTMInferenceTarget:
    """The forecaster's torch module (`SeasonalRNN`, LSTM cell): a forward pass on x windows of `series` steps."""

    sweep, axis, series_key, role = "lstm_inference", "batch_size", "length", "serving"

    def __init__(self, cfg: ScalabilityConfig) -> None:
        self.device = resolve_device(cfg.device)
        self.hidden, self.horizon = cfg.lstm_hidden, cfg.lstm_horizon
        self.name = f"local:lstm(hidden={self.hidden})"
        self.grid = [(b, n) for n in cfg.lengths for b in cfg.batch_sizes]

    def prepare(self) -> None:
        """Build the module on the device (weights do not change inference time)."""
        import torch

        from monitor_pipeline.forecast.neural import SeasonalRNN

        torch.manual_seed(0)
        self.model = SeasonalRNN("lstm", self.hidden, 1, self.horizon, 0.0, 1.0).to(self.device).eval()

    def call(self, x: int, series: int | None) -> Callable[[], Work]:
        """One no-grad forward of a (x, series, 4) batch."""
        import torch

        gen = torch.Generator().manual_seed(x * 1000 + int(series or 0))
        past = torch.randn(x, int(series or 1), 4, generator=gen).to(self.device)
        naive = torch.randn(x, 2 * self.horizon, generator=gen).to(self.device)  # seasonal-naive path + profile

        def run() -> Work:
            with torch.inference_mode():
                self.model(past, naive)
            _sync(self.device)
            return Work(items=x, tokens=x * int(series or 1))

        return run


class LSTMTrainingTarget:
    """`RNNForecaster` (LSTM) trained for a fixed number of epochs on x training windows with hidden size `series`."""

    sweep, axis, series_key, role = "lstm_training", "train_samples", "hidden", "training"
    SEASON, WINDOW = 24, 24

    def __init__(self, cfg: ScalabilityConfig) -> None:
        small = [n for n in cfg.train_samples if n < 101]
        if small:
            raise ConfigError(
                f"scalability.train_samples: {small} below 101 (the forecaster needs 100 training windows)"
            )
        self.device = resolve_device(cfg.device)
        self.epochs, self.horizon = cfg.train_epochs, cfg.lstm_horizon
        self.name = f"local:lstm-training(epochs={self.epochs})"
        self.grid = [(n, h) for h in cfg.hidden_sizes for n in cfg.train_samples]

    def prepare(self) -> None:
        """Nothing to load: each repetition builds a fresh forecaster."""

    def call(self, x: int, series: int | None) -> Callable[[], Work]:
        """One full `fit` (no early stopping) on a seeded daily-seasonal series giving exactly x training windows."""
        from monitor_pipeline.forecast.neural import RNNForecaster

        n = x + self.WINDOW + self.SEASON + self.horizon - 1
        t = np.arange(n)
        y = 100 + 20 * np.sin(2 * np.pi * t / self.SEASON) + np.random.default_rng(x).normal(0, 2, n)

        def run() -> Work:
            f = RNNForecaster(
                self.SEASON,
                "lstm",
                horizon=self.horizon,
                window=self.WINDOW,
                hidden=int(series or 32),
                epochs=self.epochs,
                patience=self.epochs,
                device=self.device,
                max_samples=x,
            )
            f.fit(y)
            return Work(items=x * self.epochs)

        return run


def build_targets(cfg: ScalabilityConfig, env: dict[str, str] | None = None) -> list:
    """The targets of `scalability.target`: local (MiniLM), lstm (inference, and training when enabled), openai (URL)."""
    if cfg.target == "local":
        return [MiniLMTarget(cfg)]
    if cfg.target == "lstm":
        return [LSTMInferenceTarget(cfg)] + ([LSTMTrainingTarget(cfg)] if cfg.train_samples else [])
    from monitor_pipeline.scalability.endpoint import EndpointTarget

    return [EndpointTarget.from_config(cfg, env)]
