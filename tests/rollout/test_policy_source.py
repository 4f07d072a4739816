"""The policy command source in the rollout controller: per-tick observations, chunks predicted from the state they
start from (preview while paused), garbage from a policy never reaching the robot, a hung policy, and saving a
rollout with an operator intervention as an episode."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from lad_core.errors import InputError
from lad_core.robots.base import RobotCommand
from lad_core.robots.factory import robot_info_for_embodiment
from lad_core.robots.kinematic import FakeKinematicBackend
from lad_core.rollout import FAULTED, PAUSED, RolloutController, TeleopSource
from lad_core.rollout.episode import intervention_spans, save_rollout
from lad_core.rollout.policy_source import ChunkPolicy, PolicySource, observation_from_state
from lad_core.safety import SafetyLayer, SafetyLimits

RATE = 50.0


class ScriptedPolicy:
    """A ChunkPolicy that moves the wrist +1 cm in x per step from the last observed pose and records its inputs."""

    n_obs_steps = 2
    arm_dim = 6

    def __init__(self, n_steps=4, joints=(0.02,), make=None, hang: threading.Event | None = None):
        self.n_steps = n_steps
        self.joints = np.asarray(joints, float)
        self.make = make
        self.hang = hang
        self.seen: list[dict[str, np.ndarray]] = []
        self.resets = 0

    def reset(self):
        self.resets += 1

    def predict_chunk(self, observation):
        self.seen.append({k: np.array(v) for k, v in observation.items()})
        if self.hang is not None and len(self.seen) > 1:
            self.hang.wait(10)
        pose = np.asarray(observation["arm_pose"], float)[-1]
        if self.make is not None:
            return self.make(pose, len(self.seen))
        rows = [np.r_[pose[:3] + [0.01 * (k + 1), 0, 0], pose[3:], self.joints * (k + 1)] for k in range(self.n_steps)]
        return np.asarray(rows)


class CountingBackend(FakeKinematicBackend):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent: list[RobotCommand] = []

    def command(self, command):
        self.sent.append(command)
        super().command(command)


def wait_until(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.002)
    return False


@pytest.fixture
def gripper():
    info = robot_info_for_embodiment("gripper")
    return info, CountingBackend(info, max_linear_speed=2.0, max_joint_speed=20.0)


def controller(info, backend, source):
    safety = SafetyLayer(SafetyLimits.for_robot(info, max_linear_velocity=1.0, max_joint_velocity=5.0))
    return RolloutController(backend, source, safety, rate_hz=RATE, source_timeout_s=0.5)


def test_scripted_policy_is_a_chunk_policy():
    assert isinstance(ScriptedPolicy(), ChunkPolicy)


def test_step_mode_predicts_each_chunk_from_the_state_it_starts_from(gripper):
    info, backend = gripper
    policy = ScriptedPolicy()
    source = PolicySource(policy, info.n_joints)
    with controller(info, backend, source) as ctrl:
        assert wait_until(lambda: ctrl.preview() is not None)  # the first chunk is previewed while idle
        first = ctrl.preview().preview_positions()
        ctrl.step(1)
        assert wait_until(lambda: ctrl.state == PAUSED and ctrl.preview() is not None and len(policy.seen) == 2)
        time.sleep(0.1)
        after_first = backend.read_state()
        second = ctrl.preview().preview_positions()
        assert len(policy.seen) == 2  # paused: nothing more is predicted until the previewed chunk runs
        status = ctrl.status()  # what an operator display shows
        assert (status.state, status.steps, status.source, status.intervening) == (PAUSED, 4, "policy", False)
        np.testing.assert_allclose(status.preview, second)
        assert status.tick_ms is not None and status.tick_ms >= 0 and status.period_ms == pytest.approx(20.0)
    assert len(backend.sent) == 4
    # the second chunk was predicted after the first one was sent, from where the robot then was (not prefetched
    # from the state before the first chunk ran)
    obs2 = policy.seen[1]["arm_pose"][-1]
    assert obs2[0] > first[0][0] - 1e-9
    np.testing.assert_allclose(second[0, 0], obs2[0] + 0.01, atol=1e-6)
    assert abs(after_first.ee_position[0] - first[-1][0]) < 2e-3
    # the history holds consecutive control ticks (observe() every tick), oldest first
    hist = policy.seen[1]["arm_pose"]
    assert hist.shape == (2, 6) and hist[0][0] <= hist[1][0]


def test_observations_follow_the_robot_state(gripper):
    info, backend = gripper
    backend.connect()
    obs = observation_from_state(backend.read_state())
    assert set(obs) == {"arm_pose", "ee_joints"} and obs["arm_pose"].shape == (6,) and obs["ee_joints"].shape == (1,)
    np.testing.assert_allclose(obs["arm_pose"][:3], backend.read_state().ee_position, atol=1e-6)


def test_policy_garbage_never_reaches_the_robot_unchecked(gripper):
    info, backend = gripper
    rng = np.random.default_rng(0)

    def garbage(pose, k):
        rows = np.tile(np.r_[pose, 0.5], (4, 1))
        if k % 3 == 0:
            rows[1, 0] = np.nan
            rows[2, 6] = np.inf
        elif k % 3 == 1:
            rows[:, :3] += rng.uniform(-5, 5, (4, 3))  # huge jumps, far outside the workspace
            rows[:, 6] = rng.uniform(-10, 10, 4)
        return rows

    limits = SafetyLimits.for_robot(info, max_linear_velocity=1.0, max_joint_velocity=5.0)
    with controller(info, backend, PolicySource(ScriptedPolicy(make=garbage), info.n_joints)) as ctrl:
        ctrl.start()
        assert wait_until(lambda: len(ctrl.steps) >= 40)
        ctrl.pause()
    assert ctrl.state == PAUSED
    sent = backend.sent
    assert len(sent) >= 40
    prev = None
    for step in ctrl.steps:
        cmd = step.command
        assert np.all(np.isfinite(cmd.ee_position)) and np.all(np.isfinite(cmd.joints))
        assert np.all(cmd.ee_position >= limits.workspace_lower - 1e-9)
        assert np.all(cmd.ee_position <= limits.workspace_upper + 1e-9)
        assert np.all(cmd.joints >= info.lower - 1e-9) and np.all(cmd.joints <= info.upper + 1e-9)
        assert np.linalg.norm(cmd.ee_position - step.state.ee_position) <= limits.max_linear_velocity / RATE + 1e-9
        prev = cmd
    assert prev is not None
    kinds = {k for s in ctrl.steps for k in s.violations}
    assert {"non_finite", "workspace", "ee_velocity"} <= kinds


def test_wrong_chunk_shape_faults_and_holds(gripper):
    info, backend = gripper
    policy = ScriptedPolicy(make=lambda pose, k: np.zeros((4, 3)))
    with controller(info, backend, PolicySource(policy, info.n_joints)) as ctrl:
        ctrl.start()
        assert wait_until(lambda: ctrl.state == FAULTED)
    assert backend.sent == []
    assert any("shape (T>0, 7)" in e.message for e in ctrl.safety.log.events("fault"))


def test_a_hung_policy_trips_the_watchdog(gripper):
    info, backend = gripper
    hang = threading.Event()
    source = PolicySource(ScriptedPolicy(hang=hang), info.n_joints)
    try:
        with controller(info, backend, source) as ctrl:
            ctrl.start()
            assert wait_until(lambda: ctrl.safety.log.events("watchdog"), timeout=5)
            assert wait_until(lambda: ctrl.state == PAUSED)
            n = len(backend.sent)
            time.sleep(0.1)
            assert len(backend.sent) == n == 4  # the first chunk ran; then nothing while the policy hangs
            assert backend.read_state().holding
    finally:
        hang.set()


def test_policy_source_validates_its_policy_and_ends_after_max_chunks(gripper):
    info, backend = gripper

    class NoArm:
        n_obs_steps = 1
        arm_dim = 4

    with pytest.raises(InputError, match="arm_dim must be 3 or 6"):
        PolicySource(NoArm(), 1)
    backend.connect()
    source = PolicySource(ScriptedPolicy(), 1, max_chunks=2)
    state = backend.read_state()
    assert len(source.next_chunk(state)) == 4 and len(source.next_chunk(state)) == 4
    assert source.next_chunk(state) is None
    source.reset()
    assert source.next_chunk(state) is not None and source.policy.resets == 1


def test_rollout_with_takeover_is_saved_as_an_episode(gripper, tmp_path):
    from lad_core.episodes import read_episode

    info, backend = gripper
    teleop = TeleopSource(wait_s=0.02)
    with controller(info, backend, PolicySource(ScriptedPolicy(n_steps=4), info.n_joints)) as ctrl:
        ctrl.start()
        assert wait_until(lambda: len(ctrl.steps) >= 8)
        ctrl.takeover(teleop)
        state = ctrl.latest_state()
        for k in range(6):
            teleop.push(RobotCommand(state.ee_position + [0, 0.002 * (k + 1), 0], state.ee_orientation, [0.3]))
            assert wait_until(lambda k=k: sum(s.intervention for s in ctrl.steps) >= k + 1)
        ctrl.hand_back()
        n = len(ctrl.steps)
        assert wait_until(lambda: len(ctrl.steps) >= n + 4)
        ctrl.pause()
        ctrl.mark_outcome(True)
    path = save_rollout(ctrl, tmp_path / "rollouts", embodiment="gripper", task="cube_in_box",
                        extra={"checkpoint": "scripted"})
    assert path.name == "episode_000000.h5"
    data = read_episode(path)
    flags = data.observations["intervention"][:, 0]
    steps = ctrl.steps
    assert len(data) == len(steps) and flags.sum() == sum(s.intervention for s in steps) >= 6
    spans = data.info.extra["interventions"]
    assert spans == intervention_spans([s.intervention for s in steps]) and len(spans) == 1
    first, last = spans[0]
    assert flags[first:last + 1].all() and not flags[:first].any() and not flags[last + 1:].any()
    assert data.info.success is True and data.info.extra["outcome"] == "success"
    assert data.info.embodiment == "gripper" and data.info.fps == RATE
    assert data.info.extra["command_sources"] == sorted({"policy", "teleop"})
    np.testing.assert_allclose(data.arm[:, :3], [s.command.ee_position for s in steps], atol=1e-6)
    np.testing.assert_allclose(data.end_effector[:, 0], [s.command.joints[0] for s in steps], atol=1e-6)
    assert np.all(np.diff(data.timestamps) > 0)
    # the next save is the next episode of the same dataset
    assert save_rollout(ctrl, tmp_path / "rollouts", embodiment="gripper", task="t").name == "episode_000001.h5"


def test_intervention_spans():
    assert intervention_spans([False, True, True, False, True]) == [[1, 2], [4, 4]]
    assert intervention_spans([]) == []
