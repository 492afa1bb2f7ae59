"""LSTM and GRU forecasters (torch): a recurrent encoder of the recent past that weighs and corrects baseline paths.

The net sees the last `window` values (relative to the local level), their difference from one season earlier and the
time of day (sin/cos), and candidate paths for the `horizon` steps ahead (see rnn_inputs: seasonal naive, a
level-adjusted multi-season profile, the last value, moving means). Per step ahead it learns a linear mix of those
paths (starting as seasonal naive: an untrained net is the baseline) plus a correction from the encoder. Training
minimises the absolute error (what MASE scores), stops early on a chronological hold-out, and `seeds` nets trained
from different seeds are averaged. Trains on CUDA with mixed precision when available, else on CPU, seeded and
reproducible there.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from monitor_pipeline.forecast import rnn_inputs
from monitor_pipeline.forecast.base import Forecast, Forecaster


class SeasonalRNN(nn.Module):
    """The torch module: an LSTM/GRU encoder, a per-step linear mix of baseline paths and a correction head."""

    def __init__(
        self,
        cell: str,
        hidden: int,
        layers: int,
        horizon: int,
        mean: float,
        std: float,
        features: int = 4,
        baselines: int = 2,
    ) -> None:
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn(input_size=features, hidden_size=hidden, num_layers=layers, batch_first=True)
        self.head = nn.Sequential(
            nn.Linear(hidden + baselines * horizon, hidden), nn.ReLU(), nn.Linear(hidden, horizon)
        )
        self.horizon, self.baselines = horizon, baselines
        last = self.head[2]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)  # no correction at first
        nn.init.zeros_(last.bias)
        mix = torch.zeros(baselines, horizon)
        mix[0] = 1.0  # start as the seasonal-naive forecast
        self.mix = nn.Parameter(mix)
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, past: torch.Tensor, naive: torch.Tensor) -> torch.Tensor:
        """past: (batch, window, features); naive: (batch, baselines * horizon) paths. Returns (batch, horizon)."""
        out, _ = self.rnn(past)
        paths = naive.view(-1, self.baselines, self.horizon)
        return (paths * self.mix).sum(dim=1) + self.head(torch.cat([out[:, -1], naive], dim=1))


class Ensemble(nn.Module):
    """The mean forecast of several SeasonalRNNs trained from different seeds."""

    def __init__(self, members: list[SeasonalRNN]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, past: torch.Tensor, naive: torch.Tensor) -> torch.Tensor:
        """The members' mean forecast."""
        return torch.stack([m(past, naive) for m in self.members]).mean(dim=0)


class RNNForecaster(Forecaster):
    """LSTM or GRU trained on sliding windows; intervals from held-out residual quantiles per step ahead."""

    def __init__(
        self,
        season: int,
        cell: str = "lstm",
        horizon: int = 12,
        window: int | None = None,
        hidden: int = 32,
        layers: int = 1,
        epochs: int = 30,
        batch_size: int = 256,
        lr: float = 3e-3,
        patience: int = 5,
        seed: int = 0,
        device: str | None = None,
        level: float = 0.95,
        max_samples: int = 20_000,
        base_seasons: int = 7,
        seeds: int = 2,
        epoch_samples: int = 4096,
    ) -> None:
        super().__init__(season, level)
        if cell not in ("lstm", "gru"):
            raise ValueError("cell must be lstm or gru")
        self.cell, self.name = cell, cell
        self.horizon, self.window = horizon, window or min(season, 48)
        self.hidden, self.layers, self.epochs, self.batch_size, self.lr = hidden, layers, epochs, batch_size, lr
        self.patience, self.seed, self.max_samples, self.seeds = patience, seed, max_samples, max(1, seeds)
        self.epoch_samples = epoch_samples
        self.base_seasons = max(1, base_seasons)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.history: list[dict] = []  # per-epoch train/validation loss (all members in turn), for MLflow
        self.train_seconds = 0.0

    @property
    def min_length(self) -> int:
        # Enough windows for a training and a validation split.
        return self.window + self.season + self.horizon + 100

    def _length_hint(self) -> str:
        return f"window {self.window} + season {self.season} + horizon {self.horizon} + 100 training windows"

    def _inputs(self, z: np.ndarray, origins: np.ndarray, phase0: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return rnn_inputs.inputs(z, origins, self.window, self.season, self.horizon, self.base_seasons, phase0)

    def _fit(self, y: np.ndarray, phase0: int) -> None:
        self.mu, self.sd = float(np.mean(y)), float(np.std(y)) or 1.0
        z = (y - self.mu) / self.sd
        origins = np.arange(self.window + self.season, len(z) - self.horizon + 1)[-self.max_samples :]
        past, naive, level = self._inputs(z, origins, phase0)  # the most recent windows matter most: count bounded
        target = (z[origins[:, None] + np.arange(self.horizon)] - level[:, None]).astype(np.float32)
        n_val = max(1, len(past) // 7)  # chronological hold-out: early stopping and interval calibration
        dev = torch.device(self.device)
        tensors = [torch.from_numpy(a) for a in (past, naive, target)]
        train = [t[:-n_val].to(dev) for t in tensors]
        val = [t[-n_val:].to(dev) for t in tensors]
        t0 = time.perf_counter()
        # The nets start from the baselines' best blend on the training split (not the hold-out).
        mix0 = torch.from_numpy(rnn_inputs.median_mix(naive[:-n_val], target[:-n_val])).float()
        self.model = Ensemble([self._train_one(train, val, mix0, self.seed + k, k) for k in range(self.seeds)]).to(dev)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        self.train_seconds = time.perf_counter() - t0
        # Symmetric interval per step ahead from the held-out absolute residuals (split conformal).
        resid = np.abs(self._run(val[0], val[1]) - val[2].cpu().numpy())
        q = min(1.0, np.ceil((len(resid) + 1) * self.level) / len(resid))
        self.halfwidth = np.quantile(resid, q, axis=0) * self.sd

    def _train_one(
        self, train: list[torch.Tensor], val: list[torch.Tensor], mix0: torch.Tensor, seed: int, member: int
    ) -> SeasonalRNN:
        """One member: Adam on the absolute error, early stopping on the hold-out, best epoch's weights kept."""
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        dev = train[0].device
        model = SeasonalRNN(
            self.cell,
            self.hidden,
            self.layers,
            self.horizon,
            self.mu,
            self.sd,
            rnn_inputs.FEATURES,
            rnn_inputs.BASELINES,
        )
        with torch.no_grad():
            model.mix.copy_(mix0)
        model = model.to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        # Cosine decay over the epoch budget: big steps first, fine ones near the cap (early stopping may end sooner).
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, self.epochs), eta_min=self.lr / 20)
        amp = dev.type == "cuda"
        scaler = torch.amp.GradScaler("cuda", enabled=amp)
        # Small series: smaller batches, so an epoch still makes a few dozen optimiser steps.
        batch = int(min(self.batch_size, max(32, len(train[0]) // 32)))
        best, best_state, bad = float("inf"), None, 0
        for epoch in range(self.epochs):
            model.train()
            # An epoch is at most `epoch_samples` random windows: long series cost the same per epoch as medium ones.
            order = torch.from_numpy(rng.permutation(len(train[0]))[: self.epoch_samples]).to(dev)
            total = 0.0
            for i in range(0, len(order), batch):
                idx = order[i : i + batch]
                opt.zero_grad(set_to_none=True)
                with torch.autocast(device_type=dev.type, dtype=torch.float16, enabled=amp):
                    loss = nn.functional.l1_loss(model(train[0][idx], train[1][idx]).float(), train[2][idx])
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                total += float(loss.detach()) * len(idx)
            sched.step()
            val_loss = float(np.mean(np.abs(self._run(val[0], val[1], model) - val[2].cpu().numpy())))
            self.history.append(
                {"epoch": epoch, "member": member, "train_loss": total / len(order), "val_loss": val_loss}
            )
            if val_loss < best - 1e-6:
                best, bad = val_loss, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
                if bad >= self.patience:
                    break
        if best_state is not None:
            model.load_state_dict(best_state)
        return model

    @torch.no_grad()
    def _run(self, past: torch.Tensor, naive: torch.Tensor, model: nn.Module | None = None) -> np.ndarray:
        model = model or self.model
        model.eval()
        return model(past, naive).float().cpu().numpy()

    def _forward(self, past: np.ndarray, naive: np.ndarray) -> np.ndarray:
        """Normalised, level-relative forecasts for numpy inputs, in chunks."""
        dev = torch.device(self.device)
        return np.concatenate(
            [
                self._run(torch.from_numpy(past[i : i + 4096]).to(dev), torch.from_numpy(naive[i : i + 4096]).to(dev))
                for i in range(0, len(past), 4096)
            ]
        )

    def _predict(self, history: np.ndarray, h: int, phase0: int) -> Forecast:
        need = self.window + self.season
        if len(history) < need:
            raise ValueError(f"{self.name} needs at least {need} points of history to forecast")
        z = (history - self.mu) / self.sd
        out: list[np.ndarray] = []
        # Direct multi-step for `horizon` steps; longer horizons roll forward on the model's own forecasts.
        while sum(len(o) for o in out) < h:
            zz = np.concatenate([z, *out]) if out else z
            tail = zz[-max(need, rnn_inputs.MEANS[-1], rnn_inputs.LEVEL, self.base_seasons * self.season) :]
            past, naive, level = self._inputs(tail, np.array([len(tail)]), (phase0 + len(zz) - len(tail)) % self.season)
            out.append(self._forward(past, naive)[0] + level[0])
        mean = np.concatenate(out)[:h] * self.sd + self.mu
        steps = np.arange(h)
        width = self.halfwidth[np.minimum(steps, self.horizon - 1)] * np.sqrt(steps // self.horizon + 1)
        return Forecast(mean, mean - width, mean + width, self.level)

    @property
    def warmup(self) -> int:
        return self.window + self.season

    def _one_step(self, y: np.ndarray, start: int, phase0: int) -> Forecast:
        if start < self.warmup:
            raise ValueError(f"{self.name} scores from {self.warmup} points in")
        z = (y - self.mu) / self.sd
        past, naive, level = self._inputs(z, np.arange(start, len(y)), phase0)
        mean = (self._forward(past, naive)[:, 0] + level) * self.sd + self.mu
        return Forecast(mean, mean - self.halfwidth[0], mean + self.halfwidth[0], self.level)

    def params(self) -> dict:
        """Architecture and training settings, for MLflow."""
        return {
            **super().params(),
            "cell": self.cell,
            "horizon": self.horizon,
            "window": self.window,
            "hidden": self.hidden,
            "layers": self.layers,
            "base_seasons": self.base_seasons,
            "epochs": self.epochs,
            "epochs_run": len(self.history),
            "seeds": self.seeds,
            "loss": "l1",
            "epoch_samples": self.epoch_samples,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "seed": self.seed,
            "device": self.device,
            "mixed_precision": self.device.startswith("cuda"),
        }
