"""The synthetic human pose sampler: determinism, anatomical ranges, grasp families, coverage of widths."""

from __future__ import annotations

import numpy as np
import pytest

from lad_core.embodiments.human import validate_landmarks
from lad_core.embodiments.human_model import ANGLE_LIMITS, articulate, default_geometry, named_pose
from lad_core.errors import ConfigError
from lad_core.latent.sampler import FAMILIES, SamplerConfig, SyntheticPoseSampler, measured_geometry


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
    # wrist -> middle MCP length is the measured mean palm length times the size factor (jitter of a few mm on top)
    palm = measured_geometry()["palm_length"]
    length = np.linalg.norm(poses.landmarks[:, 9], axis=-1)
    np.testing.assert_allclose(length, palm * poses.scale, atol=0.008)
    # without noise, the landmarks are exactly the hand of the drawn geometry
    quiet = SyntheticPoseSampler(SamplerConfig(wrist_rotation_deg=0.0, landmark_noise=0.0)).sample(20, seed=1)
    np.testing.assert_allclose(quiet.landmarks, articulate(quiet.angles, (quiet.bases, quiet.lengths)), atol=1e-12)


def test_model_geometry_is_the_earlier_sampler():
    """geometry="model": every hand is the parametric model hand times the size factor (older pairs files)."""
    quiet = SyntheticPoseSampler(SamplerConfig(geometry="model", wrist_rotation_deg=0.0, landmark_noise=0.0))
    s = quiet.sample(20, seed=1)
    assert s.bases is None and s.lengths is None
    np.testing.assert_allclose(s.landmarks, articulate(s.angles) * s.scale[:, None, None], atol=1e-12)


def test_measured_geometry_varies_per_pose_around_the_other_people_centre(poses):
    """Proportions are drawn per pose around the centre measured on other people's hands, with their spread."""
    g = measured_geometry()
    palm = np.linalg.norm(poses.bases[:, 2], axis=-1)[:, None, None]  # the middle MCP is (0, 0, palm)
    shape_b, shape_l = poses.bases / palm, poses.lengths / palm
    np.testing.assert_allclose(shape_b.mean(0), g["bases_centre"], atol=0.004)
    np.testing.assert_allclose(shape_l.mean(0), g["lengths_centre"], atol=0.004)
    # N(0, 1) clipped at +-2 has std 0.96
    np.testing.assert_allclose(shape_l.std(0), 0.96 * g["lengths_spread"], rtol=0.1)
    spread_b = g["bases_spread"] > 0  # index x and the middle MCP are fixed by the canonical frame
    np.testing.assert_allclose(shape_b.std(0)[spread_b], 0.96 * g["bases_spread"][spread_b], rtol=0.1)
    # the centre is not the parametric model hand (measured on the held-out recording): e.g. the thumb CMC sits
    # 4 mm closer to the palm plane and the middle finger's first bone is shorter
    model_b, model_l = default_geometry()
    model_palm = np.linalg.norm(model_b[2])
    assert np.abs(g["bases_centre"] - model_b / model_palm).max() > 0.03
    assert np.abs(g["lengths_centre"] - model_l / model_palm).max() > 0.03
    # no spread: every hand has the centre's proportions
    fixed = SyntheticPoseSampler(SamplerConfig(geometry_spread=0.0)).sample(10, seed=2)
    np.testing.assert_allclose(fixed.lengths / fixed.scale[:, None, None], np.broadcast_to(
        g["lengths_centre"] * g["palm_length"], (10, 5, 3)), atol=1e-12)


def test_stored_geometry_names_its_sources_and_excludes_the_held_out_recording():
    import yaml

    from lad_core.paths import resource

    doc = yaml.safe_load(resource("latent_hand_geometry.yaml").read_text())
    assert len(doc["sources"]) >= 20
    assert all(src.startswith(("landmark_examples/", "photos/")) for src in doc["sources"])
    assert 0.05 < doc["size_cv"]["value"] < 0.08


@pytest.mark.shared_data
def test_stored_geometry_is_reproduced_by_the_measurement_script(shared_data):
    """scripts/measure_hand_geometry.py on ../shared/data/hands gives the numbers in the resources YAML."""
    from latent_helpers import measure_script

    from lad_core.tracking.model_setup import HandModelError, ensure_model, verify_model

    try:
        verify_model()
    except HandModelError:
        ensure_model()
    mod = measure_script()
    from lad_core.embodiments.human import canonicalize

    hands = mod.load_hands(shared_data / "hands")
    assert len(hands) == 24  # 6 pbtxt hands, 18 of the 20 photos (two hands are too small for MediaPipe)
    measured = [mod.measure(canonicalize(world, handed)[0]) for _, world, handed in hands]
    palms = np.array([b[2, 2] for b, _ in measured])
    g = measured_geometry()
    np.testing.assert_allclose(np.mean([b / p for (b, _), p in zip(measured, palms)], 0), g["bases_centre"], atol=2e-3)
    np.testing.assert_allclose(np.mean([l / p for (_, l), p in zip(measured, palms)], 0), g["lengths_centre"],
                               atol=2e-3)
    np.testing.assert_allclose(palms.mean(), g["palm_length"], atol=1e-3)


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
