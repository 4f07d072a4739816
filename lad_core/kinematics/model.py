"""Embodiment kinematics: actuated joints -> URDF joints (couplings) -> link poses, fingertips and keyvectors.

`load_kinematics(name)` builds (and caches) the model of a registered robot embodiment. Positions are expressed in
the palm link's frame, which for our hands is the canonical wrist frame (CONTRIBUTING.md), so robot and human
keyvectors compare directly. All methods take numpy arrays or torch tensors of shape (B..., action_dim); torch
inputs stay differentiable.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from array_api_compat import is_torch_array

from lad_core.geometry import array_namespace

from lad_core.embodiments.spec import FINGER_ORDER, EmbodimentSpec
from lad_core.errors import ConfigError, InputError
from lad_core.kinematics.keyvectors import KEYVECTOR_MATRIX
from lad_core.kinematics.chains import KeypointChains
from lad_core.kinematics.tree import KinematicTree


class EmbodimentKinematics:
    def __init__(self, spec: EmbodimentSpec):
        if spec.kind == "human" or spec.urdf_path is None:
            raise ConfigError(f"embodiment '{spec.name}' has no URDF kinematics", source=spec.source_file, field="urdf")
        self.spec = spec
        self.tree = KinematicTree.from_urdf(spec.urdf_path, root=spec.palm_link)
        self.coupling, self.coupling_offset = self._coupling_matrix()
        self.point_frames = np.array(
            [self.tree.frame_index(spec.palm_link)] + [self._tip_frame(n) for n in spec.fingertip_links]
        )
        self.chains = KeypointChains.compile(self.tree, self.point_frames, self.coupling, self.coupling_offset)
        self.lower, self.upper = spec.lower, spec.upper

    # ------------------------------------------------------------------ set-up
    def _tip_frame(self, name: str) -> int:
        try:
            return self.tree.frame_names.index(name)
        except ValueError:
            raise ConfigError(
                f"fingertip link '{name}' is not in the URDF {self.spec.urdf_path}", source=self.spec.source_file, field="fingertip_links"
            ) from None

    def _coupling_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        spec, tree = self.spec, self.tree
        act = {n: i for i, n in enumerate(spec.joint_names)}
        couplings = {c.joint: c for c in spec.couplings}
        mat = np.zeros((len(tree.joint_names), len(act)))
        off = np.zeros(len(tree.joint_names))
        for j, name in enumerate(tree.joint_names):
            if name in couplings:
                c = couplings[name]
                mat[j, act[c.source]], off[j] = c.multiplier, c.offset
            elif name in act:
                mat[j, act[name]] = 1.0
            else:
                raise ConfigError(
                    f"URDF joint '{name}' is neither an actuated joint nor coupled to one", source=spec.source_file, field="couplings"
                )
        unknown = set(couplings) - set(tree.joint_names)
        if unknown:
            raise ConfigError(f"couplings name joints missing from the URDF: {sorted(unknown)}", source=spec.source_file, field="couplings")
        return mat, off

    # ------------------------------------------------------------------ evaluation
    @property
    def action_dim(self) -> int:
        return self.coupling.shape[1]

    def check(self, q, name: str = "joint values"):
        if q.shape[-1] != self.action_dim:
            raise InputError(f"{name}: {self.spec.name} has {self.action_dim} actuated joints, got shape {tuple(q.shape)}")
        return q

    def urdf_joints(self, q):
        """(B..., A) actuated -> (B..., J) URDF joint values (couplings applied)."""
        return self._urdf(q)

    def link_transforms(self, q):
        """(B..., A) -> (B..., F, 4, 4) every link's pose in the palm frame (for drawing and simulation)."""
        return self.tree.forward(self._urdf(q))

    def points(self, q):
        """(B..., A) -> (B..., 6, 3): palm point then the five fingertips (thumb..little)."""
        return self.chains.evaluate(self.check(q))

    def points_from_links(self, q):
        """The same points as `points`, read off the full tree (slower; used to cross-check the chains)."""
        return self.link_transforms(q)[..., self.point_frames, :, :][..., :3, 3]  # two steps: numpy fancy indexing

    def fingertips(self, q):
        return self.points(q)[..., 1:, :]

    def keyvectors(self, q):
        """(B..., A) -> (B..., 15, 3): palm->tip (5) then tip_i->tip_j (10), see keyvectors.py."""
        return self._kv_matrix(q) @ self.points(q)

    def keyvectors_and_jacobian(self, q):
        """Keyvectors (B..., 15, 3) and their analytic Jacobian (B..., 15, 3, A) w.r.t. the actuated joints."""
        self.check(q)
        pts, jac = self.chains.evaluate(q, with_jacobian=True)
        kv_matrix = self._kv_matrix(q)
        batch = jac.shape[:-3]
        flat = jac.reshape(batch + (jac.shape[-3], -1))  # (B..., P, 3A)
        return kv_matrix @ pts, (kv_matrix @ flat).reshape(batch + (KEYVECTOR_MATRIX.shape[0], 3, jac.shape[-1]))

    def clip(self, q):
        xp = array_namespace(q)
        return xp.clip(q, self._as(self.lower, q), self._as(self.upper, q))

    # ------------------------------------------------------------------ helpers
    def _kv_matrix(self, like):
        cache = self.__dict__.setdefault("_kv_cache", {})
        key = (type(like), like.dtype, getattr(like, "device", None))
        if key not in cache:
            cache[key] = self._as(KEYVECTOR_MATRIX, like)
        return cache[key]

    def _urdf(self, q):
        self.check(q)
        return q @ self._as(self.coupling, q).T + self._as(self.coupling_offset, q)

    @staticmethod
    def _as(arr: np.ndarray, like):
        if is_torch_array(like):
            import torch

            return torch.as_tensor(arr, dtype=torch.bool if arr.dtype == bool else like.dtype, device=like.device)
        if arr.dtype == bool:
            return arr
        return arr.astype(like.dtype, copy=False) if like.dtype.kind == "f" else arr


@lru_cache(maxsize=None)
def _cached(name: str) -> EmbodimentKinematics:
    from lad_core.embodiments import get

    return EmbodimentKinematics(get(name))


def load_kinematics(name_or_spec: str | EmbodimentSpec) -> EmbodimentKinematics:
    """Kinematics of a registered embodiment (cached by name) or of a spec object (built fresh)."""
    if isinstance(name_or_spec, EmbodimentSpec):
        return EmbodimentKinematics(name_or_spec)
    return _cached(name_or_spec)


__all__ = ["EmbodimentKinematics", "load_kinematics", "FINGER_ORDER"]
