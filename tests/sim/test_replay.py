"""A recorded sim episode (written through lad_core.episodes) replays to the same object trajectory."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from lad_core.cli.main import main
from lad_core.episodes import EpisodeWriter, read_episode
from lad_core.errors import InputError
from lad_core.sim.env import SimConfig, SimEnv
from lad_core.sim.expert import run_demo
from lad_core.sim.recording import episode_info, episode_schema, frame_from, replay_episode


@pytest.mark.slow
def test_replaying_a_recorded_episode_reproduces_the_object_trajectory(tmp_path):
    path = tmp_path / "episode_000000.h5"
    with SimEnv(SimConfig("gripper", cameras=("external",), image_size=(24, 24))) as env:
        writer = EpisodeWriter(path, episode_schema(env), episode_info(env, 4, "test"))
        result = run_demo(env, 4, render=True, on_tick=lambda o, a, e: writer.append(frame_from(o, a, e)))
        writer.close(success=result.success)
    data = read_episode(path)
    assert data.info.embodiment == "gripper" and data.info.extra["seed"] == 4 and len(data) == result.ticks
    assert data.images["external"].shape == (result.ticks, 24, 24, 3)
    recorded, replayed, success = replay_episode(path)
    assert np.ptp(recorded[:, 2]) > 0.1  # the cube really travelled (lifted), so the comparison means something
    assert np.abs(recorded[:, :3] - replayed[:, :3]).max() < 1e-3
    assert success == result.success


def test_replay_refuses_an_episode_not_recorded_in_sim(tmp_path, capsys):
    from lad_core.episodes import EpisodeInfo, Frame

    with SimEnv(SimConfig("gripper", cameras=())) as env:
        schema = episode_schema(env)
        obs = env.reset(0)
    info = EpisodeInfo(embodiment="gripper", task="cube_in_box", fps=20)  # no seed: not from the simulator
    with EpisodeWriter(tmp_path / "e.h5", schema, info) as w:
        w.append(frame_from(obs, obs.arm_pose, [1.0]))
    with pytest.raises(InputError, match="not a simulated episode"):
        replay_episode(tmp_path / "e.h5")
    assert main(["sim", "replay", "--fast", str(tmp_path / "e.h5")]) == 2  # the CLI reports it, naming the file
    err = capsys.readouterr().err
    assert "not a simulated episode" in err and "e.h5" in err


@pytest.mark.slow
def test_lad_demos_cli_writes_successful_episodes_and_lad_sim_replay_plays_one_back(tmp_path, capsys):
    out = subprocess.run([sys.executable, "-m", "lad_core.cli.main", "demos", "--task", "cube_in_box",
                          "--embodiment", "gripper", "--episodes", "1", "--out", str(tmp_path), "--cameras", "wrist",
                          "--image-size", "16", "16"], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    data = read_episode(tmp_path / "episode_000000.h5")
    assert data.info.success and data.images["wrist"].shape[1:] == (16, 16, 3)
    assert "episode/s" in out.stderr  # the progress bar
    # `lad sim replay` (in this process) rebuilds the scene from the stored seed and follows the recorded object.
    assert main(["sim", "replay", "--fast", str(tmp_path / "episode_000000.h5")]) == 0
    report = capsys.readouterr().out
    m = re.search(r"(\d+) ticks replayed; object position error max ([\d.]+) mm, final ([\d.]+) mm; task success: (\w+)",
                  report)
    assert m, report
    assert int(m.group(1)) == len(data) and float(m.group(2)) < 1.0 and m.group(4) == "True"
