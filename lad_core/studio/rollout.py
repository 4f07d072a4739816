"""The studio's rollout console, without Qt: build a supervised rollout from what the operator picked (a policy
checkpoint folder or a recorded episode, a backend, an embodiment, a task), feed the live hand to the teleop
source while an operator has taken over, and save the rollout as an episode.

    setup = RolloutSetup("runs/policy/checkpoint", backend="sim", embodiment="gripper", task="cube_in_box")
    console = build_console(setup)          # heavy (torch, pybullet): call it from a worker thread
    console.controller.step(1)              # the RolloutController (lad_core.rollout) does the rest
    console.takeover()                      # the live hand drives the robot; feed(frame) per StudioFrame
    console.hand_back()
    console.save("data/rollouts")           # -> the episode path
    console.close()

Threads: ``build_console`` and ``close`` may block (seconds); ``feed`` is called on the teleop session's thread;
everything else from any thread (the controller is thread-safe).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lad_core.errors import ConfigError, InputError

log = logging.getLogger(__name__)

BACKENDS = ("kinematic", "sim")


@dataclass(frozen=True)
class RolloutSetup:
    """What the operator chose. ``path``: a policy checkpoint folder or a recorded episode (.h5)."""

    path: str
    backend: str = "kinematic"
    embodiment: str = "gripper"
    task: str = "cube_in_box"
    rate_hz: float = 20.0
    source_timeout_s: float = 2.0
    seed: int = 0
    sim_process: bool = True  # the ``sim`` backend runs in a child process (False: in this process)

    @property
    def is_replay(self) -> bool:
        return Path(self.path).suffix in (".h5", ".hdf5")

    def validate(self) -> None:
        if not self.path:
            raise ConfigError("choose a policy checkpoint folder or a recorded episode", field="path")
        if self.rate_hz <= 0 or self.source_timeout_s <= 0:
            raise ConfigError(f"must be positive, got {self.rate_hz} Hz / {self.source_timeout_s} s",
                              field="rate/source timeout")
        path = Path(self.path)
        if not path.exists():
            raise InputError(f"{path}: no such checkpoint folder or episode file")


def episode_embodiment(path: str | Path) -> str:
    """The embodiment a recorded episode was made with (to preselect it)."""
    from lad_core.episodes import read_episode

    return read_episode(path).info.embodiment


def _anchored_replay(path: Path, n_joints: int, state, chunk_size: int = 8):
    """A studio teleop recording's wrist poses are in the camera frame: replay its wrist *motion* from the robot's
    current pose (displacements and relative rotations), with the recorded end-effector joints."""
    from scipy.spatial.transform import Rotation

    from lad_core.episodes import read_episode
    from lad_core.rollout import ReplaySource

    data = read_episode(path)
    if len(data) == 0:
        raise InputError(f"{path}: the episode has no frames")
    if data.end_effector.shape[1] != n_joints:
        raise InputError(f"{path}: the episode has {data.end_effector.shape[1]} end-effector values, the robot "
                         f"{n_joints}")
    arm = np.asarray(data.arm, dtype=float)
    rec = Rotation.from_rotvec(arm[:, 3:6])
    robot0 = Rotation.from_quat(np.asarray(state.ee_orientation, float))
    quats = (robot0 * rec[0].inv() * rec).as_quat()
    pos = arm[:, :3] - arm[:1, :3] + np.asarray(state.ee_position, float)
    return ReplaySource.from_arrays(pos, quats, np.asarray(data.end_effector, float), chunk_size=chunk_size,
                                    name=f"replay {path.name}")


def make_source_for(setup: RolloutSetup, n_joints: int, state):
    """The command source for ``setup`` (a policy, a rollout replay, or an anchored teleop-recording replay)."""
    from lad_core.rollout.policy_source import observation_from_state
    from lad_core.rollout.setup import make_source

    path = Path(setup.path)
    if setup.is_replay:
        from lad_core.episodes import read_episode

        info = read_episode(path).info
        if info.extra.get("source") != "rollout" and "arm_action" not in info.extra:
            return _anchored_replay(path, n_joints, state)
    return make_source(path, setup.embodiment, n_joints, available=observation_from_state(state), seed=setup.seed)


class RolloutConsole:
    """One built rollout: ``controller`` (open), ``backend``, ``source``, a ``teleop`` source for takeovers."""

    def __init__(self, setup: RolloutSetup, backend, source, controller, warmup_s: float | None = None):
        from lad_core.rollout import TeleopSource

        self.setup = setup
        self.backend = backend
        self.source = source
        self.controller = controller
        self.warmup_s = warmup_s
        self.teleop = TeleopSource(name="studio teleop", wait_s=0.1)
        self._hold_pose = None  # the wrist pose kept while the live hand drives the end-effector joints
        self.saved: list[Path] = []

    @property
    def description(self) -> str:
        kind = "replay" if self.setup.is_replay else "policy"
        pid = getattr(self.backend, "pid", None)
        where = f" in process {pid}" if pid is not None else ""
        return (f"{kind} {Path(self.setup.path).name} on {self.setup.backend}{where} ({self.setup.embodiment}, "
                f"{self.backend.info.n_joints} joints) at {self.setup.rate_hz:g} Hz")

    # -- takeover ---------------------------------------------------------------------------------------------
    def takeover(self) -> None:
        """The live hand drives the end-effector joints, the wrist holds where it is; the rollout runs."""
        state = self.controller.latest_state()
        self._hold_pose = (np.asarray(state.ee_position, float), np.asarray(state.ee_orientation, float)) \
            if state is not None else None
        self.teleop.reset()
        self.controller.takeover(self.teleop)
        self.controller.start()

    def hand_back(self) -> None:
        self.controller.hand_back()
        self._hold_pose = None

    def feed(self, frame) -> None:
        """Push one StudioFrame's retargeted joints of our embodiment (teleop session thread)."""
        if self._hold_pose is None or not self.controller.intervening:
            return
        from lad_core.robots.base import RobotCommand

        robot = frame.robots.get(self.setup.embodiment) if frame is not None else None
        tracked = frame.tracked if frame is not None else None
        if robot is None or tracked is None or not tracked.present:
            self.teleop.lose_tracking()
            return
        q = np.atleast_1d(np.asarray(robot.qpos, dtype=float))
        if len(q) != self.backend.info.n_joints:
            self.teleop.lose_tracking()
            return
        self.teleop.push(RobotCommand(self._hold_pose[0], self._hold_pose[1], q))

    # -- results ----------------------------------------------------------------------------------------------
    def save(self, dataset_dir: str | Path) -> Path:
        from lad_core.rollout.episode import save_rollout

        path = save_rollout(self.controller, dataset_dir, embodiment=self.setup.embodiment, task=self.setup.task,
                            extra={"checkpoint": str(Path(self.setup.path).resolve()), "backend": self.setup.backend,
                                   "studio": True})
        self.saved.append(path)
        return path

    def sim_success(self) -> bool | None:
        from lad_core.rollout.setup import sim_success

        return sim_success(self.backend)

    def close(self) -> None:
        try:
            self.controller.close()
        finally:
            try:
                self.backend.close()
            except Exception as exc:  # noqa: BLE001 - closing must finish
                log.warning("backend close failed: %s", exc)


def build_console(setup: RolloutSetup, options: dict[str, Any] | None = None) -> RolloutConsole:
    """Connect the backend, load the source (a policy is warmed up once), open the controller (state idle: the
    robot holds, the first chunk is fetched and previewed). Raises LadError subclasses with the file named."""
    from lad_core.rollout.setup import make_backend, make_controller

    setup.validate()
    opts = dict(options or {})
    if setup.backend == "sim":
        opts.setdefault("realtime", True)
        # pybullet keeps the GIL for whole physics steps: in the studio's process they stalled the UI thread
        # (119-487 ms); a child process steps the scene while the control loop waits with the GIL released.
        opts.setdefault("process", setup.sim_process)
    backend = make_backend(setup.backend, setup.embodiment, setup.task, opts)
    try:
        backend.connect()
        state = backend.read_state()
        source = make_source_for(setup, backend.info.n_joints, state)
        warmup = source.warmup(state) if hasattr(source, "warmup") else None
        controller = make_controller(backend, source, setup.rate_hz, setup.source_timeout_s)
        controller.open()
    except BaseException:
        try:
            backend.close()
        except Exception:  # noqa: BLE001
            pass
        raise
    return RolloutConsole(setup, backend, source, controller, warmup)
