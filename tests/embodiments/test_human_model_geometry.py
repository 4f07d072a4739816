"""human_model.articulate's optional geometry (chain bases and bone lengths, per pose or shared)."""

from __future__ import annotations

import numpy as np
import pytest

from lad_core.embodiments import human_model as hm
from lad_core.errors import InputError


@pytest.fixture(scope="module")
def angles():
    return np.random.default_rng(0).uniform(hm.ANGLE_LIMITS[:, 0], hm.ANGLE_LIMITS[:, 1], (9, hm.NUM_ANGLES))


def test_default_geometry_gives_the_model_hand_unchanged(angles):
    np.testing.assert_array_equal(hm.articulate(angles, hm.default_geometry()), hm.articulate(angles))
    bases, lengths = hm.default_geometry()
    open_hand = hm.articulate(hm.named_pose("open"))
    np.testing.assert_allclose(open_hand[[1, 5, 9, 13, 17]], bases)


def test_bases_and_lengths_set_the_landmarks(angles):
    bases, lengths = hm.default_geometry()
    # a uniformly scaled hand is the scaled model hand (the joints are rotations only)
    np.testing.assert_allclose(hm.articulate(angles, (1.2 * bases, 1.2 * lengths)), 1.2 * hm.articulate(angles),
                               atol=1e-12)
    # each bone takes its own length, whatever the angles
    longer = lengths.copy()
    longer[1] = [0.05, 0.03, 0.02]
    pts = hm.articulate(angles, (bases, longer))
    np.testing.assert_allclose(np.linalg.norm(np.diff(pts[:, 5:9], axis=1), axis=-1), np.tile([0.05, 0.03, 0.02],
                                                                                                (9, 1)), atol=1e-12)
    # a moved base moves its chain rigidly; other fingers stay put
    moved = bases.copy()
    moved[4] += [0.0, -0.01, 0.0]
    shifted = hm.articulate(angles, (moved, lengths))
    ref = hm.articulate(angles)
    np.testing.assert_allclose(shifted[:, 17:21] - ref[:, 17:21], np.broadcast_to([0.0, -0.01, 0.0], (9, 4, 3)),
                               atol=1e-12)
    np.testing.assert_array_equal(shifted[:, :17], ref[:, :17])


def test_per_pose_geometry_broadcasts(angles):
    bases, lengths = hm.default_geometry()
    scales = np.linspace(0.8, 1.2, 9)[:, None, None]
    per_pose = hm.articulate(angles, (bases * scales, lengths * scales))
    np.testing.assert_allclose(per_pose, hm.articulate(angles) * scales, atol=1e-12)
    # one pose, many geometries
    many = hm.articulate(angles[0], (bases * scales, lengths * scales))
    assert many.shape == (9, 21, 3)
    np.testing.assert_allclose(many[3], hm.articulate(angles[0]) * scales[3], atol=1e-12)


@pytest.mark.parametrize("geometry, problem", [
    ((np.zeros((4, 3)), np.ones((5, 3))), "bases must be finite"),
    ((np.zeros((5, 3)), -np.ones((5, 3))), "lengths must be > 0"),
    ((np.zeros((5, 3)), np.full((5, 3), np.nan)), "lengths must be finite"),
    ((np.zeros((4, 5, 3)), np.ones((5, 3))), "does not broadcast"),
    (np.zeros(3), "expected a pair"),
])
def test_bad_geometry_is_named(angles, geometry, problem):
    with pytest.raises(InputError, match=problem):
        hm.articulate(angles, geometry)
