"""``lad rollout``: a real (tiny) lad_core.policy checkpoint through the adapter and the CLI, scripted (--auto) and
keyboard-supervised (a pseudo-terminal) runs, the remote backend, and saved episodes."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from lad_core.cli.main import main
from lad_core.episodes import EpisodeDataset, read_episode, write_episode
from lad_core.errors import InputError
from lad_core.robots.base import RobotCommand, RobotState
from lad_core.robots.factory import robot_info_for_embodiment
from lad_core.robots.kinematic import FakeKinematicBackend
from lad_core.robots.server import RobotServer
from lad_core.rollout.controller import ExecutedStep
from lad_core.rollout.episode import rollout_episode

REPO = Path(__file__).resolve().parents[2]
POLICY_TESTS = REPO / "tests" / "policy"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny explicit UNet policy for the gripper observing only what a robot reports (arm pose, ee joints),
    trained for a few steps: the plumbing is under test, not the policy's skill."""
    import torch

    sys.path.insert(0, str(POLICY_TESTS))
    try:
        from policy_helpers import TINY_UNET, tiny_config_dict
    finally:
        sys.path.remove(str(POLICY_TESTS))
    from lad_core.policy.dataset import Episode
    from lad_core.policy.sources import synthetic_episodes
    from lad_core.policy.train_config import train_config_from_dict
    from lad_core.policy.training import train

    torch.set_num_threads(1)
    policy = dict(TINY_UNET, observation={"lowdim": {"ee_joints": 1}, "arm_pose": "absolute"})
    cfg = train_config_from_dict(tiny_config_dict(policy, steps=4, embodiments={"gripper": 1}, latent=False,
                                                  batch_size=8, episodes=2))
    episodes = [Episode(e.embodiment, {"ee_joints": e.end_effector}, e.arm_pose, e.end_effector, name=e.name)
                for e in synthetic_episodes("gripper", num_episodes=2, length=40, end_effector_dim=1)]
    result = train(cfg, tmp_path_factory.mktemp("policy"), episodes={"gripper": episodes}, progress=False)
    return result.checkpoint


@pytest.fixture(scope="module")
def replay_file(tmp_path_factory):
    """A recorded gripper rollout from the fake robot's home pose (24 frames moving +x 2 mm per frame, opening
    0.02 per frame: inside every default limit at 50 Hz) to replay from the CLI."""
    q = np.array([0.0, 0.0, 0.0, 1.0])
    steps = []
    for k in range(24):
        pos = np.array([0.002 * k, 0.0, 0.4])
        state = RobotState(float(k) / 20, pos, q, np.array([0.02 * k]))
        steps.append(ExecutedStep(float(k) / 20, k, "teleop", False, state,
                                  RobotCommand(pos + [0.002, 0, 0], q, [0.02 * (k + 1)]), ()))
    data = rollout_episode(steps, embodiment="gripper", task="cube_in_box", fps=20.0, outcome=True)
    return write_episode(tmp_path_factory.mktemp("recorded") / "episode_000000.h5", data)


def test_lad_policy_adapter_predicts_executable_chunks(checkpoint):
    from lad_core.rollout.policy_source import load_chunk_policy, stack_history

    backend = FakeKinematicBackend(robot_info_for_embodiment("gripper"))
    backend.connect()
    from lad_core.rollout.policy_source import PolicySource, observation_from_state

    state = backend.read_state()
    policy = load_chunk_policy(checkpoint, "gripper", available_keys=observation_from_state(state))
    assert policy.n_obs_steps == 2 and policy.arm_dim == 6
    obs = stack_history([observation_from_state(state)], policy.n_obs_steps)
    chunk = policy.predict_chunk(obs)
    assert chunk.shape == (4, 7) and np.all(np.isfinite(chunk))  # n_action_steps x (6 arm + 1 gripper)
    policy.reset()
    np.testing.assert_allclose(policy.predict_chunk(obs), chunk, atol=1e-5)  # reset restarts the noise
    source = PolicySource(policy, 1)
    commands = source.next_chunk(state).steps
    assert len(commands) == 4 and all(isinstance(c, RobotCommand) for c in commands)
    np.testing.assert_allclose(np.linalg.norm([c.ee_orientation for c in commands], axis=1), 1.0, atol=1e-9)


def test_adapter_refuses_missing_observations_and_other_embodiments(checkpoint):
    from lad_core.rollout.policy_source import load_chunk_policy

    with pytest.raises(InputError, match=r"observes \['ee_joints'\].*does not provide"):
        load_chunk_policy(checkpoint, "gripper", available_keys={"arm_pose": None})
    with pytest.raises(InputError, match="not trained on embodiment 'mimic'"):
        load_chunk_policy(checkpoint, "mimic")


def test_auto_rollouts_of_a_checkpoint_are_saved_as_episodes(checkpoint, tmp_path, capsys):
    out = tmp_path / "rollouts"
    rc = main(["rollout", str(checkpoint), "--backend", "kinematic", "--embodiment", "gripper", "--auto",
               "--episodes", "2", "--max-steps", "12", "--rate", "25", "--outcome", "failure", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert text.count("ended (max_steps): 12 steps") == 2, text
    dataset = EpisodeDataset(out)
    assert dataset.indices() == [0, 1]
    for path in dataset:
        data = read_episode(path)
        assert len(data) == 12 and data.info.success is False and data.info.extra["outcome"] == "failure"
        assert data.info.extra["checkpoint"] == str(Path(checkpoint).resolve())
        assert data.info.extra["backend"] == "kinematic" and data.info.fps == 25
        assert not data.observations["intervention"].any()
        assert np.all(np.isfinite(data.arm)) and data.end_effector.shape == (12, 1)


@pytest.fixture
def gripper_server():
    srv = RobotServer(FakeKinematicBackend(robot_info_for_embodiment("gripper")), endpoint="tcp://127.0.0.1:*",
                      heartbeat_timeout_s=1.0)  # the plumbing is under test here; deadman timing in tests/robots
    endpoint = srv.bind()
    thread = threading.Thread(target=srv.serve, kwargs={"max_seconds": 60}, daemon=True)
    thread.start()
    yield endpoint
    srv.shutdown()
    thread.join(5)


def test_replay_through_the_remote_backend(replay_file, gripper_server, tmp_path, capsys):
    out = tmp_path / "remote"
    rc = main(["rollout", str(replay_file), "--backend", f"remote:{gripper_server}", "--embodiment", "gripper",
               "--auto", "--max-steps", "100", "--rate", "50", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "ended (finished): 24 steps" in text, text
    data = read_episode(out / "episode_000000.h5")
    recorded = read_episode(replay_file)
    # the recorded commands were sent in order, unchanged (they are inside every limit)
    np.testing.assert_allclose(data.end_effector, recorded.end_effector, atol=1e-6)
    np.testing.assert_allclose(data.arm, recorded.arm, atol=1e-6)
    assert not data.observations["safety_limited"].any()
    assert data.info.extra["command_sources"] == [f"replay {Path(replay_file).name}"]


def test_bad_invocations_are_clear_errors(tmp_path, capsys):
    rc = main(["rollout", str(tmp_path / "nope"), "--embodiment", "gripper", "--auto"])
    assert rc == 2 and "nope: no such checkpoint folder or episode file" in capsys.readouterr().err
    rc = main(["rollout", str(tmp_path), "--embodiment", "gripper", "--auto"])
    assert rc == 2 and "not a policy checkpoint" in capsys.readouterr().err
    rc = main(["rollout", str(tmp_path), "--embodiment", "octopus", "--auto"])
    assert rc == 2 and "unknown embodiment 'octopus'" in capsys.readouterr().err
    proc = subprocess.run([sys.executable, "-m", "lad_core.cli.main", "rollout", str(tmp_path), "--embodiment",
                           "gripper"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "stdin is not a terminal: use --auto" in proc.stderr


class Terminal:
    """`lad rollout` with its stdin on a pseudo-terminal: type keys, read what it prints."""

    def __init__(self, args):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([sys.executable, "-m", "lad_core.cli.main", "rollout", *args], stdin=slave,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        os.close(slave)
        self.text = ""

    def expect(self, needle, timeout=20.0):
        end = time.monotonic() + timeout
        while needle not in self.text:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{needle!r} not printed; output so far:\n{self.text}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096).decode(errors="replace")
                if not chunk:
                    raise AssertionError(f"exited before {needle!r}:\n{self.text}")
                self.text += chunk
        return self.text

    def type(self, keys):
        os.write(self.master, keys.encode())

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        os.close(self.master)


def test_keyboard_supervision_on_a_terminal(replay_file, tmp_path):
    out = tmp_path / "interactive"
    term = Terminal([str(replay_file), "--backend", "kinematic", "--embodiment", "gripper", "--rate", "50",
                     "--out", str(out)])
    try:
        term.expect("keys: g run")
        term.type("s")  # one chunk (8 steps), then pause
        term.expect("state paused (step done)")
        term.type(" ")  # e-stop
        term.expect("E-STOP: robot halted")
        term.expect("[safety] estop (keyboard)")
        term.type("g")  # refused while latched
        time.sleep(0.3)
        assert "state running" not in term.text.split("E-STOP")[-1]
        term.type("r")
        term.expect("state idle (reset)")
        term.type("t")  # takeover: keyboard teleop, nudge the wrist +z twice
        term.expect("takeover")
        term.type("u")
        time.sleep(0.3)
        term.type("u")
        time.sleep(0.3)
        term.type("h")
        term.expect("hand_back")
        term.type("y")
        term.expect("outcome {'success': True}")
        term.type("q")
        term.expect("ended (quit)")
        assert term.proc.wait(20) == 0
    finally:
        term.close()
    data = read_episode(out / "episode_000000.h5")
    assert data.info.success is True
    flags = data.observations["intervention"][:, 0].astype(bool)
    assert 8 <= (~flags).sum() and flags.sum() >= 2  # the stepped chunk, then the nudges under takeover
    nudged = data.arm[flags]
    assert nudged[:, 2].max() > data.arm[~flags][:, 2].max() + 0.005  # the wrist went up under teleop
    assert any(e["kind"] == "estop" for e in data.info.extra["safety_events"])


@pytest.fixture(scope="module")
def scene_checkpoint(tmp_path_factory):
    """A tiny gripper policy that observes the scene like policies trained on `lad demos` (object pose, target)."""
    import torch

    sys.path.insert(0, str(POLICY_TESTS))
    try:
        from policy_helpers import TINY_UNET, tiny_config_dict
    finally:
        sys.path.remove(str(POLICY_TESTS))
    from lad_core.policy.dataset import Episode
    from lad_core.policy.sources import synthetic_episodes
    from lad_core.policy.train_config import train_config_from_dict
    from lad_core.policy.training import train

    torch.set_num_threads(1)
    policy = dict(TINY_UNET, observation={"lowdim": {"object_pose": 7, "target_position": 3}, "arm_pose": "absolute"})
    cfg = train_config_from_dict(tiny_config_dict(policy, steps=4, embodiments={"gripper": 1}, latent=False,
                                                  batch_size=8, episodes=2))
    rng = np.random.default_rng(0)
    episodes = [Episode(e.embodiment, {"object_pose": rng.normal(size=(len(e.arm_pose), 7)).astype(np.float32),
                                       "target_position": rng.normal(size=(len(e.arm_pose), 3)).astype(np.float32)},
                        e.arm_pose, e.end_effector, name=e.name)
                for e in synthetic_episodes("gripper", num_episodes=2, length=40, end_effector_dim=1)]  # fmt: skip
    result = train(cfg, tmp_path_factory.mktemp("scene_policy"), episodes={"gripper": episodes}, progress=False)
    return result.checkpoint


def test_a_policy_observing_the_scene_rolls_out_on_the_sim_backend(scene_checkpoint, tmp_path, capsys):
    """The sim backend reports its scene (object pose, target) with the robot state, so a policy trained on
    simulated demonstrations gets the observations it was trained with; the kinematic fake has none to give."""
    from lad_core.rollout.policy_source import load_chunk_policy

    with pytest.raises(Exception, match="object_pose"):
        load_chunk_policy(scene_checkpoint, "gripper", available_keys={"arm_pose": None, "ee_joints": None})
    out = tmp_path / "rollouts"
    rc = main(["rollout", str(scene_checkpoint), "--backend", "sim", "--embodiment", "gripper", "--task",
               "cube_in_box", "--auto", "--episodes", "1", "--max-steps", "10", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    data = read_episode(next(iter(EpisodeDataset(out))))
    assert len(data) == 10 and np.all(np.isfinite(data.arm))
