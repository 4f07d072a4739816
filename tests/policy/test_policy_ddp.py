"""DistributedDataParallel on CPU: two gloo processes train through the same entry point and stay identical."""

from __future__ import annotations

import socket

import pytest
import torch

pytestmark = pytest.mark.slow


def _worker(rank: int, world: int, port: int, out: str) -> None:
    import os

    from policy_helpers import episodes_for, tiny_config_dict
    from safetensors.torch import save_file

    from lad_core.policy.train_config import train_config_from_dict
    from lad_core.policy.training import iter_train

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    cfg = train_config_from_dict(tiny_config_dict(steps=4, batch_size=8, log_every=1))
    for progress in iter_train(cfg, f"{out}/run", episodes=episodes_for(cfg)):
        last = progress
    state = {k: v.detach().clone().contiguous() for k, v in last.policy.state_dict().items()}
    save_file(state, f"{out}/rank{rank}.safetensors", metadata={"loss": str(last.loss)})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_replicas_stay_identical(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file

    torch.multiprocessing.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    a, b = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # each rank drew its own shard: the local losses differ although the weights agree
    losses = [safe_open(str(tmp_path / f"rank{r}.safetensors"), "pt").metadata()["loss"] for r in (0, 1)]
    assert losses[0] != losses[1]
    # rank 0 alone wrote checkpoints and metrics
    assert (tmp_path / "run" / "checkpoints" / "LATEST").read_text() == "step_0000004"
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 4
