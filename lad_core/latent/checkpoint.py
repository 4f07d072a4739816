"""Latent model checkpoints: a folder with ``model.safetensors`` and ``config.json``; never pickles.

``model.safetensors``: every weight plus the normalization statistics (``normalizers.<modality>.mean`` / ``.std``).
Weights are float32, or float16 in an exported copy (half the size; the statistics stay float32); loading casts
them to float32.
``config.json``::

    {"format": "lad-latent-model", "version": 1,
     "architecture": {"dims": {...}, "latent_dim": 16, "hidden": {...}, "dropout": 0.0, "std_floor": 0.001},
     "embodiments": {"mimic": {"dim": 16, "joint_names": [...]}, ...},
     "software": {...}, "meta": {...}}        # meta: training config, pairs provenance, final metrics

Loading checks the format, that every embodiment is registered with the same action size and joint names, that
the requested embodiments are present, and that the tensors fit the architecture; each mismatch is named.
"""

from __future__ import annotations

import json
from pathlib import Path

from lad_core.errors import InputError

FORMAT = "lad-latent-model"
VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def _embodiment_info(name: str, dim: int) -> dict:
    from lad_core.embodiments import get

    try:
        spec = get(name)
        return {"dim": dim, "joint_names": list(spec.joint_names) if spec.kind != "human" else None}
    except Exception:
        return {"dim": dim, "joint_names": None}


def save_model(model, path, extra: dict | None = None, half: bool = False) -> Path:
    """Write `model` to folder `path` (created; files replaced atomically). `half` stores the network weights as
    float16 (for shipping a model; not for resuming training): the normalization statistics stay float32."""
    import numpy as np
    import torch
    from safetensors.torch import save_file

    import lad_core

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    meta = {**model.meta, **(extra or {})}
    config = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": model.architecture(),
        "embodiments": {m: _embodiment_info(m, d) for m, d in model.dims.items()},
        "software": {"lad": lad_core.__version__, "torch": torch.__version__, "numpy": np.__version__},
        "meta": meta,
    }
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if half:
        state = {k: v if k.startswith("normalizers.") else v.to(torch.float16) for k, v in state.items()}
    tmp_w, tmp_c = path / (WEIGHTS + ".tmp"), path / (CONFIG + ".tmp")
    save_file(state, str(tmp_w), metadata={"format": FORMAT})
    tmp_c.write_text(json.dumps(config, indent=1, default=_jsonable))
    tmp_w.replace(path / WEIGHTS)
    tmp_c.replace(path / CONFIG)
    return path


def _jsonable(obj):
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def read_config(path) -> dict:
    path = Path(path)
    if path.is_file() and path.name in (WEIGHTS, CONFIG):
        path = path.parent
    cfg_file = path / CONFIG
    if not path.exists():
        raise InputError(f"{path}: latent model checkpoint not found")
    if not cfg_file.exists() or not (path / WEIGHTS).exists():
        raise InputError(f"{path}: not a latent model checkpoint (needs {CONFIG} and {WEIGHTS})")
    try:
        config = json.loads(cfg_file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{cfg_file}: unreadable checkpoint config ({exc})") from None
    if config.get("format") != FORMAT:
        raise InputError(f"{cfg_file}: format is {config.get('format')!r}, expected {FORMAT!r}")
    if int(config.get("version", -1)) > VERSION:
        raise InputError(f"{cfg_file}: checkpoint version {config['version']} is newer than this software ({VERSION})")
    return config


def check_embodiments(config: dict, where: str, required=None) -> None:
    """Every stored embodiment must be registered with the same size and joints; `required` must be present."""
    from lad_core.embodiments import get
    from lad_core.errors import UnknownEmbodimentError

    stored = config["embodiments"]
    problems = []
    if required is not None:
        missing = [e for e in required if e not in stored]
        if missing:
            problems.append(f"it was trained on {sorted(stored)} and has no {missing}")
    for name, info in stored.items():
        try:
            spec = get(name)
        except UnknownEmbodimentError:
            problems.append(f"embodiment '{name}' is not registered here")
            continue
        if int(spec.action_dim) != int(info["dim"]):
            problems.append(f"'{name}' has {info['dim']} dims in the checkpoint but {spec.action_dim} in the "
                            f"registered embodiment")
        elif info.get("joint_names") and spec.kind != "human" and list(spec.joint_names) != list(info["joint_names"]):
            problems.append(f"'{name}' joint names differ: checkpoint {info['joint_names']}, registered "
                            f"{list(spec.joint_names)}")
    if problems:
        raise InputError(f"{where}: checkpoint does not match: " + "; ".join(problems))


def load_model(path, embodiments=None):
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from lad_core.latent.modeling import LatentActionModel

    path = Path(path)
    if path.is_file():
        path = path.parent
    config = read_config(path)
    check_embodiments(config, str(path), embodiments)
    arch = config["architecture"]
    try:
        model = LatentActionModel(arch["dims"], arch["latent_dim"], arch["hidden"], arch.get("dropout", 0.0),
                                  arch.get("std_floor", 1e-3), meta=config.get("meta"))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path / CONFIG}: malformed architecture ({exc})") from None
    try:
        state = load_file(str(path / WEIGHTS))
    except (SafetensorError, OSError) as exc:
        raise InputError(f"{path / WEIGHTS}: unreadable weights ({exc})") from None
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        raise InputError(f"{path / WEIGHTS}: weights do not fit the architecture in {CONFIG}: missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}, wrong shape {wrong[:5]}")
    model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()})
    for m in model.dims:
        if not model.normalizers[m].fitted:
            raise InputError(f"{path / WEIGHTS}: normalization statistics of '{m}' are missing or not finite")
    model.eval()
    return model
