"""The precomputed DDIM sampler reproduces diffusers' DDIMScheduler step for step, and the policy's chunk sampling
equals a loop over DDIMScheduler.step with the same denoiser and noise."""

from __future__ import annotations

import pytest
import torch

from lad_core.policy.configuration import DiffusionConfig
from lad_core.policy.ddim import DdimSampler
from lad_core.policy.diffusion import make_inference_scheduler


@pytest.mark.parametrize("prediction_type", ["epsilon", "sample"])
@pytest.mark.parametrize("clip", [True, False])
@pytest.mark.parametrize("steps", [10, 100, 7])
def test_sampler_matches_diffusers(prediction_type, clip, steps):
    cfg = DiffusionConfig(prediction_type=prediction_type, clip_sample=clip, num_inference_steps=min(steps, 100))
    reference = make_inference_scheduler(cfg)
    ours = DdimSampler(make_inference_scheduler(cfg))
    reference.set_timesteps(steps)
    schedule = ours.schedule(steps)
    assert [s.t for s in schedule] == [int(t) for t in reference.timesteps]
    gen = torch.Generator().manual_seed(0)
    a = b = 2.0 * torch.randn(3, 8, 5, generator=gen)
    for s, t in zip(schedule, reference.timesteps):
        out = 1.5 * torch.randn(3, 8, 5, generator=gen)  # a stand-in for the denoiser's output
        a = reference.step(out, t, a).prev_sample
        b = ours.step(out, s, b)
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(a, 2.0 * torch.randn(3, 8, 5, generator=torch.Generator().manual_seed(0)))


def test_policy_chunk_equals_the_diffusers_loop():
    from policy_helpers import TINY_UNET

    from lad_core.policy.factory import make_policy
    from lad_core.policy.train_config import train_config_from_dict
    from policy_helpers import tiny_config_dict

    cfg = train_config_from_dict(tiny_config_dict(dict(TINY_UNET))).policy
    torch.manual_seed(0)
    policy = make_policy("unet", cfg).eval()
    obs = {"state": torch.randn(1, 2, 8), "arm_pose": torch.randn(1, 2, 6)}
    ours = policy.predict_action_chunk(obs, torch.Generator().manual_seed(1), 10)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        cond = policy._condition(policy.obs_encoder(obs))
        x = torch.randn((1, cfg.horizon, cfg.action.dim), generator=gen)
        sched = make_inference_scheduler(cfg.diffusion)
        sched.set_timesteps(10)
        for t in sched.timesteps:
            x = sched.step(policy.denoiser(x, t.expand(1), cond), t, x).prev_sample
    torch.testing.assert_close(ours, x, rtol=1e-5, atol=1e-5)
