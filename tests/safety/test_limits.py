"""The pure limit functions and the SafetyLayer: rejection, clamping, and that nothing unsafe gets through."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lad_core.robots import quat
from lad_core.robots.base import RobotCommand, RobotState
from lad_core.safety import EStop, SafetyLayer, SafetyLimits, SafetyLog, apply_limits
from lad_core.safety import limits as L

DT = 0.02
LIMITS = SafetyLimits(joint_lower=[-1.0, -0.5, 0.0], joint_upper=[1.0, 0.5, 2.0], workspace_lower=[-0.3, -0.3, 0.1],
                      workspace_upper=[0.3, 0.3, 0.7], max_joint_velocity=[2.0, 1.0, 3.0], max_linear_velocity=0.25,
                      max_angular_velocity=1.5)
IDENTITY = np.array([0.0, 0.0, 0.0, 1.0])


def state_at(pos=(0.0, 0.0, 0.4), q=IDENTITY, joints=(0.0, 0.0, 1.0)) -> RobotState:
    return RobotState(0.0, np.array(pos, float), np.array(q, float), np.array(joints, float))


def assert_within_limits(cmd: RobotCommand, state: RobotState, limits: SafetyLimits = LIMITS, dt: float = DT) -> None:
    tol = 1e-9
    assert cmd.joints.shape == (limits.n_joints,) and cmd.ee_position.shape == (3,) and cmd.ee_orientation.shape == (4,)
    assert np.all(np.isfinite(cmd.joints)) and np.all(np.isfinite(cmd.ee_position))
    assert np.all(np.isfinite(cmd.ee_orientation))
    assert np.all(cmd.joints >= limits.joint_lower - tol) and np.all(cmd.joints <= limits.joint_upper + tol)
    assert np.all(np.abs(cmd.joints - state.joints) <= limits.max_joint_velocity * dt + tol)
    assert np.linalg.norm(cmd.ee_position - state.ee_position) <= limits.max_linear_velocity * dt + tol
    assert np.all(cmd.ee_position >= limits.workspace_lower - tol)
    assert np.all(cmd.ee_position <= limits.workspace_upper + tol)
    assert abs(np.linalg.norm(cmd.ee_orientation) - 1.0) < 1e-6
    assert quat.angle_between(cmd.ee_orientation, state.ee_orientation) <= limits.max_angular_velocity * dt + 1e-6


def test_clean_command_passes_unchanged():
    state = state_at()
    raw = RobotCommand([0.001, 0.0, 0.401], IDENTITY, [0.01, -0.01, 1.02])
    safe, violations = apply_limits(raw, state, LIMITS, DT)
    assert violations == []
    np.testing.assert_allclose(safe.joints, raw.joints)
    np.testing.assert_allclose(safe.ee_position, raw.ee_position)


@pytest.mark.parametrize("raw, kind", [
    ({"ee_position": [0, 0, np.nan], "ee_orientation": IDENTITY, "joints": [0, 0, 1]}, L.NON_FINITE),
    ({"ee_position": [0, 0, 0.4], "ee_orientation": IDENTITY, "joints": [0, np.inf, 1]}, L.NON_FINITE),
    ({"ee_position": [0, 0, 0.4], "ee_orientation": IDENTITY, "joints": [0, 0]}, L.MALFORMED),
    ({"ee_position": [0, 0, 0.4, 1], "ee_orientation": IDENTITY, "joints": [0, 0, 1]}, L.MALFORMED),
    ({"ee_position": [0, 0, 0.4], "ee_orientation": [0, 0, 0, 0], "joints": [0, 0, 1]}, L.MALFORMED),
    ({"ee_position": ["a", 0, 0.4], "ee_orientation": IDENTITY, "joints": [0, 0, 1]}, L.MALFORMED),
    ({"ee_position": [0, 0, 0.4], "ee_orientation": IDENTITY}, L.MALFORMED),
    ({"ee_position": [0, 0, 0.4], "ee_orientation": IDENTITY, "joints": [0, 0, 1], "speed": 9}, L.MALFORMED),
    ("go left", L.MALFORMED),
    (None, L.MALFORMED),
])
def test_malformed_or_non_finite_commands_become_hold(raw, kind):
    state = state_at(pos=(0.1, -0.1, 0.3), joints=(0.2, 0.1, 1.5))
    safe, violations = apply_limits(raw, state, LIMITS, DT)
    assert [v.kind for v in violations] == [kind]
    np.testing.assert_array_equal(safe.ee_position, state.ee_position)
    np.testing.assert_array_equal(safe.joints, state.joints)


def test_huge_jump_is_limited_to_one_step_along_the_line():
    state = state_at()
    raw = RobotCommand([0.25, 0.0, 0.4], IDENTITY, [1.0, 0.5, 2.0])
    safe, violations = apply_limits(raw, state, LIMITS, DT)
    kinds = {v.kind for v in violations}
    assert kinds == {L.JOINT_VELOCITY, L.EE_VELOCITY}
    np.testing.assert_allclose(safe.ee_position, [0.25 * DT, 0.0, 0.4])  # 0.005 m along +x
    np.testing.assert_allclose(safe.joints, [0.04, 0.02, 1.06])  # per-joint velocity * dt


def test_workspace_and_joint_range_are_clamped_and_reported():
    state = state_at(pos=(0.299, 0.0, 0.4), joints=(0.99, 0.0, 1.0))
    raw = RobotCommand([0.5, 0.0, 0.4], IDENTITY, [1.5, 0.0, 1.0])
    safe, violations = apply_limits(raw, state, LIMITS, DT)
    assert {v.kind for v in violations} == {L.WORKSPACE, L.JOINT_RANGE}
    assert safe.ee_position[0] == pytest.approx(0.3)
    assert safe.joints[0] == pytest.approx(1.0)
    workspace = next(v for v in violations if v.kind == L.WORKSPACE)
    assert workspace.amount == pytest.approx(0.2)


def test_rotation_step_is_limited():
    state = state_at()
    half_turn_z = np.array([0.0, 0.0, 1.0, 0.0])
    safe, violations = apply_limits(RobotCommand([0, 0, 0.4], half_turn_z, [0, 0, 1]), state, LIMITS, DT)
    assert [v.kind for v in violations] == [L.EE_ANGULAR_VELOCITY]
    assert quat.angle_between(safe.ee_orientation, IDENTITY) == pytest.approx(1.5 * DT, rel=1e-6)


def test_limits_config_is_validated():
    with pytest.raises(ValueError, match="max_linear_velocity"):
        SafetyLimits(joint_lower=[0], joint_upper=[1], workspace_lower=[0, 0, 0], workspace_upper=[1, 1, 1],
                     max_linear_velocity=0.0)
    with pytest.raises(ValueError, match="lower bound"):
        SafetyLimits(joint_lower=[1], joint_upper=[0], workspace_lower=[0, 0, 0], workspace_upper=[1, 1, 1])


finite = st.floats(-1e6, 1e6)
anything = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**12, 10**12))


@st.composite
def raw_commands(draw):
    """Mostly well-shaped commands with wild values; sometimes wrong shapes or non-numbers."""
    def vec(n):
        size = draw(st.sampled_from([n, n, n, n - 1, n + 1, 0]))
        return draw(st.lists(st.one_of(finite, anything), min_size=max(size, 0), max_size=max(size, 0)))
    raw = {"ee_position": vec(3), "ee_orientation": vec(4), "joints": vec(3)}
    return draw(st.sampled_from([raw, raw, raw, {"joints": raw["joints"]}, "nonsense", [1, 2, 3]]))


@st.composite
def states(draw):
    pos = [draw(st.floats(lo, hi)) for lo, hi in zip(LIMITS.workspace_lower, LIMITS.workspace_upper)]
    joints = [draw(st.floats(lo, hi)) for lo, hi in zip(LIMITS.joint_lower, LIMITS.joint_upper)]
    q = np.array([draw(st.floats(-1, 1)) for _ in range(4)]) + np.array([0, 0, 0, 2.5])
    return state_at(pos, q / np.linalg.norm(q), joints)


@settings(max_examples=300, deadline=None)
@given(raw=raw_commands(), state=states())
def test_fuzzed_commands_never_leave_the_limits(raw, state):
    safe, _ = apply_limits(raw, state, LIMITS, DT)
    assert_within_limits(safe, state)


def test_safety_layer_reports_clamping_once_per_episode_and_holds_when_estopped():
    log = SafetyLog()
    layer = SafetyLayer(LIMITS, EStop(log), log)
    state = state_at()
    far = RobotCommand([0.25, 0.0, 0.4], IDENTITY, [0, 0, 1])
    for _ in range(5):
        layer.filter(far, state, DT)
    assert [e.kind for e in log.events()] == ["clamped"]
    layer.filter(RobotCommand([0, 0, 0.4], IDENTITY, [0, 0, 1]), state, DT)
    cleared = log.events("clamp_cleared")
    assert len(cleared) == 1 and cleared[0].data["steps"] == 5
    layer.filter({"ee_position": [np.nan] * 3, "ee_orientation": IDENTITY, "joints": [0, 0, 1]}, state, DT)
    assert log.events()[-1].kind == "rejected"

    layer.estop.trigger("test", "button")
    safe, violations = layer.filter(RobotCommand([0.001, 0, 0.4], IDENTITY, [0, 0, 1]), state, DT)
    assert [v.kind for v in violations] == ["estopped"]
    np.testing.assert_array_equal(safe.ee_position, state.ee_position)
