"""The policy with the real latent action model (lad_core.latent.LatentActionModel): load_latent_codec wraps a saved
model faithfully, and a policy co-trained through its frozen encoders acts for both embodiments through its
decoders, inside their joint limits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from policy_helpers import TINY_TRANSFORMER, episodes_for, tiny_config_dict

from lad_core.embodiments import get
from lad_core.errors import ConfigError, InputError
from lad_core.policy.checkpoint import load_policy
from lad_core.policy.latent import load_latent_codec
from lad_core.policy.rollout import PolicyRunner
from lad_core.policy.sources import synthetic_episodes
from lad_core.policy.train_config import train_config_from_dict
from lad_core.policy.training import train

DIMS = {"gripper": 1, "mimic": 16}


@pytest.fixture(scope="module")
def latent_model_dir(tmp_path_factory):
    """A small LatentActionModel (random weights, normalization fitted on actions inside the joint limits), saved
    with its own checkpoint writer."""
    from lad_core.latent import LatentActionModel

    torch.manual_seed(0)
    model = LatentActionModel(DIMS, 16, {e: [32, 32] for e in DIMS})
    rng = np.random.default_rng(0)
    data = {}
    for emb in DIMS:
        spec = get(emb)
        data[emb] = torch.as_tensor(rng.uniform(spec.lower, spec.upper, (500, DIMS[emb])), dtype=torch.float32)
    model.fit_normalization(data)
    folder = tmp_path_factory.mktemp("latent") / "tiny_model"
    model.save(folder)
    return folder, model


def test_codec_wraps_the_saved_model(latent_model_dir):
    folder, model = latent_model_dir
    codec = load_latent_codec(folder)
    assert codec.embodiments == sorted(DIMS) and codec.latent_dim == 16
    x = torch.as_tensor(np.random.default_rng(1).uniform(get("mimic").lower, get("mimic").upper, (3, 5, 16)),
                        dtype=torch.float32)
    z = codec.encode("mimic", x)
    assert z.shape == (3, 5, 16)
    np.testing.assert_allclose(z.numpy(), model.encode("mimic", x.numpy()), atol=1e-6)
    np.testing.assert_allclose(codec.decode("gripper", z).numpy(), model.decode("gripper", z.numpy()), atol=1e-6)
    assert not z.requires_grad  # frozen: no graph reaches the policy
    with pytest.raises(ConfigError, match="no encoder for embodiment 'faive'"):
        codec.encode("faive", torch.zeros(1, 11))
    with pytest.raises(InputError, match="not found"):
        load_latent_codec(folder.parent / "nowhere")


def test_policy_co_trained_through_the_model_acts_for_both(latent_model_dir, tmp_path):
    folder, _model = latent_model_dir
    data = tiny_config_dict(dict(TINY_TRANSFORMER), steps=40, episodes=3)
    data["latent"] = {"kind": "checkpoint", "path": str(folder)}
    cfg = train_config_from_dict(data)
    result = train(cfg, tmp_path, episodes=episodes_for(cfg), progress=False)
    loaded = load_policy(result.checkpoint)
    assert loaded.meta["latent"]["name"].startswith("latent model")
    from lad_core.policy.evaluation import codec_for

    codec = codec_for(loaded)  # rebuilt from the path the checkpoint's config names
    for emb, dim in DIMS.items():
        ep = synthetic_episodes(emb, num_episodes=1, length=40, end_effector_dim=dim, seed=9)[0]
        runner = PolicyRunner(loaded, emb, codec, seed=0)
        ee = np.stack([runner.step({"state": ep.observations["state"][t], "arm_pose": ep.arm_pose[t]}).end_effector
                       for t in range(8)])
        spec = get(emb)
        assert ee.shape == (8, dim) and np.all(np.isfinite(ee))
        # the model's decoder clips to the embodiment's joint limits
        assert np.all(ee >= np.asarray(spec.lower) - 1e-6) and np.all(ee <= np.asarray(spec.upper) + 1e-6)
