"""The latent action path between a recorded demo and the commands a rollout sends: a chunk built for training
(arm actions + encoded end-effector commands, normalized per embodiment) comes back unchanged through the runner's
unnormalize / split / decode; the latent block can be scaled jointly; the loss can give the arm a fixed share; predicted
latents can be projected onto the unit sphere; and checkpoints written before these options still load as before."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from policy_helpers import TINY_TRANSFORMER, tiny_config_dict

from lad_core.errors import ConfigError, InputError
from lad_core.policy.checkpoint import LoadedPolicy, load_policy
from lad_core.policy.factory import make_policy
from lad_core.policy.latent import LatentCodec, LinearCodec
from lad_core.policy.processing import Normalizer
from lad_core.policy.rollout import PolicyRunner
from lad_core.policy.sampling import action_chunk
from lad_core.policy.sources import recorded_episodes
from lad_core.policy.train_config import train_config_from_dict
from lad_core.policy.training import build_datasets, fit_normalizer, train

SIM_OBS = {"lowdim": {"object_pose": 7, "target_position": 3}, "arm_pose": "absolute"}


def sim_config(sim_demos, **action) -> object:
    policy = {**TINY_TRANSFORMER, "observation": SIM_OBS,
              "action": {"arm_dim": 6, "arm_mode": "relative", "end_effector": "latent", "end_effector_dim": 16,
                         **action}}
    return train_config_from_dict({
        "policy": policy,
        "datasets": [{"name": e, "embodiment": e, "weight": 1.0, "path": str(f)} for e, f in sim_demos.items()],
        "latent": {"kind": "linear", "dim": 16, "seed": 0},
        "run": {"steps": 1, "batch_size": 8, "num_threads": 1, "tensorboard": False}})


@pytest.fixture(scope="module")
def demo_path(sim_demos):
    """Both sim datasets as windows, the exact linear codec and the config, for each latent normalization."""
    episodes = {e: recorded_episodes(f) for e, f in sim_demos.items()}

    def build(latent_normalization: str):
        cfg = sim_config(sim_demos, latent_normalization=latent_normalization)
        datasets = build_datasets(cfg, episodes)
        codec = LinearCodec({ds.embodiment: ds.end_effector_dim for ds in datasets}, 16, seed=0)
        return cfg, datasets, codec, fit_normalizer(cfg, datasets, codec)

    return build


@pytest.mark.parametrize("latent_normalization", ["per_dim", "joint"])
def test_demo_chunk_round_trips_through_normalizer_and_decoder(demo_path, latent_normalization):
    """encode -> normalize (as training builds a batch) -> the runner's unnormalize/split/decode returns the demo's
    own arm actions and end-effector commands, for both embodiments, at every chunk step."""
    cfg, datasets, codec, normalizer = demo_path(latent_normalization)
    policy = make_policy(cfg.policy_type, cfg.policy)
    loaded = LoadedPolicy(policy, normalizer, cfg, {})
    for ds in datasets:
        batch = ds.get_batch(np.arange(0, len(ds), 7))
        normalized = normalizer.normalize_action(action_chunk(batch, ds.embodiment, codec), ds.embodiment)
        assert normalized.shape == (len(batch["arm"]), cfg.policy.horizon, 6 + 16)
        assert float(normalized.abs().max()) <= 1.0 + 1e-5  # min-max: the training data stays inside [-1, 1]
        arm, ee = PolicyRunner(loaded, ds.embodiment, codec).decode_chunk(normalized)
        np.testing.assert_allclose(arm, batch["arm"], atol=1e-5)
        np.testing.assert_allclose(ee, batch["end_effector"], atol=1e-5)
        assert np.ptp(batch["end_effector"]) > 0.5  # the demos open and close: the check is not vacuous


def test_joint_normalization_keeps_the_latent_geometry(demo_path, tmp_path):
    _cfg, datasets, codec, per_dim = demo_path("per_dim")
    _cfg, _datasets, _codec, joint = demo_path("joint")
    assert per_dim.action_joint_from is None and joint.action_joint_from == 6
    ds = datasets[1]  # mimic: 16 joints in a 16-d latent, coordinates of very different spread
    raw = action_chunk(ds.get_batch(np.arange(len(ds))), ds.embodiment, codec)
    a, b = per_dim.normalize_action(raw, ds.embodiment), joint.normalize_action(raw, ds.embodiment)
    torch.testing.assert_close(a[..., :6], b[..., :6])  # the arm part is unchanged
    # one scale for the whole block: normalized differences are raw differences times one factor
    ratio = (b[1:, 0, 6:] - b[:-1, 0, 6:]) / (raw[1:, 0, 6:] - raw[:-1, 0, 6:])
    finite = ratio[(raw[1:, 0, 6:] - raw[:-1, 0, 6:]).abs() > 1e-3]
    assert float(finite.max() - finite.min()) < 1e-3 * float(finite.abs().max())
    # the half-ranges of the block have Euclidean norm 1, so every coordinate stays inside [-1, 1] but none is
    # stretched to it (per-dim min-max stretches them all)
    spans = b[..., 6:].amax((0, 1)) - b[..., 6:].amin((0, 1))
    assert float(torch.linalg.vector_norm(spans / 2)) == pytest.approx(1.0, abs=1e-4)
    assert float(spans.max()) < 2.0 and float(b[..., 6:].abs().max()) <= 1.0 + 1e-6
    assert float((a[..., 6:].amax((0, 1)) - a[..., 6:].amin((0, 1))).min()) == pytest.approx(2.0, abs=1e-4)
    # saved with the statistics and restored
    joint.save(tmp_path / "stats.safetensors")
    back = Normalizer.load(tmp_path / "stats.safetensors")
    assert back.action_joint_from == 6
    torch.testing.assert_close(back.normalize_action(raw, ds.embodiment), b)


def test_joint_normalization_of_a_linear_latent_is_the_explicit_scale(sim_demos):
    """A 1-D command through the exact linear codec: jointly normalized, the latent block is the explicit policy's
    normalized command times a fixed unit vector (the latent policy sees the explicit problem in a rotated basis)."""
    episodes = {"gripper": recorded_episodes(sim_demos["gripper"])}
    cfg = sim_config({"gripper": sim_demos["gripper"]}, latent_normalization="joint")
    ds = build_datasets(cfg, episodes)[0]
    codec = LinearCodec({"gripper": 1}, 16, seed=0)
    latent = fit_normalizer(cfg, [ds], codec)
    explicit = fit_normalizer(cfg, [ds], None)
    batch = ds.get_batch(np.arange(len(ds)))
    z = latent.normalize_action(action_chunk(batch, "gripper", codec), "gripper")[..., 6:]
    x = explicit.normalize_action(action_chunk(batch, "gripper", None), "gripper")[..., 6:]
    direction = codec.encode("gripper", torch.ones(1, 1))[0]
    torch.testing.assert_close(z, x * direction / direction.norm(), atol=1e-5, rtol=1e-5)
    assert float(x.min()) == pytest.approx(-1.0, abs=1e-5) and float(x.max()) == pytest.approx(1.0, abs=1e-5)


def test_arm_loss_share_weighs_the_parts(sim_demos):
    """None: the mean over all 22 dims (the arm weighs 6/22); a share s: s * arm mean + (1 - s) * end-effector mean."""
    cfg_old = sim_config(sim_demos)
    cfg_new = sim_config(sim_demos, arm_loss_share=0.75)
    torch.manual_seed(0)
    batch = {"obs": {"object_pose": torch.rand(4, 2, 7), "target_position": torch.rand(4, 2, 3),
                     "arm_pose": torch.rand(4, 2, 6)}, "action": torch.rand(4, 8, 22) * 2 - 1}
    policy = make_policy(cfg_old.policy_type, cfg_old.policy).eval()
    torch.manual_seed(1)
    loss_old, info_old = policy(batch)
    policy.config = cfg_new.policy  # same weights, same noise: only the weighting differs
    torch.manual_seed(1)
    loss_new, info_new = policy(batch)
    la, le = info_old["loss_arm"], info_old["loss_end_effector"]
    assert (info_new["loss_arm"], info_new["loss_end_effector"]) == (la, le)
    assert la != pytest.approx(le, rel=1e-3)  # otherwise any weighting would give the same number
    assert float(loss_old.detach()) == pytest.approx((6 * la + 16 * le) / 22, rel=1e-5)
    assert float(loss_new.detach()) == pytest.approx(0.75 * la + 0.25 * le, rel=1e-5)


@pytest.mark.parametrize("action, field", [
    ({"arm_loss_share": 1.0}, "arm_loss_share"),
    ({"arm_loss_share": 0}, "arm_loss_share"),
    ({"latent_normalization": "global"}, "latent_normalization"),
    ({"end_effector": "explicit", "end_effector_dim": 1, "latent_normalization": "joint"}, "latent_normalization"),
    ({"end_effector": "explicit", "end_effector_dim": 1, "project_latent": True}, "project_latent"),
])
def test_bad_action_options_name_the_field(action, field):
    data = tiny_config_dict()
    data["policy"]["action"] = {**data["policy"]["action"], **action}
    with pytest.raises(ConfigError, match=field) as info:
        train_config_from_dict(data, source="cfg.yaml")
    assert "cfg.yaml" in str(info.value)


def _unit_codec(dims: dict[str, int]) -> LatentCodec:
    """A codec that says its latents are unit vectors: the linear stand-in with normalized codes."""
    base = LinearCodec(dims, 16, seed=0)
    enc = {e: (lambda x, e=e: torch.nn.functional.normalize(base.encoders[e](x), dim=-1)) for e in dims}
    return LatentCodec(enc, base.decoders, 16, name="unit test codec", unit_norm=True)


def test_project_latent_decodes_the_unit_vector(demo_path):
    cfg, datasets, _codec, normalizer = demo_path("per_dim")
    loaded = LoadedPolicy(make_policy(cfg.policy_type, cfg.policy), normalizer, cfg, {})
    codec = _unit_codec({"gripper": 1, "mimic": 16})
    chunk = torch.randn(2, cfg.policy.horizon, 22)
    latents = normalizer.unnormalize_action(chunk, "mimic")[..., 6:]
    _, plain = PolicyRunner(loaded, "mimic", codec).decode_chunk(chunk)
    _, projected = PolicyRunner(loaded, "mimic", codec, project_latent=True).decode_chunk(chunk)
    np.testing.assert_allclose(plain, codec.decode("mimic", latents).numpy(), atol=1e-5)
    unit = latents / latents.norm(dim=-1, keepdim=True)
    np.testing.assert_allclose(projected, codec.decode("mimic", unit).numpy(), atol=1e-5)
    assert np.abs(projected - plain).max() > 1e-2
    # a codec that does not say its latents are unit vectors cannot be projected
    with pytest.raises(InputError, match="unit"):
        PolicyRunner(loaded, "mimic", LinearCodec({"mimic": 16}, 16), project_latent=True)


def test_project_latent_with_a_non_unit_codec_errors_before_training(tmp_path):
    data = tiny_config_dict(steps=2)
    data["policy"]["action"] = {**data["policy"]["action"], "project_latent": True}
    cfg = train_config_from_dict(data)
    with pytest.raises(ConfigError, match="unit-norm") as info:
        train(cfg, tmp_path, progress=False)
    assert info.value.field == "policy.action.project_latent"
    assert not (tmp_path / "checkpoints").exists()


def test_checkpoint_without_the_new_keys_loads_and_acts_as_before(tmp_path):
    """A checkpoint written before arm_loss_share / latent_normalization / project_latent / latent_basis /
    embodiment_cue (its config and stats lack them) loads with the defaults that reproduce the old behaviour, acts identically, and resumes."""
    cfg = train_config_from_dict(tiny_config_dict(steps=4, checkpoint_every=4))
    train(cfg, tmp_path, progress=False)
    ckpt = tmp_path / "checkpoints" / "step_0000004"
    before = load_policy(ckpt)
    doc = json.loads((ckpt / "config.json").read_text())
    action = doc["train_config"]["policy"]["action"]
    for key in ("arm_loss_share", "latent_normalization", "project_latent", "latent_basis"):
        del action[key]
    del doc["train_config"]["policy"]["observation"]["embodiment_cue"]
    (ckpt / "config.json").write_text(json.dumps(doc))
    old = load_policy(ckpt)
    a = old.config.policy.action
    assert (a.arm_loss_share, a.latent_normalization, a.project_latent, a.latent_basis) == (None, "per_dim", False, None)
    assert old.config.policy.observation.embodiment_cue == () and old.latent_basis is None
    assert old.normalizer.action_joint_from is None
    codec = LinearCodec({"gripper": 1, "mimic": 16}, 16, seed=0)
    obs = {"state": np.linspace(0, 1, 8, dtype=np.float32), "arm_pose": np.zeros(6, np.float32)}
    steps = [PolicyRunner(p, "mimic", codec, seed=3).step(obs) for p in (before, old)]
    np.testing.assert_array_equal(steps[0].end_effector, steps[1].end_effector)
    np.testing.assert_array_equal(steps[0].arm, steps[1].arm)
    more = train_config_from_dict(tiny_config_dict(steps=6, checkpoint_every=6))
    result = train(more, tmp_path, resume=ckpt, progress=False)
    assert result.step == 6
