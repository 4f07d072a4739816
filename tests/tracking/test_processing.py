"""Steadiness on real landmarks (joints.npy): One Euro, bone-length rejection, hand choice, mirror, calibration."""

from __future__ import annotations

import numpy as np
import pytest

from lad_core.errors import ConfigError, InputError
from lad_core.tracking import OneEuroFilter, OneEuroParams, TrackingConfig
from lad_core.tracking.processing import HandProcessor
from lad_core.tracking.types import HandObservation


def _obs(world, t, handedness="right", score=0.9, image=None):
    return HandObservation(timestamp=t, image_landmarks=image, world_landmarks=np.asarray(world, float),
                           handedness=handedness, score=score)  # fmt: skip


def _mirror_x(world):
    out = np.array(world, dtype=float)
    out[:, 0] *= -1
    return out


def test_one_euro_smooths_noise_and_follows_motion():
    rng = np.random.default_rng(0)
    t = np.arange(300) / 30.0
    noisy = 0.003 * rng.standard_normal((300, 3))
    f = OneEuroFilter(OneEuroParams(min_cutoff=1.0, beta=5.0))
    out = np.stack([f(x, ti) for x, ti in zip(noisy, t)])
    assert out[30:].std() < 0.4 * noisy[30:].std()
    f.reset()
    ramp = np.stack([np.full(3, 0.5 * ti) for ti in t])  # 0.5 m/s
    out = np.stack([f(x, ti) for x, ti in zip(ramp, t)])
    assert np.abs(out[-1] - ramp[-1]).max() < 0.02  # lag under 2 cm at 0.5 m/s
    disabled = OneEuroFilter(OneEuroParams(enabled=False))
    assert np.array_equal(disabled(noisy[5], 0.0), noisy[5])


@pytest.mark.parametrize("kwargs", [{"min_cutoff": 0}, {"beta": -1}, {"d_cutoff": float("nan")}])
def test_one_euro_rejects_bad_parameters(kwargs):
    with pytest.raises(ConfigError, match="one_euro"):
        OneEuroParams(**kwargs)


def test_config_validation():
    with pytest.raises(ConfigError, match="hand"):
        TrackingConfig(hand="both")


def test_bone_length_rejection_holds_the_pose(real_pose_sequence):
    seq = real_pose_sequence[:120].astype(float)
    bad = set(range(60, 66))
    proc = HandProcessor(TrackingConfig(one_euro=OneEuroParams(enabled=False), wrist_pose=False))
    frames = []
    for i, world in enumerate(seq):
        if i in bad:  # a misdetection: a hand 60 % larger than the operator's (e.g. the other person's hand)
            world = world * 1.6
        frames.append(proc.process([_obs(world, i / 30.0)], i / 30.0, i))
    for i in bad:
        assert frames[i].rejected == "bone_length" and frames[i].lost and not frames[i].present
        assert np.array_equal(frames[i].canonical, frames[59].canonical)
        assert frames[i].time_since_loss == pytest.approx((i - 59) / 30.0)
    assert all(f.present for i, f in enumerate(frames) if i not in bad)
    assert np.allclose(frames[70].canonical, seq[70], atol=1e-6)


def test_calibration_sets_the_reference_hand(real_pose_sequence):
    seq = real_pose_sequence.astype(float)
    proc = HandProcessor(TrackingConfig(wrist_pose=False))
    with pytest.raises(InputError, match="need 10 frames"):
        proc.calibrate()
    for i in range(15):  # the operator holds still (the first frames repeated with the sequence's own jitter)
        proc.process([_obs(seq[0] + 0.0005 * np.sin(i), i / 30.0)], i / 30.0, i)
    calib = proc.calibrate()
    assert calib.hand_size == pytest.approx(np.linalg.norm(seq[0, 9]), abs=0.002)
    proc.reset()
    for i in range(40):  # the hand moves through the sequence: calibration refuses
        proc.process([_obs(seq[i * 10], i / 30.0)], i / 30.0, i)
    with pytest.raises(InputError, match="hold still"):
        proc.calibrate()
    # with an explicit calibration of a smaller hand, the real hand is rejected
    small = HandProcessor(TrackingConfig(wrist_pose=False))
    small.set_calibration(type(calib)(bone_lengths=calib.bone_lengths * 0.6, canonical=calib.canonical,
                                      hand_size=calib.hand_size * 0.6))  # fmt: skip
    assert small.process([_obs(seq[0], 0.0)], 0.0).rejected == "bone_length"


def test_hand_choice_and_mirror(real_pose_sequence):
    right = real_pose_sequence[100].astype(float)
    left = _mirror_x(right)  # the same real hand as a left hand
    both = [_obs(right, 0.0, "right", 0.8), _obs(left, 0.0, "left", 0.95)]
    for choice, expected in (("right", "right"), ("left", "left"), ("either", "left")):
        frame = HandProcessor(TrackingConfig(hand=choice, wrist_pose=False)).process(both, 0.0)
        assert frame.handedness == expected and frame.num_hands == 2
        # left hands are mirrored onto a right hand: both give the same canonical hand
        assert np.allclose(frame.canonical, HandProcessor(TrackingConfig(wrist_pose=False)).process(
            [both[0]], 0.0).canonical, atol=1e-6)  # fmt: skip
    only_left = HandProcessor(TrackingConfig(hand="right", wrist_pose=False)).process([both[1]], 0.0)
    assert only_left.rejected == "handedness" and only_left.lost
    # a mirrored (selfie) input: the detector reports the mirror image as a left hand; mirror=True undoes it
    mirrored = HandProcessor(TrackingConfig(hand="right", mirror=True, wrist_pose=False)).process([both[1]], 0.0)
    assert mirrored.present and mirrored.handedness == "right"
    assert np.allclose(mirrored.world_landmarks, right)


def test_either_keeps_following_the_same_hand(real_pose_sequence):
    right = real_pose_sequence[0].astype(float)
    left = _mirror_x(right)
    proc = HandProcessor(TrackingConfig(hand="either", wrist_pose=False))
    assert proc.process([_obs(right, 0.0, "right", 0.9)], 0.0).handedness == "right"
    # a better-scoring left hand appears: keep following the right one
    assert proc.process([_obs(left, 0.03, "left", 0.99), _obs(right, 0.03, "right", 0.7)], 0.03).handedness == "right"


def test_reset_clears_state(real_pose_sequence):
    proc = HandProcessor(TrackingConfig(wrist_pose=False))
    for i in range(20):
        proc.process([_obs(real_pose_sequence[i], i / 30.0)], i / 30.0, i)
    proc.calibrate(max_motion=1.0)
    proc.reset()
    frame = proc.process([], 1.0)
    assert frame.lost and frame.canonical is None and proc.calibration is None and proc.reference_bone_lengths is None
