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
    dtype = q0.dtype if q0.dtype in (np.float32, np.float64) else np.float64
    lower, upper = kin.lower.astype(dtype), kin.upper.astype(dtype)
    q = np.clip(q0.astype(dtype), lower, upper)
    target = target.astype(dtype)
    scales = np.asarray(scales, dtype=dtype)
    n, dim = q.shape
    prior = q_prev.astype(dtype) if q_prev is not None and smoothness > 0 else None
    eye = np.eye(dim, dtype=dtype)
    lam = np.full(n, damping, dtype=dtype)
    converged = np.zeros(n, dtype=bool)

    def evaluate(qq):
        """Energy and the Gauss-Newton gradient (half) and Hessian of the total energy at qq."""
        kv, jac = kin.keyvectors_and_jacobian(qq)
        resid = (target - scales[:, None] * kv).reshape(n, -1)  # (B, 45)
        jac = (jac * -scales[None, :, None, None]).reshape(n, -1, dim)  # (B, 45, A)
        jt = np.swapaxes(jac, 1, 2)
        grad, hess = (jt @ resid[..., None])[..., 0], jt @ jac
        energy = np.einsum("bi,bi->b", resid, resid)
        total = energy
        if prior is not None:
            total = energy + smoothness * np.sum((qq - prior) ** 2, axis=-1)
            grad, hess = grad + smoothness * (qq - prior), hess + smoothness * eye
        return energy, total, grad, hess

    energy, total, grad, hess = evaluate(q)
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        # Active set: a joint at a bound whose descent direction points outside stays put this iteration.
        held = ((q <= lower) & (grad > 0)) | ((q >= upper) & (grad < 0))
        free = (~held).astype(dtype)
        diag = np.einsum("bii->bi", hess)
        system = hess * (free[:, :, None] * free[:, None, :])
        system += eye * (lam[:, None] * (diag + 1e-9) + (1 - free))[:, :, None]
        # LAPACK's float64 solve is faster than its float32 one for these 16x16 systems.
        step = -np.linalg.solve(system.astype(np.float64), (grad * free)[..., None].astype(np.float64))[..., 0].astype(dtype)
        q_new = np.clip(q + step, lower, upper)
        energy_n, total_n, grad_n, hess_n = evaluate(q_new)
        # A converged pose stays put, so its answer does not depend on how long its batch-mates keep iterating.
        active = ~converged
        better = (total_n <= total) & active
        moved = np.abs(q_new - q).max(axis=-1)
        converged = converged | (better & (moved < tolerance)) | (active & ~better & (lam > 1e6))
        q = np.where(better[:, None], q_new, q)
        grad = np.where(better[:, None], grad_n, grad)
        hess = np.where(better[:, None, None], hess_n, hess)
        energy = np.where(better, energy_n, energy)
        total = np.where(better, total_n, total)
        lam = np.where(better, np.maximum(lam / 3.0, 1e-9), lam * 8.0)
        if converged.all():
            break
    qpos = np.clip(q.astype(np.float64), kin.lower, kin.upper)  # float32 bounds round outwards
    return SolveResult(qpos=qpos, energy=energy.astype(np.float64), converged=converged, iterations=iterations)
