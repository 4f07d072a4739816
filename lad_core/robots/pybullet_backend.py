"""The simulated robot as a ``RobotBackend``: the Panda + end-effector scene of ``lad_core.sim`` behind the same
interface as a real robot. Registered as the ``sim`` backend (entry point group ``lad.robot_backends``).

Time: with ``realtime=True`` (default, for the robot server and live teleop) the simulation advances, in whole
control ticks, by the wall-clock time since it was last asked anything, holding the last target, as a real robot
keeps moving between commands. With ``realtime=False`` every ``command`` runs exactly one control tick and nothing
else advances time: deterministic, for tests and evaluation rollouts.

Options (``BackendConfig.options``; unknown keys are rejected): ``seed`` (scene layout, default 0), ``realtime``,
``control_hz`` (default 20), ``gui`` (pybullet window, default False), ``cameras`` (list, default none).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from lad_core.errors import ConfigError
from lad_core.robots.base import (
    BackendConfig,
    BackendHealth,
    RobotBackend,
    RobotCommand,
    RobotConnectionError,
    RobotInfo,
    RobotState,
)

MAX_CATCH_UP_S = 0.5  # after a long pause the simulation jumps at most this far (it does not replay minutes)


class SimBackend(RobotBackend):
    def __init__(self, info: RobotInfo, *, task: str = "cube_in_box", seed: int = 0, realtime: bool = True,
                 control_hz: float = 20.0, gui: bool = False, cameras: tuple[str, ...] = (),
                 clock: Callable[[], float] = time.monotonic):
        from lad_core.sim.env import SimConfig

        self._info = info
        self.sim_config = SimConfig(info.name, task=task, control_hz=control_hz, gui=gui, cameras=tuple(cameras))
        self.seed = int(seed)
        self.realtime = bool(realtime)
        self._clock = clock
        self.env = None
        self._holding = True
        self._last_t = 0.0
        self._target: np.ndarray | None = None
        self._ee: np.ndarray | None = None
        self.commands_received = 0

    @property
    def info(self) -> RobotInfo:
        return self._info

    def connect(self) -> None:
        if self.env is not None:
            return
        from lad_core.sim.env import SimEnv

        env = SimEnv(self.sim_config)
        if env.action_dim != self._info.n_joints:
            env.close()
            raise ConfigError(f"robot '{self._info.name}' has {self._info.n_joints} joints but the simulated "
                              f"embodiment has {env.action_dim}", field="info")  # fmt: skip
        obs = env.reset(self.seed)
        self.env = env
        self._target, self._ee = obs.arm_pose.copy(), obs.ee_joints.copy()
        self._last_t = self._clock()

    def _require(self):
        if self.env is None:
            raise RobotConnectionError("sim backend: not connected (call connect() first)")
        return self.env

    def _advance(self) -> None:
        env = self._require()
        if not self.realtime:
            return
        now = self._clock()
        elapsed = min(now - self._last_t, MAX_CATCH_UP_S)
        ticks = int(elapsed / env.dt)
        if ticks <= 0:
            return
        for _ in range(ticks):
            env.step(self._target, self._ee, render=False)
        self._last_t = now if now - self._last_t > MAX_CATCH_UP_S else self._last_t + ticks * env.dt

    def read_state(self) -> RobotState:
        from scipy.spatial.transform import Rotation

        env = self._require()
        self._advance()
        pos, rot = env.ee_pose_matrix()
        scene = {"object_pose": env.object_pose(), "target_position": np.array([*env.task.layout.target_xy, 0.0])}
        return RobotState(self._clock(), pos, Rotation.from_matrix(rot).as_quat(), env.ee_joints(),
                          arm_joints=env.arm_joints(), holding=self._holding, observations=scene)  # fmt: skip

    def command(self, command: RobotCommand) -> None:
        from lad_core.sim.arm import pose_from_pq

        env = self._require()
        if command.joints.shape != (self._info.n_joints,):
            raise RobotConnectionError(f"sim backend: command has {command.joints.shape[0]} joints, robot has "
                                       f"{self._info.n_joints}")  # fmt: skip
        self._advance()
        self._target = pose_from_pq(command.ee_position, command.ee_orientation / np.linalg.norm(command.ee_orientation))
        self._ee = np.clip(command.joints, self._info.lower, self._info.upper)
        self._holding = False
        self.commands_received += 1
        if not self.realtime:
            env.step(self._target, self._ee, render=False)

    def stop(self) -> None:
        env = self._require()
        self._advance()
        self._target = env.arm_pose()
        self._ee = env.ee_joints()
        self._holding = True

    def health(self) -> BackendHealth:
        ok = self.env is not None
        return BackendHealth(ok=ok, connected=ok, message=f"pybullet {self.sim_config.task} ({self._info.name})")

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None


_OPTIONS = {"seed", "realtime", "control_hz", "gui", "cameras"}


def create(config: BackendConfig) -> SimBackend:
    """Entry-point factory: ``lad robot-server --backend sim --sim cube_in_box --embodiment mimic``."""
    unknown = sorted(set(config.options) - _OPTIONS)
    if unknown:
        raise ConfigError(f"unknown option(s) {unknown}; known: {sorted(_OPTIONS)}", source="sim backend",
                          field=unknown[0])
    options: dict[str, Any] = dict(config.options)
    if "cameras" in options:
        options["cameras"] = tuple(options["cameras"])
    return SimBackend(config.info, task=config.sim_task or "cube_in_box", **options)
