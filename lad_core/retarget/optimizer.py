"""Paper Eq. 2 solved by projected Levenberg-Marquardt, vectorized over a batch of poses.

Energy of one pose (metres^2):
    E(q) = sum_i || v_i^H - s_i v_i^R(q) ||^2  +  w || q - q_prev ||^2
The second term is zero in batched mode and a small smoothness prior in streaming mode. The residual is linear in
the keyvectors, whose analytic Jacobian comes from the kinematics, so each iteration costs one forward-kinematics
pass. Joint limits are box constraints: steps are clipped to the box, and joints held at a bound by the gradient are
removed from the linear system (an active set), so the solver never leaves the limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lad_core.kinematics.model import EmbodimentKinematics


@dataclass
class SolveResult:
    qpos: np.ndarray  # (B, A)
    energy: np.ndarray  # (B,) keyvector energy (without the smoothness term)
    converged: np.ndarray  # (B,) bool
    iterations: int


def keyvector_energy(target: np.ndarray, robot_kv: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """sum_i ||v_i^H - s_i v_i^R||^2 over the last two axes: (B..., 15, 3) -> (B...,)."""
    diff = target - scales[:, None] * robot_kv
    return np.einsum("...kd,...kd->...", diff, diff)


def solve(
    kin: EmbodimentKinematics,
    target: np.ndarray,
    scales: np.ndarray,
    q0: np.ndarray,
    *,
    q_prev: np.ndarray | None = None,
    smoothness: float = 0.0,
    max_iterations: int = 30,
    tolerance: float = 1e-6,
    damping: float = 1e-3,
) -> SolveResult:
    """Minimize the energy for each of B poses. target (B, 15, 3) human keyvectors, q0 (B, A) initial joints."""
    lower, upper = kin.lower, kin.upper
    q = np.clip(q0, lower, upper)
    n, dim = q.shape
    prior = q_prev if q_prev is not None and smoothness > 0 else None
    s = scales[None, :, None, None]
    eye = np.eye(dim)
    lam = np.full(n, damping)
    converged = np.zeros(n, dtype=bool)

    def evaluate(qq):
        kv, jac = kin.keyvectors_and_jacobian(qq)
        resid = (target - scales[:, None] * kv).reshape(n, -1)  # (B, 45)
        energy = np.einsum("bi,bi->b", resid, resid)
        total = energy + (smoothness * np.sum((qq - prior) ** 2, axis=-1) if prior is not None else 0.0)
        return resid, (-s * jac).reshape(n, -1, dim), energy, total

    resid, jac, energy, total = evaluate(q)
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        jt = np.swapaxes(jac, 1, 2)
        grad = (jt @ resid[..., None])[..., 0]  # half the gradient of E
        hess = jt @ jac
        if prior is not None:
            grad = grad + smoothness * (q - prior)
            hess = hess + smoothness * eye
        # Active set: a joint at a bound whose descent direction points outside stays put this iteration.
        held = ((q <= lower + 1e-12) & (grad > 0)) | ((q >= upper - 1e-12) & (grad < 0))
        free = (~held).astype(q.dtype)
        diag = np.einsum("bii->bi", hess)
        system = hess * free[:, :, None] * free[:, None, :] + eye * (lam[:, None] * (diag + 1e-9) + (1 - free))[:, :, None]
        step = -np.linalg.solve(system, (grad * free)[..., None])[..., 0]
        q_new = np.clip(q + step, lower, upper)
        resid_n, jac_n, energy_n, total_n = evaluate(q_new)
        better = total_n <= total
        moved = np.abs(q_new - q).max(axis=-1)
        converged = converged | (better & (moved < tolerance)) | (~better & (lam > 1e6))
        q = np.where(better[:, None], q_new, q)
        resid = np.where(better[:, None], resid_n, resid)
        jac = np.where(better[:, None, None], jac_n, jac)
        energy = np.where(better, energy_n, energy)
        total = np.where(better, total_n, total)
        lam = np.where(better, np.maximum(lam / 3.0, 1e-9), lam * 8.0)
        if converged.all():
            break
    return SolveResult(qpos=q, energy=energy, converged=converged, iterations=iterations)
