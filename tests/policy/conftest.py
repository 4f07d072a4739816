"""Policy tests run torch on one thread (the machine is shared)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _few_threads():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def sim_demos(tmp_path_factory):
    """Scripted cube_in_box demonstrations recorded by ``lad demos`` (no cameras): 3 gripper + 2 mimic episodes,
    ~150 ticks each (about 10 s in all)."""
    from lad_core.cli.main import main

    root = tmp_path_factory.mktemp("sim_demos")
    out = {}
    for emb, n in (("gripper", 3), ("mimic", 2)):
        folder = root / emb
        code = main(["demos", "--task", "cube_in_box", "--embodiment", emb, "--episodes", str(n), "--out",
                     str(folder), "--cameras", ""])
        assert code == 0, f"scripted {emb} demos failed"
        out[emb] = folder
    return out
