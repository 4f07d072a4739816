"""Small vector helpers that work on numpy arrays and torch tensors alike (array-api-compat)."""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace as _array_namespace


def array_namespace(*arrays):
    """numpy itself for numpy input (array_api_compat's lookup costs about a millisecond per call), else the
    array-API namespace of the arrays (torch)."""
    if all(type(a) is np.ndarray or np.isscalar(a) for a in arrays):
        return np
    return _array_namespace(*arrays)


def cross(a, b):
    """Cross product over the last axis (written out: np.cross is slow on small arrays and absent from the API)."""
    xp = array_namespace(a, b)
    return xp.stack(
        [
            a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
            a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
            a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
        ],
        axis=-1,
    )


def dot(a, b):
    """Dot product over the last axis, keeping it (..., 1)."""
    xp = array_namespace(a, b)
    return xp.sum(a * b, axis=-1, keepdims=True)


def normalize(v, eps: float = 1e-12):
    xp = array_namespace(v)
    return v / xp.sqrt(xp.clip(dot(v, v), eps, None))
