"""Exponential moving average of a model's weights, shared by policy training (lad_core.policy) and latent
training (lad_core.latent, stage2.ema_decay)."""

from __future__ import annotations

import torch


class EmaWeights:
    """Exponential moving average of a model's parameters (diffusers EMAModel with Chi et al.'s warm-up:
    decay = 1 - (1 + step / inv_gamma) ** -power, capped at ``max_decay``). Saved as a plain state dict."""

    def __init__(self, model: torch.nn.Module, max_decay: float = 0.9999, power: float = 0.75,
                 inv_gamma: float = 1.0):
        from diffusers.training_utils import EMAModel

        self.names = [n for n, _ in model.named_parameters()]
        self._ema = EMAModel(model.parameters(), decay=max_decay, min_decay=0.0, use_ema_warmup=True,
                             inv_gamma=inv_gamma, power=power)

    def step(self, model: torch.nn.Module) -> None:
        self._ema.step(model.parameters())

    @property
    def optimization_step(self) -> int:
        return int(self._ema.optimization_step)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Parameter name -> EMA tensor (the model's naming, so it loads into a fresh model)."""
        return {n: p.detach().clone().contiguous() for n, p in zip(self.names, self._ema.shadow_params)}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], optimization_step: int) -> None:
        missing = [n for n in self.names if n not in tensors]
        if missing:
            raise KeyError(f"EMA weights lack {missing[:5]}")
        with torch.no_grad():
            for n, p in zip(self.names, self._ema.shadow_params):
                p.copy_(tensors[n])
        self._ema.optimization_step = optimization_step

    def swap(self, model: torch.nn.Module) -> None:
        """Exchange the model's weights with the average (a second call restores both): validate the average
        mid-training, or ship it at the end."""
        with torch.no_grad():
            for p, shadow in zip(model.parameters(), self._ema.shadow_params):
                live = p.detach().clone()
                p.copy_(shadow)
                shadow.copy_(live)
