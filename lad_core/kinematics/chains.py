"""Serial chains from the palm to each keypoint (palm point, fingertips), with their analytic Jacobian.

Retargeting evaluates keypoints and their Jacobian several times per camera frame and millions of times when making
a dataset. The full tree (tree.py) computes every link; here we keep only the movable joints on the way to each
keypoint, fold fixed transforms into the next joint, pad the chains to one length L and walk them in lockstep:
one small array expression per step for all keypoints at once. numpy or torch (differentiable).

Shapes: B... batch, P keypoints, L steps (padded), A actuated joints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from array_api_compat import is_torch_array

from lad_core.geometry import array_namespace

from lad_core.geometry import cross as _cross
from lad_core.kinematics.tree import FIXED, PRISMATIC, KinematicTree


@dataclass
class KeypointChains:
    static_rot: np.ndarray  # (P, L, 3, 3) fixed rotation before each step's joint
    static_pos: np.ndarray  # (P, L, 3)
    axis: np.ndarray  # (P, L, 3) joint axis in the joint frame (zero for padding)
    skew: np.ndarray  # (P, L, 3, 3) cross-product matrix of the axis
    skew_sq: np.ndarray  # (P, L, 3, 3)
    prismatic: np.ndarray  # (P, L) bool
    coupling: np.ndarray  # (P, L, A): URDF joint value of a step = coupling @ q_act + offset
    offset: np.ndarray  # (P, L)
    tip_pos: np.ndarray  # (P, 3) keypoint in the last joint's frame

    @classmethod
    def compile(cls, tree: KinematicTree, frames, coupling: np.ndarray, offset: np.ndarray) -> "KeypointChains":
        steps_per_point, tips = [], []
        for f in frames:
            path = []
            while tree.parent[f] >= 0:
                path.append(f)
                f = tree.parent[f]
            pending = np.eye(4)
            steps = []
            for frame in reversed(path):
                pending = pending @ tree.static[frame]
                if tree.joint_type[frame] != FIXED:
                    steps.append((pending, tree.axis[frame], tree.joint_index[frame], tree.joint_type[frame] == PRISMATIC))
                    pending = np.eye(4)
            steps_per_point.append(steps)
            tips.append(pending[:3, 3])
        n_points, length, n_act = len(frames), max(1, max(len(s) for s in steps_per_point)), coupling.shape[1]
        static = np.tile(np.eye(4), (n_points, length, 1, 1))
        axis = np.zeros((n_points, length, 3))
        prismatic = np.zeros((n_points, length), dtype=bool)
        coup = np.zeros((n_points, length, n_act))
        off = np.zeros((n_points, length))
        for p, steps in enumerate(steps_per_point):
            for s, (mat, ax, joint, is_pri) in enumerate(steps):
                static[p, s], axis[p, s], prismatic[p, s] = mat, ax, is_pri
                coup[p, s], off[p, s] = coupling[joint], offset[joint]
        skew = np.zeros((n_points, length, 3, 3))
        skew[..., 0, 1], skew[..., 0, 2], skew[..., 1, 2] = -axis[..., 2], axis[..., 1], -axis[..., 0]
        skew[..., 1, 0], skew[..., 2, 0], skew[..., 2, 1] = axis[..., 2], -axis[..., 1], axis[..., 0]
        rev_skew = np.where(prismatic[..., None, None], 0.0, skew)
        return cls(
            static_rot=static[..., :3, :3],
            static_pos=static[..., :3, 3],
            axis=axis,
            skew=rev_skew,
            skew_sq=rev_skew @ rev_skew,
            prismatic=prismatic,
            coupling=coup,
            offset=off,
            tip_pos=np.stack(tips),
        )

    @property
    def length(self) -> int:
        return self.axis.shape[1]

    def evaluate(self, q, with_jacobian: bool = False):
        """(B..., A) actuated -> keypoints (B..., P, 3) [and Jacobian (B..., P, 3, A)]."""
        xp = array_namespace(q)
        c = self._constants(q)
        n_points, length = self.axis.shape[:2]
        joint = xp.reshape(q @ c["coupling_flat_t"], q.shape[:-1] + (n_points, length)) + c["offset"]  # (B..., P, L)
        angle = joint[..., None, None]
        # All steps' local rotations at once: static @ Rodrigues(q) = S + sin(q) S K + (1 - cos(q)) S K^2.
        local = c["static_rot"] + xp.sin(angle) * c["static_skew"] + (1 - xp.cos(angle)) * c["static_skew_sq"]
        rot = local[..., 0, :, :]
        pos = xp.broadcast_to(c["static_pos"][:, 0], rot.shape[:-1])
        if with_jacobian:  # joint origins and world axes, per step; filled in place (no per-call stacking)
            origins = xp.zeros(rot.shape[:-2] + (self.length, 3), dtype=q.dtype, **_device(q))
            axes = xp.zeros_like(origins)
            origins[..., 0, :], axes[..., 0, :] = pos, c["local_axis"][:, 0]
        if c["any_prismatic"]:
            pos = pos + (rot @ (joint[..., 0, None] * c["slide"][:, 0])[..., None])[..., 0]
        for s in range(1, self.length):
            moved = rot @ c["pos_and_axis"][:, s]  # (B..., P, 3, 2): next joint origin offset and its axis
            pos = pos + moved[..., 0]
            if with_jacobian:
                origins[..., s, :], axes[..., s, :] = pos, moved[..., 1]
            rot = rot @ local[..., s, :, :]
            if c["any_prismatic"]:
                pos = pos + (rot @ (joint[..., s, None] * c["slide"][:, s])[..., None])[..., 0]
        points = pos + (rot @ c["tip_pos"][..., None])[..., 0]
        if not with_jacobian:
            return points
        jac = _cross(axes, points[..., :, None, :] - origins)  # (B..., P, L, 3)
        if c["any_prismatic"]:
            jac = xp.where(c["prismatic"][..., None], axes, jac)
        jac = xp.swapaxes(jac, -1, -2) if hasattr(xp, "swapaxes") else xp.permute_dims(jac, (*range(jac.ndim - 2), jac.ndim - 1, jac.ndim - 2))
        return points, jac @ c["coupling"]  # (B..., P, 3, A)

    def _constants(self, like) -> dict:
        key = (type(like), like.dtype, getattr(like, "device", None))  # str(dtype) is slow on the per-frame path
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            arrays = {
                "static_rot": self.static_rot,
                "static_pos": self.static_pos,
                "axis": self.axis,
                "skew": self.skew,
                "skew_sq": self.skew_sq,
                "coupling": self.coupling,
                "coupling_flat_t": self.coupling.reshape(-1, self.coupling.shape[-1]).T.copy(),  # one GEMM per call
                "offset": self.offset,
                "tip_pos": self.tip_pos,
                "eye": np.eye(3),
                "static_skew": self.static_rot @ self.skew,
                "static_skew_sq": self.static_rot @ self.skew_sq,
                # world axis of step s = rot_before @ static_rot[s] @ axis[s] = rot_{s-1} @ local_axis[s]
                "local_axis": np.einsum("plij,plj->pli", self.static_rot, self.axis),
                "pos_and_axis": np.stack([self.static_pos, np.einsum("plij,plj->pli", self.static_rot, self.axis)], axis=-1),
                "slide": self.axis * self.prismatic[..., None],
            }
            if is_torch_array(like):
                import torch

                conv = {k: torch.as_tensor(v, dtype=like.dtype, device=like.device) for k, v in arrays.items()}
                conv["prismatic"] = torch.as_tensor(self.prismatic, device=like.device)
            else:
                conv = {k: v.astype(like.dtype) for k, v in arrays.items()}
                conv["prismatic"] = self.prismatic
            conv["any_prismatic"] = bool(self.prismatic.any())
            cache[key] = conv
        return cache[key]


def _device(q) -> dict:
    return {"device": q.device} if is_torch_array(q) else {}
