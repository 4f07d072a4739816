"""Policies on recorded simulator episodes: the adapter reads what the sim writes, a tiny co-training run lowers the
loss on them, and `lad policy eval` rolls the checkpoint out in the simulator and reports Fig. 6-style figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from policy_helpers import TINY_TRANSFORMER

from lad_core.cli.main import main
from lad_core.errors import InputError
from lad_core.policy.checkpoint import load_policy
from lad_core.policy.evaluation import EpisodeOutcome, codec_for, iter_evaluate, summarize
from lad_core.policy.sources import recorded_episodes
from lad_core.policy.train_config import train_config_from_dict
from lad_core.policy.training import train

SIM_OBS = {"lowdim": {"object_pose": 7, "target_position": 3}, "arm_pose": "absolute"}


def sim_config_dict(folders, *, steps: int) -> dict:
    policy = {**TINY_TRANSFORMER, "observation": SIM_OBS,
              "action": {"arm_dim": 6, "arm_mode": "relative", "end_effector": "latent", "end_effector_dim": 16}}
    return {"policy": policy,
            "datasets": [{"name": e, "embodiment": e, "weight": 1.0, "path": str(f)} for e, f in folders.items()],
            "latent": {"kind": "linear", "dim": 16, "seed": 0},
            "optim": {"name": "adamw", "lr": 3e-3, "warmup_steps": 5},
            "ema": {"enabled": True, "max_decay": 0.99},
            "run": {"steps": steps, "batch_size": 32, "seed": 0, "log_every": 10, "checkpoint_every": 1000,
                    "num_threads": 1, "tensorboard": False}}


def test_recorded_sim_episodes_adapt(sim_demos):
    eps = recorded_episodes(sim_demos["mimic"])
    assert len(eps) == 2 and all(ep.embodiment == "mimic" for ep in eps)
    ep = eps[0]
    T = len(ep)
    assert T > 100 and ep.end_effector.shape[0] == T and ep.end_effector.shape[1] > 1
    # the reached pose is the sim's arm_pose observation; the commands are /actions/arm
    np.testing.assert_array_equal(ep.arm_pose, ep.observations["arm_pose"])
    assert ep.arm_target is not None and ep.arm_target.shape == (T, 6)
    lag = np.linalg.norm(ep.arm_target[:-1, :3] - ep.arm_pose[1:, :3], axis=1)
    assert 1e-4 < np.median(lag) < 0.02  # the controller lags its command by millimetres, not more
    assert {"object_pose", "target_position"} <= set(ep.observations)


@pytest.fixture(scope="module")
def sim_trained(sim_demos, tmp_path_factory):
    torch.set_num_threads(1)
    cfg = train_config_from_dict(sim_config_dict(sim_demos, steps=150))
    out = tmp_path_factory.mktemp("sim_run")
    return cfg, out, train(cfg, out, progress=False)


def test_tiny_training_on_recorded_episodes_lowers_the_loss(sim_trained):
    _cfg, _out, result = sim_trained
    first, last = np.mean(result.losses[:10]), np.mean(result.losses[-10:])
    assert last < 0.5 * first, (first, last)
    loaded = load_policy(result.checkpoint)
    assert loaded.embodiments == ["gripper", "mimic"]
    assert loaded.meta["end_effector_dims"]["gripper"] == 1


def test_eval_cli_rolls_out_in_sim_and_writes_json(sim_trained, tmp_path, capsys):
    _cfg, _out, result = sim_trained
    out = tmp_path / "eval.json"
    code = main(["policy", "eval", str(result.checkpoint), "--embodiment", "mimic", "--episodes", "3",
                 "--positions", "2", "--max-ticks", "12", "--json", str(out), "--no-progress"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    doc = json.loads(out.read_text())
    assert summary["episodes"] == 3 and summary["positions"] == 2 and summary["embodiment"] == "mimic"
    assert [o["position"] for o in doc["outcomes"]] == [0, 1, 0]
    assert [o["trial"] for o in doc["outcomes"]] == [0, 0, 1]
    # 12 ticks (0.6 s) cannot put the cube in the box: every episode runs to the limit and fails
    assert all(o["ticks"] == 12 and not o["success"] for o in doc["outcomes"])
    assert [p["trials"] for p in doc["per_position"]] == [2, 1]
    # each placement is its own scene: the object sits elsewhere
    assert doc["per_position"][0]["object_xy"] != doc["per_position"][1]["object_xy"]


def test_eval_moves_the_robot_with_decoded_commands(sim_trained):
    _cfg, _out, result = sim_trained
    loaded = load_policy(result.checkpoint)
    outcome = next(iter_evaluate(loaded, task="cube_in_box", embodiment="gripper", episodes=1,
                                 codec=codec_for(loaded), max_ticks=20))
    assert outcome.ticks == 20 and outcome.scene_seed == 0
    # the demos start by moving ~7 mm per tick towards the cube; the policy's targets move the wrist too
    assert outcome.arm_path_m > 0.02, outcome


def test_eval_runs_torch_on_the_checkpoints_thread_count(sim_trained):
    _cfg, _out, result = sim_trained
    loaded = load_policy(result.checkpoint)
    assert loaded.config.run.num_threads == 1
    torch.set_num_threads(2)
    seen = []
    for _outcome in iter_evaluate(loaded, task="cube_in_box", embodiment="gripper", episodes=2,
                                  codec=codec_for(loaded), max_ticks=2):
        seen.append(torch.get_num_threads())
    assert seen == [1, 1] and torch.get_num_threads() == 2  # restored afterwards


def test_summary_is_mean_and_std_over_placements():
    def o(i, pos, ok):
        return EpisodeOutcome(i, pos, 10 + pos, i // 3, ok, 5, (0.5, -0.1 * pos), 0.0, 0.1)

    # placement 0: 2/2, placement 1: 0/2, placement 2: 1/2
    outs = [o(0, 0, True), o(1, 1, False), o(2, 2, True), o(3, 0, True), o(4, 1, False), o(5, 2, False)]
    res = summarize(outs, task="cube_in_box", embodiment="mimic", max_ticks=5)
    assert res.success_rate == pytest.approx(0.5)
    assert res.position_mean == pytest.approx(0.5)
    assert res.position_std == pytest.approx(np.std([1.0, 0.0, 0.5]))
    assert [p["successes"] for p in res.per_position] == [2, 0, 1]


def test_eval_rejects_a_policy_the_sim_cannot_feed(tmp_path):
    from policy_helpers import episodes_for, tiny_config_dict

    cfg = train_config_from_dict(tiny_config_dict(steps=1))  # observes the synthetic 'state'
    loaded = load_policy(train(cfg, tmp_path, episodes=episodes_for(cfg), progress=False).checkpoint)
    with pytest.raises(InputError, match=r"observes \['state'\].*simulator does not provide"):
        next(iter_evaluate(loaded, task="cube_in_box", embodiment="mimic", episodes=1, codec=codec_for(loaded)))
    with pytest.raises(InputError, match="not 'faive'"):
        next(iter_evaluate(loaded, task="cube_in_box", embodiment="faive", episodes=1, codec=codec_for(loaded)))
