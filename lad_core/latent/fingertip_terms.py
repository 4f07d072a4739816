"""Stage-2 loss terms measured where the targets are measured: fingertip positions (beyond the paper, opt-in).

The paper's L_recon (Eq. 5) is a squared error in joint space, which weighs a distal joint like a proximal one
although the proximal one moves the fingertip several times as far; the targets of docs/latent.md (fingertip
error against direct retargeting, the gripper sweep of Fig. 3) are in fingertip space. Two terms, both zero in
the paper configs:

- ``stage2.fingertip_weight``: mean squared fingertip distance (cm^2) between a decoded hand and its paired
  target, through each hand's differentiable forward kinematics (URDF chains for robots, theta_H forward
  kinematics for the human), on the self-reconstructions and on the cross term's reconstructions.
- ``stage2.sweep_weight``: hands decoded from the latents of widths drawn uniformly in [0, 1] should have the
  aperture (smallest thumb-tip to fingertip distance) that the paired data give that width on average. The
  data's aperture rises with the width in every bin (metrics.width_aperture_relation), so this pins the monotone
  opening of Fig. 3, which the contrastive loss alone leaves free; only the hand decoders learn from it (the
  gripper latents are detached), and it asks for one number per hand, not a mean pose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

CM = 100.0  # metres -> centimetres: squared errors of a few mm are then O(0.1), like the normalized joint MSE
SWEEP_BINS = 20


def hands_with_fingertips(modalities: Sequence[str]) -> list[str]:
    from lad_core.embodiments import get

    return [m for m in modalities if get(m).kind != "gripper"]


def fingertips_cm(modality: str, x: torch.Tensor) -> torch.Tensor:
    """Raw actions (B, D) -> fingertip positions (B, 5, 3) in cm, differentiable."""
    from lad_core.embodiments import get

    if get(modality).kind == "human":
        from lad_core.embodiments.human import FINGERTIPS, decode_pose

        return decode_pose(x)[..., list(FINGERTIPS), :] * CM
    from lad_core.kinematics import load_kinematics

    return load_kinematics(modality).fingertips(x) * CM


def aperture_cm(tips: torch.Tensor) -> torch.Tensor:
    """(B, 5, 3) fingertips -> (B,) smallest thumb-tip to other-fingertip distance."""
    return torch.linalg.vector_norm(tips[:, 1:] - tips[:, :1], dim=-1).min(dim=-1).values


class FingertipTerms:
    """Holds the training targets' fingertips and the data's width -> aperture curves; computes both terms."""

    def __init__(self, model, train_norm: Mapping[str, torch.Tensor], modalities: Sequence[str], chunk: int = 16384):
        self.model = model
        self.hands = hands_with_fingertips(modalities)
        self.target_tips: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            for m in self.hands:
                raw = model.normalizers[m].unnormalize(train_norm[m])
                self.target_tips[m] = torch.cat([fingertips_cm(m, raw[s : s + chunk])
                                                 for s in range(0, len(raw), chunk)])
        self.curves = self._aperture_curves(train_norm) if "gripper" in modalities else {}

    def _aperture_curves(self, train_norm) -> dict[str, np.ndarray]:
        """Per hand: mean aperture (cm) per width bin, as the closest non-decreasing curve (isotonic regression
        weighted by the bins' counts: the data's own trend, see module doc; a running maximum would let one high
        bin, e.g. the widths clipped at 0, flatten every bin after it)."""
        from scipy.optimize import isotonic_regression

        width = self.model.normalizers["gripper"].unnormalize(train_norm["gripper"])[:, 0].numpy()
        idx = np.clip((width * SWEEP_BINS).astype(int), 0, SWEEP_BINS - 1)
        counts = np.bincount(idx, minlength=SWEEP_BINS)
        filled = np.flatnonzero(counts)
        curves = {}
        for m in self.hands:
            ap = aperture_cm(self.target_tips[m]).numpy().astype(np.float64)
            means = np.bincount(idx, weights=ap, minlength=SWEEP_BINS)[filled] / counts[filled]
            fit = isotonic_regression(means, weights=counts[filled]).x
            curves[m] = np.interp(np.arange(SWEEP_BINS), filled, fit)
        return curves

    def tip_loss(self, modality: str, pred_norm: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Mean squared fingertip distance (cm^2) of normalized predictions against the batch's targets."""
        raw = self.model.normalizers[modality].unnormalize(pred_norm)
        diff = fingertips_cm(modality, raw) - self.target_tips[modality][idx]
        return (diff**2).sum(-1).mean()

    def mean_tip_loss(self, preds: Mapping[str, torch.Tensor], idx: torch.Tensor) -> torch.Tensor:
        hands = [m for m in preds if m in self.target_tips]
        return sum(self.tip_loss(m, preds[m], idx) for m in hands) / max(len(hands), 1)

    def sweep_loss(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Squared aperture error (cm^2) of hands decoded from `n` uniform widths' gripper latents."""
        width = torch.rand(n, 1, generator=generator)
        with torch.no_grad():
            z = self.model.embed("gripper", self.model.normalizers["gripper"].normalize(width))
        centres = (np.arange(SWEEP_BINS) + 0.5) / SWEEP_BINS
        total = torch.zeros(())
        for m, curve in self.curves.items():
            target = torch.as_tensor(np.interp(width[:, 0].numpy(), centres, curve), dtype=torch.float32)
            raw = self.model.normalizers[m].unnormalize(self.model.reconstruct(m, z))
            total = total + ((aperture_cm(fingertips_cm(m, raw)) - target) ** 2).mean()
        return total / max(len(self.curves), 1)
