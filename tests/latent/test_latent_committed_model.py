"""The committed CPU checkpoint (tests/latent/data/latent_cpu_all, made by the command in docs/latent.md):
backward compatibility of the format, the gripper sweep of Fig. 3 and the held-out real-pose targets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from latent_helpers import COMMITTED_MODEL, measure_script


def test_format_is_backward_compatible(committed_model):
    """Reference outputs stored when the checkpoint was committed: a loader change that breaks old files fails."""
    ref = json.loads((COMMITTED_MODEL / "reference.json").read_text())
    assert committed_model.embodiments == ref["embodiments"] and committed_model.latent_dim == ref["latent_dim"]
    widths = np.asarray(ref["gripper_widths"], dtype=np.float32)
    z = committed_model.encode("gripper", widths)
    np.testing.assert_allclose(z, ref["gripper_latents"], atol=1e-5)
    np.testing.assert_allclose(committed_model.decode("mimic", z), ref["mimic_from_gripper"], atol=1e-4)
    size = sum(p.stat().st_size for p in COMMITTED_MODEL.iterdir())
    assert size < 6_000_000  # v8: 2.6M parameters stored as float16 (`lad latent export --half`), 5.2 MB


def test_gripper_width_sweep_opens_the_human_hand(committed_model):
    """Fig. 3: decoding widths 0 -> 1 into the human hand widens the thumb-finger aperture overall."""
    from lad_core.latent.metrics import gripper_sweep

    s = gripper_sweep(committed_model, steps=21)["human"]
    assert s["opening_mm"] > 40.0 and s["spearman"] > 0.7, s
    assert s["aperture_mm"][0] < 25.0 < 60.0 < s["aperture_mm"][-1], s


def test_gripper_width_sweep_opens_the_robot_hands_overall(committed_model):
    """Faive and mimic open with the width too (+50 / +40 mm). An earlier checkpoint, trained with the gripper as a
    cross-term source, closed the Faive hand instead."""
    from lad_core.latent.metrics import gripper_sweep

    sweep = gripper_sweep(committed_model, steps=21)
    for hand in ("faive", "mimic"):
        s = sweep[hand]
        assert s["spearman"] > 0.75 and s["opening_mm"] > 30.0, (hand, s)  # the data: mimic 7 -> 46 mm


def test_gripper_width_sweep_opens_every_hand_monotonically(committed_model):
    """Fig. 3's target: Spearman 1.0 / 0.991 / 1.0, at most 1.0 mm back (Faive) (the sweep term; without it the hands
    stepped back 4-6 mm somewhere along the sweep, docs/latent.md)."""
    from lad_core.latent.metrics import gripper_sweep

    sweep = gripper_sweep(committed_model, steps=21)
    for hand in ("human", "faive", "mimic"):
        s = sweep[hand]
        assert s["spearman"] > 0.95 and s["opening_mm"] > 30.0 and s["max_drop_mm"] < 2.0, (hand, s)


def _real_targets(model, poses):
    from lad_core.latent.metrics import real_pose_targets

    return real_pose_targets(model, poses.astype(np.float64), targets=("mimic", "faive"))


@pytest.mark.shared_data
def test_held_out_real_poses_cross_reconstruct_far_better_than_the_mean_pose(committed_model, real_pose_sequence):
    """human -> robot through the latent space lands near direct retargeting; a constant pose (the training mean)
    is the baseline it must clearly beat."""
    from lad_core.latent.metrics import fingertips_m, training_retargeter

    res = _real_targets(committed_model, real_pose_sequence)
    assert res["n"] == 621
    for robot in ("mimic", "faive"):
        direct = training_retargeter(committed_model, robot).retarget_batch(real_pose_sequence.astype(np.float64))
        mean_pose = committed_model.normalizers[robot].mean.numpy()[None].repeat(len(direct), 0)
        base = np.linalg.norm(fingertips_m(robot, mean_pose) - fingertips_m(robot, direct), axis=-1).mean() * 1000
        assert res[f"human->{robot}_mm"] < 0.3 * base, (robot, res, base)


@pytest.mark.shared_data
def test_held_out_real_poses_within_5mm_of_direct_retargeting(committed_model, real_pose_sequence):
    """The issue's target, against the retargeter that made the model's pairs (the converged batched mode):
    4.12 / 4.07 mm (human -> mimic / Faive), p95 9.3 / 7.4 mm (docs/latent.md, v8). Against the fast default mode
    the same model is 5.1 / 5.1 mm off: that mode's answers jump between minima of Eq. 2."""
    res = _real_targets(committed_model, real_pose_sequence)
    assert res["human->mimic_mm"] <= 5.0 and res["human->faive_mm"] <= 5.0, res
    assert res["human->mimic_mm_p95"] <= 12.0 and res["human->faive_mm_p95"] <= 12.0, res


@pytest.mark.shared_data
def test_other_peoples_hands_cross_reconstruct_near_direct_retargeting(committed_model, shared_data):
    """The 6 MediaPipe world-landmark hands of other people in ../shared/data/hands/landmark_examples (fist,
    pointing up, thumb up, victory): 10.8 / 7.0 mm (human -> mimic / Faive; the earlier checkpoints 12.8 / 13.2,
    15.5 / 15.4 and 17.2 / 16.4, docs/latent.md). Their proportions are among the 24 hands the sampler's geometry was measured on, their poses
    are not in any training set."""
    from lad_core.embodiments.human import canonicalize

    script = measure_script()
    pbtxt = sorted((shared_data / "hands" / "landmark_examples").glob("*.pbtxt"))
    hands = [script.read_pbtxt_world(p) for p in pbtxt if "world_landmarks" in p.read_text()]
    poses = np.stack([canonicalize(world, handed)[0] for world, handed in hands])
    res = _real_targets(committed_model, poses)
    assert res["n"] == 6
    assert res["human->mimic_mm"] <= 12.5 and res["human->faive_mm"] <= 12.5, res
