"""LSTM and GRU forecasters (torch): a recurrent encoder of the recent past that corrects a seasonal baseline.

The network sees the last `window` values, their difference from one season earlier and the time of day (sin/cos)
and, for each of the `horizon` steps ahead, two baselines: the value one season earlier (seasonal naive) and a
seasonal profile (the mean at that phase over the last `base_seasons` cycles, moved to the last cycle's level); it
outputs a correction to the seasonal-naive path. Starting from the baseline makes small data sets safe (an untrained
net is the baseline) and lets a short window work on long seasons; the profile, less noisy than a one-cycle copy,
lets the net lean on several cycles where that pays.
Trains on CUDA with mixed precision when available, else on CPU, seeded and reproducible there.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch import nn

from monitor_pipeline.forecast.base import Forecast, Forecaster


class SeasonalRNN(nn.Module):
    """The torch module: normalisation buffers, an LSTM/GRU encoder and a head producing horizon corrections."""

    def __init__(self, cell: str, hidden: int, layers: int, horizon: int, mean: float, std: float) -> None:
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn(input_size=4, hidden_size=hidden, num_layers=layers, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden + 2 * horizon, hidden), nn.ReLU(), nn.Linear(hidden, horizon))
        self.horizon = horizon
        nn.init.zeros_(self.head[2].weight)  # start as the seasonal-naive forecast
        nn.init.zeros_(self.head[2].bias)
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, past: torch.Tensor, naive: torch.Tensor) -> torch.Tensor:
        """past: (batch, window, 4) = normalised value, seasonal difference, sin, cos; naive: (batch, 2 * horizon) baselines.

        All normalised; returns the normalised forecast."""
        out, _ = self.rnn(past)
        return naive[:, :self.horizon] + self.head(torch.cat([out[:, -1], naive], dim=1))


class RNNForecaster(Forecaster):
    """LSTM or GRU trained on sliding windows; intervals from held-out residual quantiles per step ahead."""

    def __init__(self, season: int, cell: str = "lstm", horizon: int = 12, window: int | None = None, hidden: int = 32,
                 layers: int = 1, epochs: int = 30, batch_size: int = 256, lr: float = 3e-3, patience: int = 5,
                 seed: int = 0, device: str | None = None, level: float = 0.95, max_samples: int = 20_000,
                 base_seasons: int = 7) -> None:
        super().__init__(season, level)
        if cell not in ("lstm", "gru"):
            raise ValueError("cell must be lstm or gru")
        self.cell, self.name = cell, cell
        self.horizon, self.window = horizon, window or min(season, 48)
        self.hidden, self.layers, self.epochs, self.batch_size, self.lr = hidden, layers, epochs, batch_size, lr
        self.patience, self.seed, self.max_samples = patience, seed, max_samples
        self.base_seasons = max(1, base_seasons)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.history: list[dict] = []  # per-epoch train/validation loss, for MLflow
        self.train_seconds = 0.0

    @property
    def min_length(self) -> int:
        # Enough windows for a training and a validation split.
        return self.window + self.season + self.horizon + 100

    def _length_hint(self) -> str:
        return f"window {self.window} + season {self.season} + horizon {self.horizon} + 100 training windows"

    def _features(self, z: np.ndarray, phase0: int) -> np.ndarray:
        """Per step: value, value minus one season earlier (0 for the first season), sin and cos of the phase."""
        ang = 2 * np.pi * (np.arange(len(z)) + phase0) / self.season
        diff = np.zeros_like(z)
        diff[self.season:] = z[self.season:] - z[:-self.season]
        return np.stack([z, diff, np.sin(ang), np.cos(ang)], axis=1)

    def _samples(self, z: np.ndarray, phase0: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(past, naive, target) for every origin with a full window, a full season behind it and h steps ahead."""
        n, w, h, s = len(z), self.window, self.horizon, self.season
        origins = np.arange(w + s, n - h + 1)
        past = sliding_window_view(self._features(z, phase0), (w, 4))[:, 0][origins - w]
        naive = self._naive(z, origins)
        target = sliding_window_view(z, h)[origins] if len(origins) else np.zeros((0, h))
        return past.astype(np.float32), naive.astype(np.float32), target.astype(np.float32)

    def _naive(self, z: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """Per origin, the seasonal-naive path and the seasonal-profile path side by side: (origins, 2 * horizon)."""
        s, o = self.season, origins[:, None]
        k = (np.arange(self.horizon) % s)[None, :]  # the last cycle repeats when h > season
        # Profile: the mean of the same phase over the last `base_seasons` cycles the history holds. Level: shifted
        # by the last cycle's mean minus those cycles' mean, so a trend or a level step is not averaged away.
        cycles = np.minimum(self.base_seasons, o // s)
        total = np.zeros((len(origins), self.horizon))
        for j in range(1, self.base_seasons + 1):
            total += np.where(j <= cycles, z[np.maximum(o - j * s + k, 0)], 0.0)
        c = np.concatenate([[0.0], np.cumsum(z)])
        level = (c[o] - c[o - s]) / s - (c[o] - c[o - cycles * s]) / (cycles * s)
        return np.concatenate([z[o - s + k], total / cycles + level], axis=1)  # (origins, 2 * horizon)

    def _fit(self, y: np.ndarray, phase0: int) -> None:
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self.mu, self.sd = float(np.mean(y)), float(np.std(y)) or 1.0
        past, naive, target = self._samples((y - self.mu) / self.sd, phase0)
        if len(past) > self.max_samples:  # the most recent windows matter most; keep the count bounded
            past, naive, target = past[-self.max_samples:], naive[-self.max_samples:], target[-self.max_samples:]
        n_val = max(1, len(past) // 7)  # chronological hold-out: early stopping and interval calibration
        dev = torch.device(self.device)
        tensors = [torch.from_numpy(a) for a in (past, naive, target)]
        train = [t[:-n_val].to(dev) for t in tensors]
        val = [t[-n_val:].to(dev) for t in tensors]
        self.model = SeasonalRNN(self.cell, self.hidden, self.layers, self.horizon, self.mu, self.sd).to(dev)
        opt = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        amp = dev.type == "cuda"
        scaler = torch.amp.GradScaler("cuda", enabled=amp)
        # Small series: smaller batches, so an epoch still makes a few dozen optimiser steps.
        batch = int(min(self.batch_size, max(32, len(train[0]) // 32)))
        best, best_state, bad = float("inf"), None, 0
        t0 = time.perf_counter()
        for epoch in range(self.epochs):
            self.model.train()
            order = torch.from_numpy(rng.permutation(len(train[0]))).to(dev)
            total = 0.0
            for i in range(0, len(order), batch):
                idx = order[i:i + batch]
                opt.zero_grad(set_to_none=True)
                with torch.autocast(device_type=dev.type, dtype=torch.float16, enabled=amp):
                    loss = nn.functional.mse_loss(self.model(train[0][idx], train[1][idx]), train[2][idx])
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                total += float(loss.detach()) * len(idx)
            val_loss = self._loss(val)
            self.history.append({"epoch": epoch, "train_loss": total / len(order), "val_loss": val_loss})
            if val_loss < best - 1e-6:
                best, bad = val_loss, 0
                best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            else:
                bad += 1
                if bad >= self.patience:
                    break
        if best_state is not None:
            self.model.load_state_dict(best_state)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        self.train_seconds = time.perf_counter() - t0
        # Symmetric interval per step ahead from the held-out absolute residuals (split conformal).
        resid = np.abs(self._run(val[0], val[1]) - val[2].cpu().numpy())
        q = min(1.0, np.ceil((len(resid) + 1) * self.level) / len(resid))
        self.halfwidth = np.quantile(resid, q, axis=0) * self.sd

    @torch.no_grad()
    def _run(self, past: torch.Tensor, naive: torch.Tensor) -> np.ndarray:
        self.model.eval()
        return self.model(past, naive).float().cpu().numpy()

    def _loss(self, data: list[torch.Tensor]) -> float:
        return float(np.mean((self._run(data[0], data[1]) - data[2].cpu().numpy()) ** 2))

    def _predict(self, history: np.ndarray, h: int, phase0: int) -> Forecast:
        need = self.window + self.season
        if len(history) < need:
            raise ValueError(f"{self.name} needs at least {need} points of history to forecast")
        z = (history - self.mu) / self.sd
        out = []
        # Direct multi-step for `horizon` steps; longer horizons roll forward on the model's own forecasts.
        while sum(len(o) for o in out) < h:
            zz = np.concatenate([z, *out]) if out else z
            n = len(zz)
            tail = zz[-(self.window + self.season):]
            past = self._features(tail, phase0 + n - len(tail))[-self.window:][None].astype(np.float32)
            naive = self._naive(zz, np.array([n])).astype(np.float32)
            dev = torch.device(self.device)
            out.append(self._run(torch.from_numpy(past).to(dev), torch.from_numpy(naive).to(dev))[0])
        mean = np.concatenate(out)[:h] * self.sd + self.mu
        steps = np.arange(h)
        width = self.halfwidth[np.minimum(steps, self.horizon - 1)] * np.sqrt(steps // self.horizon + 1)
        return Forecast(mean, mean - width, mean + width, self.level)

    @property
    def warmup(self) -> int:
        return self.window + self.season

    def _one_step(self, y: np.ndarray, start: int, phase0: int) -> Forecast:
        need = self.warmup
        if start < need:
            raise ValueError(f"{self.name} scores from {need} points in")
        z = (y - self.mu) / self.sd
        origins = np.arange(start, len(y))
        feats = self._features(z, phase0)
        past = sliding_window_view(feats, (self.window, 4))[:, 0][origins - self.window].astype(np.float32)
        naive = self._naive(z, origins).astype(np.float32)
        dev = torch.device(self.device)
        out = np.concatenate([self._run(torch.from_numpy(past[i:i + 4096]).to(dev), torch.from_numpy(naive[i:i + 4096]).to(dev))
                              for i in range(0, len(origins), 4096)])
        mean = out[:, 0] * self.sd + self.mu
        return Forecast(mean, mean - self.halfwidth[0], mean + self.halfwidth[0], self.level)

    def params(self) -> dict:
        """Architecture and training settings, for MLflow."""
        return {**super().params(), "cell": self.cell, "horizon": self.horizon, "window": self.window,
                "hidden": self.hidden, "layers": self.layers, "base_seasons": self.base_seasons, "epochs": self.epochs,
                "epochs_run": len(self.history),
                "batch_size": self.batch_size, "lr": self.lr, "seed": self.seed, "device": self.device,
                "mixed_precision": self.device.startswith("cuda")}
