"""Sim episodes through ``lad_core.episodes``: the schema of a simulated episode, frames from observations, and
replay of a recorded episode in the simulator.

Layout (see the episodes README for the file format): cameras as configured; observations ``arm_pose`` (6: wrist
position + rotation vector), ``arm_joints`` (7), ``ee_joints`` (J), ``object_pose`` (7: position + xyzw) and
``target_position`` (3); ``/actions/arm`` is the commanded absolute wrist pose (6) — delta and chunk-relative
actions are derived from the poses (``lad_core.sim.arm``); ``/actions/end_effector`` the commanded actuated joints
(a gripper: normalised width). ``extra`` holds the scene seed, so replay rebuilds the same scene.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lad_core.errors import InputError
from lad_core.sim.env import SimConfig, SimEnv, SimObservation

ARM_ACTION = "absolute_pose"


def episode_schema(env: SimEnv):
    from lad_core.episodes import EpisodeSchema

    h, w = env.config.image_size
    return EpisodeSchema(
        cameras={c: (h, w) for c in env.config.cameras},
        observations={"arm_pose": 6, "arm_joints": 7, "ee_joints": env.action_dim, "object_pose": 7,
                      "target_position": 3},
        arm_dim=6, end_effector_dim=env.action_dim,
        end_effector_kind="gripper_width" if env.spec.kind == "gripper" else "joints",
        names={"actions/end_effector": tuple(env.spec.joint_names), "observations/ee_joints": tuple(env.spec.joint_names)},
    )  # fmt: skip


def episode_info(env: SimEnv, seed: int, source: str):
    from lad_core.episodes import EpisodeInfo

    return EpisodeInfo(embodiment=env.spec.name, task=env.config.task, fps=env.config.control_hz,
                       extra={"seed": int(seed), "source": source, "arm_action": ARM_ACTION,
                              "physics_hz": env.config.physics_hz})  # fmt: skip


def frame_from(obs: SimObservation, arm_target: np.ndarray, ee_command: np.ndarray):
    from lad_core.episodes import Frame

    return Frame(obs.time, obs.images, {"arm_pose": obs.arm_pose, "arm_joints": obs.arm_joints,
                                        "ee_joints": obs.ee_joints, "object_pose": obs.object_pose,
                                        "target_position": obs.target_position},
                 np.asarray(arm_target), np.asarray(ee_command))  # fmt: skip


def replay_episode(path: str | Path, *, realtime: bool = False, gui: bool = False, sleep=None):
    """Replay a recorded sim episode: rebuild its scene from the stored seed and send the recorded commands.

    Returns (recorded object poses (T, 7), replayed object poses (T, 7), success). ``realtime`` paces the ticks at
    the recorded fps (``sleep`` defaults to ``time.sleep``)."""
    import time

    from lad_core.episodes import read_episode

    data = read_episode(path)
    extra = data.info.extra or {}
    if "seed" not in extra or extra.get("arm_action") != ARM_ACTION:
        raise InputError(f"{path}: not a simulated episode (no scene seed / arm action '{ARM_ACTION}' in its "
                         f"attributes); only episodes recorded in the simulator can be replayed there")  # fmt: skip
    if "object_pose" not in data.observations:
        raise InputError(f"{path}: has no /observations/object_pose to compare against")
    config = SimConfig(data.info.embodiment, task=data.info.task, control_hz=data.info.fps,
                       physics_hz=float(extra.get("physics_hz", 240.0)), cameras=(), gui=gui)  # fmt: skip
    pause = sleep or time.sleep
    replayed = []
    with SimEnv(config) as env:
        obs = env.reset(int(extra["seed"]))
        for t in range(len(data)):
            replayed.append(obs.object_pose)
            t0 = time.monotonic()
            obs = env.step(data.arm[t].astype(np.float64), data.end_effector[t].astype(np.float64), render=False)
            if realtime:
                pause(max(0.0, 1.0 / data.info.fps - (time.monotonic() - t0)))
        success = env.success()
    return data.observations["object_pose"].astype(np.float64), np.asarray(replayed), success
