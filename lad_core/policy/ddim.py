"""Deterministic DDIM sampling (eta = 0) with its coefficients precomputed once per step count.

diffusers' ``DDIMScheduler`` stays the reference: the timesteps and the cumulative alphas come from it
(``set_timesteps``, ``alphas_cumprod``, ``final_alpha_cumprod``), and ``tests/policy/test_policy_ddim.py`` checks
that :meth:`DdimSampler.step` reproduces ``DDIMScheduler.step`` for both prediction types, with and without clipping.
What this saves per action chunk is the scheduler's per-call work (``set_timesteps`` rebuilding the timestep tensor,
indexing ``alphas_cumprod`` and computing square roots on every step, the output dataclass); per step it does two
fused multiply-adds on the (B, H, Da) sample. Measured in ``benchmarks/bench_policy.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class _Step:
    t: int
    sqrt_a: float  # sqrt(alpha_bar_t)
    sqrt_1ma: float  # sqrt(1 - alpha_bar_t)
    sqrt_a_prev: float
    sqrt_1ma_prev: float


class DdimSampler:
    """Wraps a configured diffusers ``DDIMScheduler``; ``schedule(n)`` is cached per step count ``n``."""

    def __init__(self, scheduler):
        cfg = scheduler.config
        self.scheduler = scheduler
        self.prediction_type = cfg.prediction_type
        if self.prediction_type not in ("epsilon", "sample"):
            raise ValueError(f"unsupported prediction_type {self.prediction_type!r}")
        self.clip = float(cfg.clip_sample_range) if cfg.clip_sample and not cfg.thresholding else None
        self._alphas = [float(a) for a in scheduler.alphas_cumprod]
        self._final = float(scheduler.final_alpha_cumprod)
        self._cache: dict[int, list[_Step]] = {}

    def schedule(self, num_inference_steps: int) -> list[_Step]:
        steps = self._cache.get(num_inference_steps)
        if steps is None:
            self.scheduler.set_timesteps(num_inference_steps)
            stride = self.scheduler.config.num_train_timesteps // num_inference_steps
            steps = []
            for t in (int(v) for v in self.scheduler.timesteps):
                a = self._alphas[t]
                a_prev = self._alphas[t - stride] if t - stride >= 0 else self._final
                steps.append(_Step(t, math.sqrt(a), math.sqrt(1 - a), math.sqrt(a_prev), math.sqrt(1 - a_prev)))
            self._cache[num_inference_steps] = steps
        return steps

    def step(self, model_output: torch.Tensor, s: _Step, sample: torch.Tensor) -> torch.Tensor:
        """x_t -> x_{t-stride} (DDIM, eta = 0)."""
        if self.prediction_type == "epsilon":
            x0 = (sample - s.sqrt_1ma * model_output) / s.sqrt_a
            eps = model_output
        else:  # as diffusers: epsilon from the unclipped prediction
            x0 = model_output
            eps = (sample - s.sqrt_a * model_output) / s.sqrt_1ma
        if self.clip is not None:
            x0 = x0.clamp(-self.clip, self.clip)
        return s.sqrt_a_prev * x0 + s.sqrt_1ma_prev * eps
