"""The shared latent action space (paper Sec. 3.1-3.2): paired data, contrastive encoders/decoders, metrics.

Modules: :mod:`.sampler` (synthetic human poses), :mod:`.pairs` (Eq. 1 tuples in HDF5), :mod:`.configuration`
(validated YAML configs), :mod:`.modeling` (MLPs, normalization, InfoNCE, :class:`LatentActionModel`),
:mod:`.checkpoint` (safetensors + JSON), :mod:`.training` (two stages, resumable), :mod:`.metrics` (SR/CR, mm,
retrieval, gripper sweep), :mod:`.ablation` (Table 1). Torch is imported only by the modules that need it; the
names below load lazily.
"""

from __future__ import annotations

_LAZY = {
    "LatentActionModel": "lad_core.latent.modeling",
    "info_nce": "lad_core.latent.modeling",
    "LatentConfig": "lad_core.latent.configuration",
    "load_config": "lad_core.latent.configuration",
    "make_pairs": "lad_core.latent.pairs",
    "load_pairs": "lad_core.latent.pairs",
    "SyntheticPoseSampler": "lad_core.latent.sampler",
    "train": "lad_core.latent.training",
    "iter_training": "lad_core.latent.training",
    "evaluate": "lad_core.latent.metrics",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lad_core.latent' has no attribute {name!r}")
