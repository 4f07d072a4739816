import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from lad_core.embodiments import human, human_model
from lad_core.errors import InputError


def test_theta_roundtrip_on_real_sequence(real_pose_sequence):
    pts = real_pose_sequence.astype(np.float64)
    theta = human.encode_pose(pts)
    assert theta.shape == (len(pts), 189)
    np.testing.assert_allclose(human.decode_pose(theta), pts, atol=1e-6)


def test_decode_is_differentiable_in_torch(real_pose_sequence):
    theta = torch.tensor(human.encode_pose(real_pose_sequence[:4]), requires_grad=True)
    out = human.decode_pose(theta)
    np.testing.assert_allclose(out.detach().numpy(), real_pose_sequence[:4], atol=1e-6)
    out[..., 8, :].sum().backward()  # index tip depends on the wrist and the index chain only
    grad = theta.grad.reshape(4, 21, 9).abs().sum(-1)
    assert (grad[:, [0, 5, 6, 7]] > 0).all() and (grad[:, 9:] == 0).all()


def test_theta_is_a_local_representation(real_pose_sequence):
    """Rotating and translating the whole hand changes only the wrist's entry of theta_H."""
    pts = real_pose_sequence[300].astype(np.float64)
    moved = pts @ Rotation.from_euler("xyz", [0.3, -0.5, 1.1]).as_matrix().T + [0.1, -0.2, 0.4]
    a, b = human.encode_pose(pts).reshape(21, 9), human.encode_pose(moved).reshape(21, 9)
    np.testing.assert_allclose(a[1:], b[1:], atol=1e-9)
    assert not np.allclose(a[0], b[0])


def test_canonicalize_recovers_canonical_frame_and_mirrors_left_hands(real_pose_sequence):
    pts = real_pose_sequence[100].astype(np.float64)
    camera = pts @ Rotation.from_euler("zyx", [0.7, 0.2, -1.0]).as_matrix().T + [0.05, 0.1, 0.6]
    canon, rot = human.canonicalize(camera, "right")
    np.testing.assert_allclose(canon, pts, atol=1e-9)
    np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-12)
    left_hand = camera * [-1.0, 1.0, 1.0]  # a mirror image of a right hand is a left hand
    np.testing.assert_allclose(human.canonicalize(left_hand, "left")[0], pts, atol=1e-9)


@pytest.mark.parametrize(
    "bad, message", [(np.zeros((21, 2)), "21, 3"), (np.zeros((20, 3)), "21, 3"), ("not landmarks", "not a numeric array")]
)
def test_bad_landmarks_are_named(bad, message):
    with pytest.raises(InputError, match=message):
        human.encode_pose(bad)


def test_nan_landmarks_are_rejected_with_the_frame():
    pts = np.tile(human.reference_landmarks(), (3, 1, 1))
    pts[2, 5, 1] = np.nan
    with pytest.raises(InputError, match=r"NaN/inf.*\[2\]"):
        human.canonicalize(pts)


def test_hand_model_named_poses_are_what_they_say():
    tips = lambda name: human_model.articulate(human_model.named_pose(name))[[4, 8, 12, 16, 20]]  # noqa: E731
    for finger, k in (("index", 1), ("middle", 2), ("ring", 3), ("little", 4)):
        pinch = tips(f"pinch_{finger}")
        assert np.linalg.norm(pinch[0] - pinch[k]) < 0.02
    # Fingertips come towards the wrist in a fist.
    assert np.linalg.norm(tips("fist")[1:], axis=-1).max() < np.linalg.norm(tips("open")[1:], axis=-1).min()


@pytest.mark.parametrize("finger", ["index", "little"])
def test_stored_pinch_thumb_angles_match_the_solver(finger):
    stored = human_model.named_pose(f"pinch_{finger}")[:4]
    pts = human_model.articulate(human_model.named_pose(f"pinch_{finger}"))
    tip = {"index": 8, "little": 20}[finger]
    assert abs(np.linalg.norm(pts[4] - pts[tip]) - 0.015) < 1e-4
    np.testing.assert_allclose(human_model.solve_pinch_thumb(finger), stored, atol=1e-3)
