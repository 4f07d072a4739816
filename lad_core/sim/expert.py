"""Scripted expert demonstrations: approach, grasp, lift, carry, place and release, for every embodiment x task.

The expert reads the object and container positions (privileged information, as a script may) and plays a
sequence of wrist waypoints, interpolated linearly in position and by slerp in rotation, while the end-effector
blends from the open shape to a grasp shape. The grasp half (approach, close, lift) is planned at the start; the
place half (carry, lower, open, retreat) after the lift, from where the object really sits in the hand, so the
object, not the wrist, is aimed at the container. Grasp shapes come from retargeting human grasps
(``lad_core.sim.grasps``): a power grasp for the hands, a pinch for the gripper (the thumb-index distance of a
pinch maps to a narrow width, so the jaws squeeze whatever is between them).

Per embodiment, a ``GraspPlan`` says how the wrist is held over the object: its orientation (gripper pointing
down; hands palm down with the fingers pointing away from the robot) and where the object centre sits in the
wrist frame at the grasp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from lad_core.sim.arm import pose_from_pq
from lad_core.sim.env import SimEnv, SimObservation
from lad_core.sim.grasps import grasp_shape, interpolate


@dataclass(frozen=True)
class GraspPlan:
    grasp_pose: str  # human hand pose retargeted for the grasp
    object_in_wrist: tuple[float, float, float]  # object centre in the wrist frame at the grasp (m)
    palm_down: bool  # hands: palm normal (+x) down, fingers (+z) forward; gripper: +z down
    pitch: float = 0.0  # hands: tilt of the fingers below the horizontal (rad)
    lift_height: float = 0.16
    close_ticks: int = 14
    yaw_follows_object: bool = True  # align the wrist with the object's yaw (mod 90 degrees)


PLANS = {
    "gripper": GraspPlan("pinch_index", (0.0, 0.0, 0.095), palm_down=False),
    "mimic": GraspPlan("power", (0.05, 0.0, 0.09), palm_down=True, pitch=0.9),
    "faive": GraspPlan("power", (0.045, 0.0, 0.13), palm_down=True, pitch=0.9),
}


# The teddy of toy_in_bowl is ~12 x 13 cm wide and 9 cm tall: the hands grasp it with the palm pressed onto its
# back (object centre 2 cm in front of the palm) so the fingers wrap its body rather than closing in the air.
TASK_PLANS = {
    ("mimic", "toy_in_bowl"): GraspPlan("power", (0.02, 0.0, 0.09), palm_down=True, pitch=0.9),
    ("faive", "toy_in_bowl"): GraspPlan("power", (0.02, 0.0, 0.10), palm_down=True, pitch=0.9),
}


def plan_for(env: SimEnv) -> GraspPlan:
    if (env.spec.name, env.config.task) in TASK_PLANS:
        return TASK_PLANS[(env.spec.name, env.config.task)]
    if env.spec.name in PLANS:
        return PLANS[env.spec.name]
    return PLANS["gripper" if env.spec.kind == "gripper" else "mimic"]


def wrist_rotation(plan: GraspPlan, yaw: float) -> Rotation:
    """Wrist orientation for a grasp at heading ``yaw`` (rad, about the world z axis)."""
    if plan.palm_down:  # columns: x (palm normal) down, y (thumb side) left, z (fingers) forward
        base = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
        return Rotation.from_euler("z", yaw) * Rotation.from_euler("y", plan.pitch) * Rotation.from_matrix(base)
    else:  # gripper: z down, fingers open along the wrist's y
        base = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])
    return Rotation.from_euler("z", yaw) * Rotation.from_matrix(base)


def _heading(object_quat: np.ndarray, plan: GraspPlan) -> float:
    if not plan.yaw_follows_object:
        return 0.0
    yaw = Rotation.from_quat(object_quat).as_euler("xyz")[2]
    return float((yaw + np.pi / 4) % (np.pi / 2) - np.pi / 4)  # the cube's nearest face-aligned heading


@dataclass(frozen=True)
class Waypoint:
    position: np.ndarray  # (3,)
    rotation: Rotation
    ticks: int  # ticks to get here from the previous waypoint
    grip: float  # 0 open .. 1 grasp shape, reached at the end of the segment


class ScriptedExpert:
    """Yields (arm target pose (6,), end-effector command (J,)) per control tick for the scene ``env`` holds."""

    def __init__(self, env: SimEnv, plan: GraspPlan | None = None):
        self.env = env
        self.plan = plan or plan_for(env)
        self.open = grasp_shape(env.spec.name, "open")
        self.closed = grasp_shape(env.spec.name, self.plan.grasp_pose)

    def waypoints(self, object_in_wrist=None) -> list[Waypoint]:
        """The whole plan from the scene as it is now; ``object_in_wrist`` (3,) overrides where the carried object
        sits in the wrist frame for the place half (default: the plan's grasp offset)."""
        grasp_half = self._grasp_waypoints()
        return grasp_half + self._place_waypoints(grasp_half[-1], object_in_wrist)

    def _grasp_waypoints(self) -> list[Waypoint]:
        env, plan = self.env, self.plan
        obj = env.object_pose()
        rot = wrist_rotation(plan, _heading(obj[3:], plan))
        offset = rot.apply(np.asarray(plan.object_in_wrist))
        grasp = obj[:3] - offset
        grasp[2] = env.task.object_height - offset[2]
        above = grasp + [0, 0, 0.1]
        lift = grasp + [0, 0, plan.lift_height]
        start_pos, start_rot = env.ee_pose_matrix()
        return [
            Waypoint(start_pos, Rotation.from_matrix(start_rot), 0, 0.0),
            Waypoint(above, rot, 30, 0.0),
            Waypoint(grasp, rot, 20, 0.0),
            Waypoint(grasp, rot, plan.close_ticks, 1.0),
            Waypoint(lift, rot, 20, 1.0),
        ]

    def _place_waypoints(self, lift: Waypoint, object_in_wrist=None) -> list[Waypoint]:
        env, plan = self.env, self.plan
        in_wrist = np.asarray(plan.object_in_wrist if object_in_wrist is None else object_in_wrist, dtype=float)
        target = np.array([*env.task.layout.target_xy, 0.0])
        place_rot = wrist_rotation(plan, 0.0)
        place_offset = place_rot.apply(in_wrist)
        over = target - place_offset
        over[2] = lift.position[2]
        drop = over.copy()
        drop[2] = env.task.object_height + 0.06 - place_offset[2]  # the object's centre 6 cm above its resting height
        return [
            Waypoint(over, place_rot, 25, 1.0),
            Waypoint(drop, place_rot, 12, 1.0),
            Waypoint(drop, place_rot, 8, 0.0),
            Waypoint(drop + [0, 0, 0.1], place_rot, 12, 0.0),
        ]

    def _measured_object_in_wrist(self) -> np.ndarray | None:
        """Where the held object sits in the wrist frame now (None when it is not held): a grasp rarely ends with
        the object exactly where the plan put it, and the place must aim the object, not the wrist."""
        if not self.env.object_held():
            return None
        pos, rot = self.env.ee_pose_matrix()
        return rot.T @ (self.env.object_pose()[:3] - pos)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        grasp_half = self._grasp_waypoints()
        yield from self._segments(grasp_half)
        # The place half is planned after the lift, from where the object really sits in the hand (as a person
        # carrying it would look): the waypoints before this point do not depend on it.
        place_half = self._place_waypoints(grasp_half[-1], self._measured_object_in_wrist())
        yield from self._segments([grasp_half[-1], *place_half])

    def _segments(self, wps: list[Waypoint]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for a, b in zip(wps[:-1], wps[1:]):
            slerp = Slerp([0.0, 1.0], Rotation.concatenate([a.rotation, b.rotation]))
            for k in range(1, b.ticks + 1):
                f = k / b.ticks
                pos = (1 - f) * a.position + f * b.position
                grip = (1 - f) * a.grip + f * b.grip
                yield pose_from_pq(pos, slerp(f).as_quat()), interpolate(self.open, self.closed, grip)

    def __len__(self) -> int:
        return sum(w.ticks for w in self.waypoints()[1:])


def _f32(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).astype(np.float64)


@dataclass
class DemoResult:
    seed: int
    success: bool
    lifted: bool  # the object was held off the floor during the carry
    ticks: int


def run_demo(env: SimEnv, seed: int, *, render: bool = False,
             on_tick=None) -> DemoResult:  # fmt: skip
    """Reset ``env`` to ``seed`` and play the scripted expert. ``on_tick(obs_before, arm_target, ee_cmd)`` sees
    every tick (to record it). Success is the task's check after a short settle."""
    obs: SimObservation = env.reset(seed)
    expert = ScriptedExpert(env)
    lifted, ticks = False, 0
    lift_phase = range(30 + 20 + expert.plan.close_ticks + 12, 30 + 20 + expert.plan.close_ticks + 45)
    for target, ee in expert:
        # Commands go through float32 (the episode file's precision), so a replay sends bit-identical values.
        target, ee = _f32(target), _f32(ee)
        if on_tick is not None:
            on_tick(obs, target, ee)
        obs = env.step(target, ee, render=render)
        if ticks in lift_phase and env.object_held() and obs.object_pose[2] > env.task.object_height + 0.05:
            lifted = True
        ticks += 1
    for _ in range(6):  # let the object come to rest, holding the last command
        if on_tick is not None:
            on_tick(obs, target, ee)
        obs = env.step(target, ee, render=render)
        ticks += 1
    return DemoResult(seed, env.success(), lifted, ticks)


def run_demos(embodiment: str, seeds, task: str = "cube_in_box", **config) -> list[DemoResult]:
    """Scripted demos of ``embodiment`` on ``task`` for each seed, headless and unrendered, in one scene (a plain
    function of its arguments, so a process pool can run slices of the seeds side by side)."""
    from lad_core.sim.env import SimConfig

    with SimEnv(SimConfig(embodiment, task=task, cameras=(), **config)) as env:
        return [run_demo(env, int(seed)) for seed in seeds]
