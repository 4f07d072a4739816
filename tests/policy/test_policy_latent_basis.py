"""Two policy options for latent co-training: a reduced latent basis (the policy predicts the coordinates of the latent
in the top principal components of the encoded demo commands, ``action.latent_basis``) and an embodiment cue (a
one-hot of the embodiment appended to the low-dim observation, ``observation.embodiment_cue``). Recorded sim demos
round-trip through the basis within the variance it drops; the basis and the cue are saved with the checkpoint and
used at rollout; bad settings are config errors; checkpoints without them are unchanged (test_policy_action_path)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from policy_helpers import TINY_TRANSFORMER, tiny_config_dict

from lad_core.errors import ConfigError, InputError
from lad_core.policy.checkpoint import LoadedPolicy, load_policy
from lad_core.policy.evaluation import codec_for, iter_evaluate
from lad_core.policy.factory import make_policy
from lad_core.policy.latent import LatentBasis, LatentCodec, LinearCodec
from lad_core.policy.observation import CUE_KEY
from lad_core.policy.rollout import PolicyRunner
from lad_core.policy.sampling import CoTrainingBatcher, CoTrainingSampler, action_chunk
from lad_core.policy.sources import recorded_episodes
from lad_core.policy.train_config import train_config_from_dict
from lad_core.policy.training import build_datasets, fit_latent_basis, fit_normalizer, train

SIM_OBS = {"lowdim": {"object_pose": 7, "target_position": 3}, "arm_pose": "absolute"}


def sim_basis_config(sim_demos, dims: int, **observation):
    return train_config_from_dict({
        "policy": {**TINY_TRANSFORMER, "observation": {**SIM_OBS, **observation},
                   "action": {"arm_dim": 6, "arm_mode": "relative", "end_effector": "latent", "end_effector_dim": 16,
                              "latent_normalization": "joint", "latent_basis": {"kind": "pca", "dims": dims}}},
        "datasets": [{"name": e, "embodiment": e, "weight": 1.0, "path": str(f)} for e, f in sim_demos.items()],
        "latent": {"kind": "linear", "dim": 16, "seed": 0},
        "run": {"steps": 1, "batch_size": 8, "num_threads": 1, "tensorboard": False}})


@pytest.fixture(scope="module")
def sim_windows(sim_demos):
    episodes = {e: recorded_episodes(f) for e, f in sim_demos.items()}
    return lambda cfg: build_datasets(cfg, episodes)


def _loaded_with_basis(cfg, datasets, codec):
    """What training builds: the basis over both embodiments, the normalizer of its coordinates, a (random) policy."""
    basis = fit_latent_basis(cfg, datasets, codec)
    normalizer = fit_normalizer(cfg, datasets, basis.reduce(codec))
    return LoadedPolicy(make_policy(cfg.policy_type, cfg.policy), normalizer, cfg, {}, basis), basis


@pytest.mark.parametrize("dims", [2, 16])
def test_demo_commands_round_trip_within_the_dropped_variance(sim_demos, sim_windows, dims):
    """demo command -> encode -> basis coordinates -> normalize (as a training batch) -> decode_chunk: the arm is
    exact and the squared command error of each embodiment is at most the latent variance the basis drops for it
    (the linear codec is an isometry onto its range); a full basis is exact."""
    cfg = sim_basis_config(sim_demos, dims)
    datasets = sim_windows(cfg)
    codec = LinearCodec({ds.embodiment: ds.end_effector_dim for ds in datasets}, 16, seed=0)
    loaded, basis = _loaded_with_basis(cfg, datasets, codec)
    assert cfg.policy.action.dim == 6 + dims and set(basis.variance_kept) == {"gripper", "mimic", "all"}
    for ds in datasets:
        runner = PolicyRunner(loaded, ds.embodiment, codec)
        # every demo frame as a one-step chunk, with real arm actions
        commands = ds.end_effector_frames
        arm = ds.get_batch(np.arange(len(commands)) % len(ds))["arm"][:, :1]
        window = {"arm": arm, "end_effector": commands[:, None]}
        normalized = loaded.normalizer.normalize_action(action_chunk(window, ds.embodiment, runner.codec),
                                                        ds.embodiment)
        assert normalized.shape == (len(commands), 1, 6 + dims)
        out_arm, out_ee = runner.decode_chunk(normalized)
        np.testing.assert_allclose(out_arm, arm, atol=1e-5)
        error = float(((out_ee[:, 0] - commands) ** 2).sum())
        spread = float(((commands - commands.mean(0)) ** 2).sum())
        dropped = (1.0 - basis.variance_kept[ds.embodiment]) * spread
        assert error <= dropped * (1 + 1e-3) + 1e-5
        if dims == 16:
            np.testing.assert_allclose(out_ee[:, 0], commands, atol=1e-4)
    if dims == 2:  # 2 shared dims do not hold both embodiments' commands: the bound above met a real loss
        assert basis.variance_kept["gripper"] < 0.9 and basis.variance_kept["all"] < 0.999


def test_unit_norm_latents_are_put_back_on_the_sphere(sim_demos, sim_windows):
    """With a latent model whose latents are unit vectors, decoding maps coordinates to mean + c @ basis, normalized."""
    cfg = sim_basis_config(sim_demos, 3)
    datasets = sim_windows(cfg)
    base = LinearCodec({"gripper": 1, "mimic": 16}, 16, seed=0)
    seen = []

    def decoder(z):
        seen.append(z.clone())
        return base.decoders["mimic"](z)

    unit = LatentCodec({e: (lambda x, f=f: torch.nn.functional.normalize(f(x), dim=-1))
                        for e, f in base.encoders.items()}, {**base.decoders, "mimic": decoder}, 16, unit_norm=True)
    loaded, basis = _loaded_with_basis(cfg, datasets, unit)
    chunk = torch.randn(2, 5, 6 + 3)
    _, ee = PolicyRunner(loaded, "mimic", unit).decode_chunk(chunk)
    coords = loaded.normalizer.unnormalize_action(chunk, "mimic")[..., 6:]
    expected = torch.nn.functional.normalize(basis.mean + coords @ basis.components, dim=-1)
    torch.testing.assert_close(seen[-1].reshape(2, 5, 16), expected)
    np.testing.assert_allclose(ee, base.decode("mimic", expected).numpy(), atol=1e-5)


def test_basis_is_saved_with_the_checkpoint_and_reloads_identically(tmp_path):
    data = tiny_config_dict(steps=4, checkpoint_every=4)
    data["policy"]["action"] = {**data["policy"]["action"], "latent_basis": {"kind": "pca", "dims": 2}}
    cfg = train_config_from_dict(data)
    result = train(cfg, tmp_path, progress=False)
    first, second = load_policy(result.checkpoint), load_policy(result.checkpoint)
    # the basis fitted again on the same data is the one stored (safetensors + JSON metadata, no pickle)
    from lad_core.policy.training import build_codec, load_episodes

    datasets = build_datasets(cfg, load_episodes(cfg))
    refit = fit_latent_basis(cfg, datasets, build_codec(cfg, datasets))
    torch.testing.assert_close(first.latent_basis.components, refit.components)
    torch.testing.assert_close(first.latent_basis.mean, refit.mean)
    meta = json.loads((result.checkpoint / "config.json").read_text())["latent_basis"]
    assert meta["kind"] == "pca" and meta["dims"] == 2
    assert meta["variance_kept"]["gripper"] == pytest.approx(refit.variance_kept["gripper"], abs=1e-6)
    codec = codec_for(first)
    obs = {"state": np.linspace(0, 1, 8, dtype=np.float32), "arm_pose": np.zeros(6, np.float32)}
    steps = [PolicyRunner(p, "mimic", codec, seed=3).step(obs) for p in (first, second)]
    np.testing.assert_array_equal(steps[0].end_effector, steps[1].end_effector)
    assert steps[0].end_effector.shape == (16,)
    # resuming keeps the stored basis
    more = train_config_from_dict({**data, "run": {**data["run"], "steps": 6}})
    assert train(more, tmp_path, resume=result.checkpoint, progress=False).step == 6
    torch.testing.assert_close(load_policy(tmp_path / "checkpoints" / "step_0000006").latent_basis.components,
                               first.latent_basis.components)
    (result.checkpoint / LatentBasis.FILE).unlink()
    with pytest.raises(InputError, match="latent basis"):
        load_policy(result.checkpoint)


@pytest.mark.parametrize("basis, field", [
    ({"kind": "pca", "dims": 17}, "latent_basis.dims"),  # more than the 16-d latent
    ({"kind": "pca", "dims": 0}, "latent_basis.dims"),
    ({"kind": "ica", "dims": 3}, "latent_basis.kind"),
    ({"kind": "pca", "dims": 3, "whiten": True}, "latent_basis.whiten"),
])
def test_bad_latent_basis_is_a_config_error(basis, field):
    data = tiny_config_dict()
    data["policy"]["action"] = {**data["policy"]["action"], "latent_basis": basis}
    with pytest.raises(ConfigError, match=field) as info:
        train_config_from_dict(data, source="cfg.yaml")
    assert "cfg.yaml" in str(info.value)


@pytest.mark.parametrize("action, field", [
    ({"end_effector": "explicit", "end_effector_dim": 1, "latent_basis": {"dims": 1}}, "latent_basis"),
    ({"project_latent": True, "latent_basis": {"dims": 3}}, "project_latent"),
])
def test_latent_basis_conflicts_are_config_errors(action, field):
    data = tiny_config_dict()
    data["policy"]["action"] = {**data["policy"]["action"], **action}
    with pytest.raises(ConfigError, match=field):
        train_config_from_dict(data)


# ------------------------------------------------------------------------------------------------ embodiment cue


def _cue_config(**run):
    data = tiny_config_dict(**run)
    data["policy"]["observation"] = {**data["policy"]["observation"], "embodiment_cue": ["gripper", "mimic"]}
    return train_config_from_dict(data)


def test_co_training_batches_carry_each_datasets_one_hot(sim_demos, sim_windows):
    cfg = sim_basis_config(sim_demos, 3, embodiment_cue=["mimic", "gripper"])
    datasets = sim_windows(cfg)
    codec = LinearCodec({ds.embodiment: ds.end_effector_dim for ds in datasets}, 16, seed=0)
    loaded, basis = _loaded_with_basis(cfg, datasets, codec)
    sampler = CoTrainingSampler([len(ds) for ds in datasets], [1.0, 1.0], 32, seed=0)
    batch = CoTrainingBatcher(datasets, sampler, loaded.normalizer, basis.reduce(codec),
                              embodiment_cue=cfg.policy.observation.embodiment_cue)()
    cue = batch["obs"][CUE_KEY]
    assert cue.shape == (32, 2, 2)
    slot = {"mimic": 0, "gripper": 1}  # the cue's order, not the datasets'
    expected = torch.tensor([slot[datasets[j].embodiment] for j in batch["dataset_index"].tolist()])
    assert set(expected.tolist()) == {0, 1}  # both embodiments in the batch
    torch.testing.assert_close(cue.argmax(-1), expected[:, None].expand(-1, 2))
    assert torch.all(cue.sum(-1) == 1)
    loss, _ = make_policy(cfg.policy_type, cfg.policy)(batch)  # the policy takes the cue as features
    assert torch.isfinite(loss)


def test_rollout_feeds_the_target_embodiments_one_hot(tmp_path, monkeypatch):
    result = train(_cue_config(steps=4, checkpoint_every=4), tmp_path, progress=False)
    loaded = load_policy(result.checkpoint)
    assert loaded.config.policy.observation.embodiment_cue == ("gripper", "mimic")
    codec = codec_for(loaded)
    fed, chunks = [], []
    predict = loaded.policy.predict_action_chunk

    def spy(obs, *args):
        fed.append(obs[CUE_KEY].clone())
        chunks.append(predict(obs, *args))
        return chunks[-1]

    monkeypatch.setattr(loaded.policy, "predict_action_chunk", spy)
    obs = {"state": np.linspace(0, 1, 8, dtype=np.float32), "arm_pose": np.zeros(6, np.float32)}
    for emb in ("gripper", "mimic"):
        PolicyRunner(loaded, emb, codec, seed=3).step(obs)
    torch.testing.assert_close(fed[0], torch.tensor([[[1.0, 0.0], [1.0, 0.0]]]))
    torch.testing.assert_close(fed[1], torch.tensor([[[0.0, 1.0], [0.0, 1.0]]]))
    assert not torch.equal(chunks[0], chunks[1])  # same observation and noise: only the cue differs
    # an embodiment the policy was not trained for is refused before any rollout
    with pytest.raises(InputError, match="faive"):
        PolicyRunner(loaded, "faive", codec)
    with pytest.raises(InputError, match="faive"):
        next(iter_evaluate(loaded, task="cube_in_box", embodiment="faive", episodes=1, codec=codec))


def test_embodiment_cue_must_cover_every_dataset(tmp_path):
    data = tiny_config_dict(steps=2)
    data["policy"]["observation"] = {**data["policy"]["observation"], "embodiment_cue": ["gripper"]}
    with pytest.raises(ConfigError, match="embodiment_cue") as info:
        train(train_config_from_dict(data), tmp_path, progress=False)
    assert info.value.field == "policy.observation.embodiment_cue"
    assert not (tmp_path / "checkpoints").exists()
    data["policy"]["observation"]["embodiment_cue"] = ["gripper", "gripper"]
    with pytest.raises(ConfigError, match="embodiment_cue"):
        train_config_from_dict(data)
