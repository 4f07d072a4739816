"""A simulated robot: the Franka Panda carrying one end-effector, a task scene, cameras and joint control.

One control tick (``step``) takes an arm target pose and an end-effector command (the embodiment's actuated
joints: hand joint angles, or the gripper's normalised width), turns the pose into arm joint targets by IK
(clipped to the joint limits and to each joint's velocity limit over the tick), maps the end-effector command
through the embodiment's couplings onto every URDF joint (``lad_core.kinematics``), and runs
``physics_hz / control_hz`` physics steps under position control. DIRECT mode (headless) unless ``gui=True``.

Shape legend: A = 7 arm joints, J = the embodiment's action_dim, U = its URDF joints (couplings applied).
pybullet types stay in this module and its siblings; callers see numpy arrays and ``SimObservation``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from lad_core.errors import ConfigError, InputError
from lad_core.sim.arm import ArmActionMode, limit_joint_step, pose_from_pq, target_from_action

# A comfortable arm posture above the workspace; the IK's null space pulls towards it.
HOME_ARM = np.array([0.0, -0.25, 0.0, -2.2, 0.0, 2.0, 0.785])
ARM_EFFORT = np.array([87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0])
ARM_VELOCITY = np.array([2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61])
FINGER_FRICTION = 1.5
# Hand links weigh ~10 g and are 1-4 cm long: their own inertia (~1e-6 kg m^2) is far below what the tendons and
# motors behind a real finger joint add (MuJoCo calls it armature). With it, the 240 Hz solver oscillates the tiny
# rolling-joint links of the Faive-like hand at +-30 rad/s and flings the cube; every end-effector link gets at least
# this much inertia instead.
EE_MIN_INERTIA = 1e-5  # kg m^2
# Joint damping is applied explicitly (force = -c qdot): it stays stable only while c dt / I << 1.
EE_JOINT_DAMPING = 1e-3  # N m s / rad
# Hand joints move no faster than this (the authored URDFs declare 6 rad/s; a rolling pair is two joints, so a
# Faive-like joint turns at up to twice this): fingers that snap shut at 30+ rad/s hit the object like a bat.
EE_MAX_JOINT_VELOCITY = 4.0  # rad/s


@dataclass(frozen=True)
class SimConfig:
    """What scene to build. Validated on construction (ConfigError names the field)."""

    embodiment: str
    task: str = "cube_in_box"
    control_hz: float = 20.0
    physics_hz: float = 240.0
    cameras: tuple[str, ...] = ("external", "wrist")
    image_size: tuple[int, int] = (128, 128)  # (H, W)
    renderer: str = "tiny"  # "tiny" (TinyRenderer) or "egl" (falls back to tiny when unavailable)
    gui: bool = False
    ee_force: float = 1.5  # N m (hands) per joint; the gripper's fingers get 20 N
    arm_speed_scale: float = 0.5  # fraction of the Panda's joint velocity limits the controller may use

    def __post_init__(self) -> None:
        from lad_core.sim.tasks import TASKS

        if self.task not in TASKS:
            raise ConfigError(f"unknown task {self.task!r}; known: {', '.join(TASKS)}", field="task")
        if not self.control_hz > 0 or not self.physics_hz >= self.control_hz:
            raise ConfigError(f"need 0 < control_hz <= physics_hz, got {self.control_hz}, {self.physics_hz}",
                              field="control_hz")
        unknown = set(self.cameras) - {"external", "wrist"}
        if unknown:
            raise ConfigError(f"unknown camera(s) {sorted(unknown)}; known: external, wrist", field="cameras")
        if len(self.image_size) != 2 or min(self.image_size) < 8:
            raise ConfigError(f"(H, W) of at least 8 pixels, got {self.image_size}", field="image_size")
        if self.renderer not in ("tiny", "egl"):
            raise ConfigError(f"'tiny' or 'egl', got {self.renderer!r}", field="renderer")
        if not 0 < self.arm_speed_scale <= 1:
            raise ConfigError(f"must be in (0, 1], got {self.arm_speed_scale}", field="arm_speed_scale")

    @property
    def substeps(self) -> int:
        return max(1, round(self.physics_hz / self.control_hz))


@dataclass
class SimObservation:
    """One tick's observation (robot base frame, metres/radians)."""

    time: float  # simulated seconds since reset
    arm_pose: np.ndarray  # (6,) wrist position + rotation vector
    arm_joints: np.ndarray  # (7,)
    ee_joints: np.ndarray  # (J,) measured actuated joints (gripper: normalised width)
    object_pose: np.ndarray  # (7,) position + xyzw quaternion
    target_position: np.ndarray  # (3,) container centre on the floor
    images: dict[str, np.ndarray] = field(default_factory=dict)  # camera -> uint8 (H, W, 3)


class SimEnv:
    """The simulated robot and scene. Not thread-safe: one control loop owns it. ``close()`` disconnects."""

    def __init__(self, config: SimConfig):
        import pybullet as p

        from lad_core.embodiments import get
        from lad_core.kinematics import load_kinematics
        from lad_core.sim.assembly import assemble
        from lad_core.sim.cameras import GRIPPER_WRIST_MOUNT, HAND_WRIST_MOUNT
        from lad_core.sim.tasks import make_task

        self.config = config
        self.spec = get(config.embodiment)
        if self.spec.kind not in ("hand", "gripper"):
            raise ConfigError(f"embodiment '{self.spec.name}' ({self.spec.kind}) has no robot to simulate",
                              field="embodiment")
        self.kin = load_kinematics(self.spec.name)
        self.assembly = assemble(self.spec.urdf_path, self.spec.name)
        self.task = make_task(config.task)
        self.client = p.connect(p.GUI if config.gui else p.DIRECT)
        self._wrist_mount = GRIPPER_WRIST_MOUNT if self.spec.kind == "gripper" else HAND_WRIST_MOUNT
        self.cameras = None
        self.robot = -1
        self.seed: int | None = None
        self.tick = 0
        self.limit_events = 0  # ticks on which an arm target was clipped to joint or velocity limits
        self._closed = False

    # ------------------------------------------------------------------ set-up
    @property
    def action_dim(self) -> int:
        return self.spec.action_dim

    @property
    def dt(self) -> float:
        return 1.0 / self.config.control_hz

    def reset(self, seed: int = 0) -> SimObservation:
        """Rebuild the world for ``seed``: robot at home, end-effector open, objects placed. Deterministic."""
        import pybullet as p

        from lad_core.sim.cameras import Cameras

        self._require_open()
        kw = {"physicsClientId": self.client}
        p.resetSimulation(**kw)
        p.setGravity(0, 0, -9.81, **kw)
        p.setPhysicsEngineParameter(fixedTimeStep=1.0 / self.config.physics_hz, numSolverIterations=60,
                                    deterministicOverlappingPairs=1, **kw)  # fmt: skip
        floor = p.createCollisionShape(p.GEOM_PLANE, **kw)
        floor_vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[1.5, 1.5, 0.001], rgbaColor=[0.82, 0.82, 0.78, 1],
                                        **kw)  # fmt: skip
        self.floor = p.createMultiBody(0, floor, floor_vis, [0, 0, 0], **kw)
        p.changeDynamics(self.floor, -1, lateralFriction=0.8, **kw)
        flags = p.URDF_USE_INERTIA_FROM_FILE
        self.robot = p.loadURDF(str(self.assembly.urdf_path), [0, 0, 0], useFixedBase=True, flags=flags, **kw)
        self._index_joints()
        self._tune_dynamics()
        self.seed = int(seed)
        rng = np.random.default_rng(self.seed)
        self.task.build(self.client, rng)
        self._set_joint_state(HOME_ARM, self.open_command())
        self.cameras = Cameras(self.client, self.config.image_size, self.config.cameras, self._wrist_mount,
                               self.config.renderer) if self.config.cameras else None  # fmt: skip
        self.tick = 0
        self.limit_events = 0
        self._arm_target = HOME_ARM.copy()
        self._ee_command = self.open_command()
        for _ in range(int(0.25 * self.config.physics_hz)):  # let the objects settle
            self._apply_motors()
            p.stepSimulation(**kw)
        return self.observe()

    def _index_joints(self) -> None:
        import pybullet as p

        kw = {"physicsClientId": self.client}
        by_name, self._movable = {}, []
        self._link_of: dict[str, int] = {}
        for j in range(p.getNumJoints(self.robot, **kw)):
            info = p.getJointInfo(self.robot, j, **kw)
            name, kind, child = info[1].decode(), info[2], info[12].decode()
            by_name[name] = j
            self._link_of[child] = j
            if kind != p.JOINT_FIXED:
                self._movable.append(j)
        self._arm_idx = [by_name[n] for n in self.assembly.arm_joints]
        self._ee_link = self._link_of[self.assembly.ee_base_link]
        missing = [n for n in self.kin.tree.joint_names if n not in by_name]
        if missing:
            raise ConfigError(f"joints {missing} of {self.spec.urdf_path} are missing from the simulated robot",
                              field="urdf")
        self._urdf_idx = [by_name[n] for n in self.kin.tree.joint_names]
        self._arm_lower = np.array([p.getJointInfo(self.robot, j, **kw)[8] for j in self._arm_idx])
        self._arm_upper = np.array([p.getJointInfo(self.robot, j, **kw)[9] for j in self._arm_idx])
        self._urdf_lower = np.array([p.getJointInfo(self.robot, j, **kw)[8] for j in self._urdf_idx])
        self._urdf_upper = np.array([p.getJointInfo(self.robot, j, **kw)[9] for j in self._urdf_idx])
        # IK works on every movable joint; the end-effector's joints are held where they are.
        self._ik_slot = {j: k for k, j in enumerate(self._movable)}

    def _tune_dynamics(self) -> None:
        """Friction and stable inertias for the end-effector links (the authored URDFs carry 1e-6 placeholders)."""
        import pybullet as p

        kw = {"physicsClientId": self.client}
        first_ee = self._ee_link
        for link in range(first_ee, p.getNumJoints(self.robot, **kw)):
            mass = p.getDynamicsInfo(self.robot, link, **kw)[0]
            lo, hi = p.getAABB(self.robot, link, **kw)
            size = max(float(np.max(np.array(hi) - np.array(lo))), 0.02)
            inertia = max(max(mass, 1e-3) * size**2 / 6.0, EE_MIN_INERTIA)
            p.changeDynamics(self.robot, link, localInertiaDiagonal=[inertia] * 3, lateralFriction=FINGER_FRICTION,
                             spinningFriction=0.003, rollingFriction=0.0005, frictionAnchor=1, **kw)  # fmt: skip
        for j in self._urdf_idx:
            if p.getJointInfo(self.robot, j, **kw)[2] == p.JOINT_REVOLUTE:
                p.changeDynamics(self.robot, j, jointDamping=EE_JOINT_DAMPING, maxJointVelocity=EE_MAX_JOINT_VELOCITY,
                                 **kw)  # fmt: skip
            else:
                p.changeDynamics(self.robot, j, jointDamping=EE_JOINT_DAMPING, **kw)

    def _set_joint_state(self, arm: np.ndarray, ee_command: np.ndarray) -> None:
        import pybullet as p

        kw = {"physicsClientId": self.client}
        for j, v in zip(self._arm_idx, arm):
            p.resetJointState(self.robot, j, float(v), **kw)
        for j, v in zip(self._urdf_idx, self._urdf_targets(ee_command)):
            p.resetJointState(self.robot, j, float(v), **kw)

    # ------------------------------------------------------------------ commands
    def open_command(self) -> np.ndarray:
        """The end-effector's open pose: retargeted open human hand (hands), fully open (gripper)."""
        from lad_core.sim.grasps import grasp_shape

        return grasp_shape(self.spec.name, "open")

    def _urdf_targets(self, ee_command: np.ndarray) -> np.ndarray:
        q = np.clip(np.asarray(ee_command, dtype=np.float64), self.spec.lower, self.spec.upper)
        return np.clip(self.kin.urdf_joints(q), self._urdf_lower, self._urdf_upper)

    def _check_ee(self, ee_command) -> np.ndarray:
        q = np.asarray(ee_command, dtype=np.float64)
        if q.shape != (self.action_dim,) or not np.isfinite(q).all():
            raise InputError(f"end-effector command for '{self.spec.name}' must be {self.action_dim} finite "
                             f"numbers, got shape {q.shape}")  # fmt: skip
        return np.clip(q, self.spec.lower, self.spec.upper)

    def ik(self, pose: np.ndarray) -> np.ndarray:
        """Arm joint values (7,) reaching the wrist pose (6,), from the current state, clipped to the limits.

        pybullet iterates from the body's current joint state (passing ``currentPositions`` makes it stop after one
        iteration, 5 cm off), with a null-space pull towards ``HOME_ARM``."""
        import pybullet as p

        from lad_core.sim.arm import pq_from_pose

        kw = {"physicsClientId": self.client}
        pos, quat = pq_from_pose(pose)
        states = p.getJointStates(self.robot, self._movable, **kw)
        current = [s[0] for s in states]
        lower = [p.getJointInfo(self.robot, j, **kw)[8] for j in self._movable]
        upper = [p.getJointInfo(self.robot, j, **kw)[9] for j in self._movable]
        rest = list(current)
        for k, j in enumerate(self._arm_idx):
            rest[self._ik_slot[j]] = HOME_ARM[k]
        ranges = [max(u - lo, 1e-3) for lo, u in zip(lower, upper)]
        sol = p.calculateInverseKinematics(self.robot, self._ee_link, pos.tolist(), quat.tolist(),
                                           lowerLimits=lower, upperLimits=upper, jointRanges=ranges,
                                           restPoses=rest, maxNumIterations=100,
                                           residualThreshold=1e-5, **kw)  # fmt: skip
        arm = np.array([sol[self._ik_slot[j]] for j in self._arm_idx])
        return np.clip(arm, self._arm_lower, self._arm_upper)

    def step(self, arm_target: np.ndarray, ee_command: np.ndarray, *, render: bool = True) -> SimObservation:
        """One control tick towards the absolute wrist pose ``arm_target`` (6,) and ``ee_command`` (J,)."""
        import pybullet as p

        self._require_open()
        arm_target = np.asarray(arm_target, dtype=np.float64)
        if arm_target.shape != (6,) or not np.isfinite(arm_target).all():
            raise InputError(f"arm target must be 6 finite numbers (position + rotation vector), got {arm_target}")
        self._ee_command = self._check_ee(ee_command)
        wanted = self.ik(arm_target)
        current = self.arm_joints()
        limit = ARM_VELOCITY * self.config.arm_speed_scale
        self._arm_target, clipped = limit_joint_step(wanted, current, self._arm_lower, self._arm_upper, limit, self.dt)
        self.limit_events += int(clipped)
        kw = {"physicsClientId": self.client}
        for _ in range(self.config.substeps):
            self._apply_motors()
            p.stepSimulation(**kw)
        self.tick += 1
        return self.observe(render=render)

    def step_action(self, action: np.ndarray, ee_command: np.ndarray, mode: ArmActionMode, *,
                    chunk_start: np.ndarray | None = None, render: bool = True) -> SimObservation:
        """``step`` with an arm action in one of the representations of ``lad_core.sim.arm``."""
        target = target_from_action(action, mode, current=self.arm_pose(), chunk_start=chunk_start)
        return self.step(target, ee_command, render=render)

    def _apply_motors(self) -> None:
        import pybullet as p

        kw = {"physicsClientId": self.client}
        p.setJointMotorControlArray(self.robot, self._arm_idx, p.POSITION_CONTROL,
                                    targetPositions=self._arm_target.tolist(), forces=ARM_EFFORT.tolist(),
                                    positionGains=[0.1] * 7, **kw)  # fmt: skip
        force = 20.0 if self.spec.kind == "gripper" else self.config.ee_force
        targets = self._urdf_targets(self._ee_command)
        p.setJointMotorControlArray(self.robot, self._urdf_idx, p.POSITION_CONTROL, targetPositions=targets.tolist(),
                                    forces=[force] * len(targets), positionGains=[0.2] * len(targets), **kw)  # fmt: skip

    # ------------------------------------------------------------------ state
    def arm_joints(self) -> np.ndarray:
        import pybullet as p

        return np.array([s[0] for s in p.getJointStates(self.robot, self._arm_idx, physicsClientId=self.client)])

    def urdf_joint_positions(self) -> np.ndarray:
        """(U,) measured URDF joints of the end-effector, in ``kin.tree.joint_names`` order."""
        import pybullet as p

        return np.array([s[0] for s in p.getJointStates(self.robot, self._urdf_idx, physicsClientId=self.client)])

    def joint_limits(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Limits of the simulated joints: "arm" (7,) and "end_effector" (U,) URDF joints."""
        return {"arm": (self._arm_lower.copy(), self._arm_upper.copy()),
                "end_effector": (self._urdf_lower.copy(), self._urdf_upper.copy())}  # fmt: skip

    def ee_joints(self) -> np.ndarray:
        """(J,) actuated joints read back: a hand's source joints, the gripper's width / max width."""
        urdf = self.urdf_joint_positions()
        mat = self.kin.coupling  # (U, J): least squares inverts the couplings
        q, *_ = np.linalg.lstsq(mat, urdf - self.kin.coupling_offset, rcond=None)
        return np.clip(q, self.spec.lower, self.spec.upper)

    def ee_pose_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        import pybullet as p

        st = p.getLinkState(self.robot, self._ee_link, computeForwardKinematics=True, physicsClientId=self.client)
        return np.array(st[4]), Rotation.from_quat(st[5]).as_matrix()

    def arm_pose(self) -> np.ndarray:
        import pybullet as p

        st = p.getLinkState(self.robot, self._ee_link, computeForwardKinematics=True, physicsClientId=self.client)
        return pose_from_pq(st[4], st[5])

    def object_pose(self) -> np.ndarray:
        return self.task.object_pose(self.client)

    def success(self) -> bool:
        return self.task.success(self.client, self.robot)

    def object_held(self) -> bool:
        """The end-effector touches the object and the object is off the floor."""
        import pybullet as p

        kw = {"physicsClientId": self.client}
        touching = p.getContactPoints(bodyA=self.robot, bodyB=self.task.object_id, **kw)
        on_floor = p.getContactPoints(bodyA=self.floor, bodyB=self.task.object_id, **kw)
        return bool(touching) and not on_floor

    def observe(self, render: bool = True) -> SimObservation:
        pos, rot = self.ee_pose_matrix()
        images = self.cameras.render(pos, rot) if (render and self.cameras is not None) else {}
        target = np.array([*self.task.layout.target_xy, 0.0])
        return SimObservation(self.tick * self.dt, pose_from_pq(pos, Rotation.from_matrix(rot).as_quat()),
                              self.arm_joints(), self.ee_joints(), self.object_pose(), target, images)  # fmt: skip

    # ------------------------------------------------------------------ lifecycle
    def _require_open(self) -> None:
        if self._closed:
            raise InputError("the simulation is closed")

    def close(self) -> None:
        import pybullet as p

        if not self._closed:
            self._closed = True
            try:
                p.disconnect(physicsClientId=self.client)
            except p.error:
                pass

    def __enter__(self) -> "SimEnv":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
