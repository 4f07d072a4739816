"""The paper's two tasks as pybullet scenes: objects, their seeded layout and success detection.

* ``cube_in_box``: a 5 cm cube to put into an open box (five thin static walls).
* ``toy_in_bowl``: the plush teddy of ``pybullet_data`` to put into a bowl (a floor disc and a ring of tilted
  panels: pybullet_data ships no bowl).

Layout (robot base frame, metres; the floor is z = 0): the object lies on the robot's right (-y), the container
on its left (+y), both 0.45..0.6 m in front of the base; positions and the object's yaw are drawn from a
``numpy.random.Generator`` so a seed fixes the scene. All pybullet calls take an explicit ``client``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from lad_core.errors import ConfigError

CUBE_HALF = 0.025
BOX_INNER_HALF = 0.08
BOX_WALL = 0.008
BOX_HEIGHT = 0.06
BOWL_RADIUS = 0.085
BOWL_HEIGHT = 0.05
OBJECT_FRICTION = 1.0


@dataclass(frozen=True)
class Layout:
    """Where a seed puts things: object xy and yaw, container xy."""

    object_xy: np.ndarray  # (2,)
    object_yaw: float
    target_xy: np.ndarray  # (2,)


class Task(abc.ABC):
    name: str
    object_height: float  # object's resting centre height (m), used by the scripted expert

    def __init__(self) -> None:
        self.object_id = -1
        self.target_id = -1
        self.layout: Layout | None = None

    def sample_layout(self, rng: np.random.Generator) -> Layout:
        obj = np.array([rng.uniform(0.47, 0.58), rng.uniform(-0.16, -0.06)])
        target = np.array([rng.uniform(0.47, 0.58), rng.uniform(0.12, 0.2)])
        return Layout(obj, float(rng.uniform(-0.5, 0.5)), target)

    def build(self, client: int, rng: np.random.Generator) -> Layout:
        """Create the objects of a fresh scene (the caller has reset the world)."""
        self.layout = self.sample_layout(rng)
        self.target_id = self._build_container(client, self.layout.target_xy)
        self.object_id = self._build_object(client, self.layout)
        return self.layout

    @abc.abstractmethod
    def _build_object(self, client: int, layout: Layout) -> int: ...

    @abc.abstractmethod
    def _build_container(self, client: int, xy: np.ndarray) -> int: ...

    @abc.abstractmethod
    def inside(self, position: np.ndarray) -> bool:
        """True when an object centre at ``position`` lies inside the container."""

    def object_pose(self, client: int) -> np.ndarray:
        """(7,) object position + xyzw quaternion."""
        import pybullet as p

        pos, orn = p.getBasePositionAndOrientation(self.object_id, physicsClientId=client)
        return np.array([*pos, *orn])

    def success(self, client: int, robot_id: int) -> bool:
        """The object is inside the container, resting, and the robot no longer touches it."""
        import pybullet as p

        pose = self.object_pose(client)
        lin, _ = p.getBaseVelocity(self.object_id, physicsClientId=client)
        touching = p.getContactPoints(bodyA=robot_id, bodyB=self.object_id, physicsClientId=client)
        return bool(self.inside(pose[:3]) and np.linalg.norm(lin) < 0.05 and not touching)


def _static_body(client: int, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], base_xyz, rgba) -> int:
    """A static body made of boxes: parts = (half extents, position, xyzw orientation) relative to ``base_xyz``."""
    import pybullet as p

    kw = {"physicsClientId": client}
    cols = [p.createCollisionShape(p.GEOM_BOX, halfExtents=h.tolist(), **kw) for h, _, _ in parts]
    vis = [p.createVisualShape(p.GEOM_BOX, halfExtents=h.tolist(), rgbaColor=rgba, **kw) for h, _, _ in parts]
    n = len(parts) - 1
    body = p.createMultiBody(
        baseMass=0, baseCollisionShapeIndex=cols[0], baseVisualShapeIndex=vis[0],
        basePosition=(np.asarray(base_xyz) + parts[0][1]).tolist(), baseOrientation=parts[0][2].tolist(),
        linkMasses=[0] * n, linkCollisionShapeIndices=cols[1:], linkVisualShapeIndices=vis[1:],
        linkPositions=[(pos - parts[0][1]).tolist() for _, pos, _ in parts[1:]],
        linkOrientations=[q.tolist() for _, _, q in parts[1:]],
        linkInertialFramePositions=[[0, 0, 0]] * n, linkInertialFrameOrientations=[[0, 0, 0, 1]] * n,
        linkParentIndices=[0] * n, linkJointTypes=[p.JOINT_FIXED] * n, linkJointAxis=[[0, 0, 1]] * n, **kw,
    )  # fmt: skip
    for link in range(-1, n):
        p.changeDynamics(body, link, lateralFriction=0.8, **kw)
    return body


class CubeInBox(Task):
    name = "cube_in_box"
    object_height = CUBE_HALF

    def _build_object(self, client: int, layout: Layout) -> int:
        import pybullet as p

        kw = {"physicsClientId": client}
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=[CUBE_HALF] * 3, **kw)
        vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[CUBE_HALF] * 3, rgbaColor=[0.85, 0.2, 0.15, 1], **kw)
        orn = p.getQuaternionFromEuler([0, 0, layout.object_yaw])
        body = p.createMultiBody(0.08, col, vis, [*layout.object_xy, CUBE_HALF], orn, **kw)
        p.changeDynamics(body, -1, lateralFriction=OBJECT_FRICTION, spinningFriction=0.002, rollingFriction=0.0005,
                         **kw)  # fmt: skip
        return body

    def _build_container(self, client: int, xy: np.ndarray) -> int:
        s, w, h = BOX_INNER_HALF, BOX_WALL / 2, BOX_HEIGHT / 2
        q = np.array([0.0, 0.0, 0.0, 1.0])
        parts = [
            (np.array([s + 2 * w, s + 2 * w, w]), np.array([0, 0, w]), q),  # floor
            (np.array([w, s + 2 * w, h]), np.array([s + w, 0, h]), q),
            (np.array([w, s + 2 * w, h]), np.array([-s - w, 0, h]), q),
            (np.array([s, w, h]), np.array([0, s + w, h]), q),
            (np.array([s, w, h]), np.array([0, -s - w, h]), q),
        ]
        return _static_body(client, parts, [*xy, 0.0], [0.55, 0.4, 0.25, 1])

    def inside(self, position: np.ndarray) -> bool:
        xy = np.abs(np.asarray(position[:2]) - self.layout.target_xy)
        return bool(np.all(xy < BOX_INNER_HALF) and position[2] < BOX_HEIGHT + CUBE_HALF)


class ToyInBowl(Task):
    name = "toy_in_bowl"
    object_height = 0.035

    def _build_object(self, client: int, layout: Layout) -> int:
        import pybullet as p
        import pybullet_data

        kw = {"physicsClientId": client}
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), **kw)
        orn = p.getQuaternionFromEuler([0, 0, layout.object_yaw])
        body = p.loadURDF("teddy_vhacd.urdf", [0, 0, 0], orn, **kw)
        # The shipped inertia (1 kg m^2 for a 0.1 kg toy) is a placeholder; use a 9 cm plush's.
        p.changeDynamics(body, -1, mass=0.1, localInertiaDiagonal=[1.4e-4] * 3, lateralFriction=OBJECT_FRICTION,
                         spinningFriction=0.002, rollingFriction=0.0005, **kw)  # fmt: skip
        lo, hi = p.getAABB(body, **kw)
        centre = (np.array(lo) + np.array(hi)) / 2
        com, _ = p.getBasePositionAndOrientation(body, **kw)
        offset = np.array(com) - centre  # place the toy's box centre at the sampled xy, resting on the floor
        p.resetBasePositionAndOrientation(body, [layout.object_xy[0] + offset[0], layout.object_xy[1] + offset[1],
                                                 com[2] - lo[2] + 0.002], orn, **kw)  # fmt: skip
        return body

    def _build_container(self, client: int, xy: np.ndarray) -> int:
        import pybullet as p

        parts = [(np.array([BOWL_RADIUS * 0.75, BOWL_RADIUS * 0.75, 0.004]), np.array([0, 0, 0.004]),
                  np.array([0.0, 0.0, 0.0, 1.0]))]  # fmt: skip
        n, tilt = 14, 0.45
        half_w = BOWL_RADIUS * np.tan(np.pi / n) * 1.1
        for i in range(n):
            a = 2 * np.pi * i / n
            pos = np.array([BOWL_RADIUS * np.cos(a), BOWL_RADIUS * np.sin(a), BOWL_HEIGHT / 2])
            q = np.array(p.getQuaternionFromEuler([0, -tilt, a]))  # panels lean outwards
            parts.append((np.array([0.004, half_w, BOWL_HEIGHT / 2]), pos, q))
        return _static_body(client, parts, [*xy, 0.0], [0.3, 0.5, 0.8, 1])

    def inside(self, position: np.ndarray) -> bool:
        r = float(np.linalg.norm(np.asarray(position[:2]) - self.layout.target_xy))
        return bool(r < BOWL_RADIUS and position[2] < BOWL_HEIGHT + 0.05)


TASKS: dict[str, type[Task]] = {"cube_in_box": CubeInBox, "toy_in_bowl": ToyInBowl}


def make_task(name: str) -> Task:
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}; known: {', '.join(TASKS)}", field="task")
    return TASKS[name]()
