"""Configuration of the transformer diffusion policy (paper Fig. 4 and Sec. 7.1.1)."""

from __future__ import annotations

from dataclasses import dataclass

from lad_core.policy.configuration import PolicyConfig, _check, _positive


@dataclass(frozen=True)
class TransformerPolicyConfig(PolicyConfig):
    """Tokens for each observation step, the diffusion step and each noisy action step, with sinusoidal positional
    embeddings, through ``n_layers`` transformer encoder layers of width ``d_token``. Paper: 21-step chunks."""

    horizon: int = 21
    n_action_steps: int = 8
    d_token: int = 256
    n_heads: int = 4
    n_layers: int = 6
    dim_feedforward: int = 1024
    dropout: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive("d_token", self.d_token)
        _positive("n_heads", self.n_heads)
        _positive("n_layers", self.n_layers)
        _positive("dim_feedforward", self.dim_feedforward)
        _check(self.d_token % self.n_heads == 0, "n_heads", self.n_heads,
               f"must divide d_token={self.d_token}")
        _check(self.d_token % 2 == 0, "d_token", self.d_token, "must be even (sinusoidal embeddings)")
        _check(0.0 <= self.dropout < 1.0, "dropout", self.dropout, "must be in [0, 1)")
