"""Helpers shared by the latent-space tests (a uniquely named module, importable from any test file)."""

from __future__ import annotations

from pathlib import Path

COMMITTED_MODEL = Path(__file__).parent / "data" / "latent_cpu_all"


def tiny_mapping(pairs: Path, **overrides) -> dict:
    """A config that trains in a few seconds on ~1,500 tuples (1 torch thread)."""
    data = {
        "name": "tiny",
        "model": {"modalities": ["human", "faive", "mimic", "gripper"], "latent_dim": 16, "hidden": [32, 32]},
        "data": {"pairs": str(pairs), "val_fraction": 0.15},
        "temperature": {"start": 0.4, "end": 0.2},
        "stage1": {"epochs": 3, "batch_size": 256, "optimizer": "adam", "lr": 3e-3, "weight_decay": 1e-4},
        "stage2": {"epochs": 3, "batch_size": 256, "optimizer": "adam", "lr": 3e-3, "weight_decay": 1e-4},
        "run": {"seed": 0, "threads": 1},
    }
    for key, value in overrides.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    return data


def write_reference(model_dir: Path = COMMITTED_MODEL) -> None:
    """Store reference outputs next to a checkpoint for the backward-compatibility test:
    ``.venv/bin/python -c "import sys; sys.path.insert(0, 'tests/latent'); import latent_helpers as h; h.write_reference()"``
    """
    import json

    import numpy as np

    from lad_core.latent.checkpoint import load_model

    model = load_model(model_dir)
    widths = np.linspace(0.0, 1.0, 5, dtype=np.float32)[:, None]
    z = model.encode("gripper", widths)
    ref = {"embodiments": model.embodiments, "latent_dim": model.latent_dim, "gripper_widths": widths.tolist(),
           "gripper_latents": z.tolist(), "mimic_from_gripper": model.decode("mimic", z).tolist()}
    (Path(model_dir) / "reference.json").write_text(json.dumps(ref, indent=1))


def measure_script():
    """scripts/measure_hand_geometry.py as a module (reads the other-people hands of ../shared/data/hands)."""
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "scripts" / "measure_hand_geometry.py"
    spec = importlib.util.spec_from_file_location("measure_hand_geometry", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
