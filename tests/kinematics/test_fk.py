"""Forward kinematics against hand-computed positions, pytorch_kinematics, and finite differences."""

import numpy as np
import pytest
import torch

from lad_core.kinematics import load_kinematics

MIMIC_INDEX_BASE = np.array([0.0, 0.027, np.sqrt(0.0867**2 - 0.027**2)])  # 86.7 mm from the wrist


def _q(name, **values):
    kin = load_kinematics(name)
    q = np.clip(np.zeros(kin.action_dim), kin.lower, kin.upper)
    for joint, v in values.items():
        q[kin.spec.joint_names.index(joint)] = v
    return kin, q


def test_mimic_index_tip_straight_and_bent():
    kin, q = _q("mimic")
    length = 0.009 + 0.039 + 0.029 + 0.0196
    np.testing.assert_allclose(kin.fingertips(q)[1], MIMIC_INDEX_BASE + [0, 0, length], atol=1e-6)  # pytorch_kinematics parses URDF numbers in float32
    # MCP at 90 degrees: everything after the 9 mm abduction offset points out of the palm (+x); DIP follows PIP.
    kin, q = _q("mimic", index_mcp=np.pi / 2)
    np.testing.assert_allclose(kin.fingertips(q)[1], MIMIC_INDEX_BASE + [0.039 + 0.029 + 0.0196, 0, 0.009], atol=1e-6)  # pytorch_kinematics parses URDF numbers in float32
    kin, q = _q("mimic", index_pip=np.pi / 4)  # PIP and the coupled DIP each bend 45 degrees
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    expected = MIMIC_INDEX_BASE + [0, 0, 0.009 + 0.039] + 0.029 * np.array([s, 0, c]) + [0.0196, 0, 0]
    np.testing.assert_allclose(kin.fingertips(q)[1], expected, atol=1e-6)  # pytorch_kinematics parses URDF numbers in float32


def test_faive_rolling_joint_bends_twice_and_dip_follows_pip():
    kin, q = _q("faive", index_mcp=0.4)
    base = np.array([0.0, 0.029, 0.090])
    after_first = base + 0.018 * np.array([np.sin(0.4), 0, np.cos(0.4)])
    rest = 0.031 + 0.012 + 0.0235 + 0.009 + 0.0103
    np.testing.assert_allclose(kin.fingertips(q)[1], after_first + rest * np.array([np.sin(0.8), 0, np.cos(0.8)]), atol=1e-6)  # pytorch_kinematics parses URDF numbers in float32
    urdf = dict(zip(kin.tree.joint_names, kin.urdf_joints(_q("faive", index_pip=0.5)[1])))
    assert urdf["index_pip_a"] == urdf["index_pip_b"] == 0.5
    assert urdf["index_dip_a"] == pytest.approx(0.71 * 0.5) and urdf["index_dip_b"] == pytest.approx(0.355)


def test_gripper_width_maps_to_finger_travel():
    kin, q = _q("gripper", width=0.5)
    tips = kin.fingertips(q)
    np.testing.assert_allclose(tips[0], [0, 0.02, 0.0584 + 0.045], atol=1e-6)
    np.testing.assert_allclose(tips[1], [0, -0.02, 0.0584 + 0.045], atol=1e-6)


@pytest.mark.parametrize("name", ["faive", "mimic", "gripper"])
def test_matches_pytorch_kinematics_and_is_batched_and_differentiable(name):
    import pytorch_kinematics as pk

    kin = load_kinematics(name)
    q = np.random.default_rng(1).uniform(kin.lower, kin.upper, size=(4, 3, kin.action_dim))
    ours = kin.link_transforms(q)
    assert ours.shape[:2] == (4, 3)
    chain = pk.build_chain_from_urdf(kin.spec.urdf_path.read_bytes()).to(dtype=torch.float64)
    urdf_q = kin.urdf_joints(q).reshape(12, -1)
    order = [kin.tree.joint_names.index(n) for n in chain.get_joint_parameter_names()]
    theirs = chain.forward_kinematics(torch.tensor(urdf_q[:, order]))
    for i, frame in enumerate(kin.tree.frame_names):
        np.testing.assert_allclose(ours.reshape(12, -1, 4, 4)[:, i], theirs[frame].get_matrix().numpy(), atol=1e-6)
    np.testing.assert_allclose(kin.points(q), kin.points_from_links(q), atol=1e-6)
    qt = torch.tensor(q, requires_grad=True)
    (kin.fingertips(qt) ** 2).sum().backward()
    assert torch.isfinite(qt.grad).all() and qt.grad.abs().sum() > 0
    np.testing.assert_allclose(kin.fingertips(qt).detach().numpy(), kin.fingertips(q), atol=1e-6)


@pytest.mark.parametrize("name", ["faive", "mimic"])
def test_keyvector_jacobian_matches_finite_differences(name):
    kin = load_kinematics(name)
    q = np.random.default_rng(2).uniform(kin.lower, kin.upper, size=(5, kin.action_dim))
    kv, jac = kin.keyvectors_and_jacobian(q)
    np.testing.assert_allclose(kv, kin.keyvectors(q), atol=1e-6)
    eps = 1e-6
    for a in range(kin.action_dim):
        dq = np.zeros(kin.action_dim)
        dq[a] = eps
        numeric = (kin.keyvectors(q + dq) - kin.keyvectors(q - dq)) / (2 * eps)
        np.testing.assert_allclose(jac[..., a], numeric, atol=1e-7)


def test_wrong_joint_count_is_an_error():
    from lad_core.errors import InputError

    with pytest.raises(InputError, match="mimic has 16 actuated joints"):
        load_kinematics("mimic").fingertips(np.zeros(11))
