"""The synthetic human pose sampler: determinism, anatomical ranges, grasp families, coverage of widths."""

from __future__ import annotations

import numpy as np
import pytest

from lad_core.embodiments.human import validate_landmarks
from lad_core.embodiments.human_model import ANGLE_LIMITS, articulate, named_pose
from lad_core.errors import ConfigError
from lad_core.latent.sampler import FAMILIES, SamplerConfig, SyntheticPoseSampler


@pytest.fixture(scope="module")
def poses():
    return SyntheticPoseSampler().sample(6000, seed=11)


def test_deterministic_for_a_seed_and_different_across_seeds():
    s = SyntheticPoseSampler()
    a, b, c = s.sample(50, seed=3), s.sample(50, seed=3), s.sample(50, seed=4)
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    assert np.abs(a.landmarks - c.landmarks).max() > 1e-3


def test_angles_stay_in_anatomical_limits_and_landmarks_are_valid(poses):
    assert poses.landmarks.shape == (6000, 21, 3)
    validate_landmarks(poses.landmarks)
    assert (poses.angles >= ANGLE_LIMITS[:, 0] - 1e-9).all() and (poses.angles <= ANGLE_LIMITS[:, 1] + 1e-9).all()
    np.testing.assert_allclose(poses.landmarks[:, 0], 0.0)  # the wrist is the frame origin


def test_hand_size_and_wrist_noise_follow_the_config(poses):
    cfg = SamplerConfig()
    lo, hi = cfg.size_range
    assert poses.scale.min() >= lo and poses.scale.max() <= hi
    # wrist -> middle MCP length scales with the hand (jitter of a few mm on top)
    base = np.linalg.norm(articulate(named_pose("open"))[9])
    length = np.linalg.norm(poses.landmarks[:, 9], axis=-1)
    np.testing.assert_allclose(length, base * poses.scale, atol=0.008)
    # without noise, the landmarks are exactly the scaled model hand
    quiet = SyntheticPoseSampler(SamplerConfig(wrist_rotation_deg=0.0, landmark_noise=0.0)).sample(20, seed=1)
    np.testing.assert_allclose(quiet.landmarks, articulate(quiet.angles) * quiet.scale[:, None, None], atol=1e-12)


def test_family_mixture_matches_its_weights(poses):
    weights = SamplerConfig().families
    total = sum(weights.values())
    for i, name in enumerate(FAMILIES):
        share = float((poses.family == i).mean())
        assert abs(share - weights[name] / total) < 0.025, (name, share)


def test_families_shape_the_hand(poses):
    tips = poses.landmarks[:, [4, 8, 12, 16, 20]]
    thumb_gap = np.linalg.norm(tips[:, 1:] - tips[:, :1], axis=-1).min(-1)
    finger_reach = np.linalg.norm(tips[:, 1:], axis=-1).mean(-1)
    fam = {name: poses.family == i for i, name in enumerate(FAMILIES)}
    # pinches close the thumb onto a finger; open hands keep it away; fists pull the fingertips in
    assert np.percentile(thumb_gap[fam["pinch"]], 25) < 0.025
    assert np.median(thumb_gap[fam["open"]]) > 0.06
    assert np.median(finger_reach[fam["fist"]]) < np.median(finger_reach[fam["open"]]) - 0.05


def test_only_selected_families_are_drawn():
    s = SyntheticPoseSampler(SamplerConfig(families={"pinch": 1.0, "fist": 0.0}))
    out = s.sample(200, seed=0)
    assert set(np.unique(out.family)) == {FAMILIES.index("pinch")}


@pytest.mark.parametrize("kwargs, field", [
    ({"families": {"pinch": 1.0, "karate": 1.0}}, "sampler.families"),
    ({"families": {"pinch": -1.0}}, "sampler.families"),
    ({"size_range": (1.2, 0.9)}, "sampler.size_range"),
    ({"joint_noise": -0.1}, "sampler.joint_noise"),
])
def test_bad_sampler_settings_are_named(kwargs, field):
    with pytest.raises(ConfigError) as err:
        SamplerConfig(**kwargs)
    assert field in str(err.value)
