"""A synthetic hand that needs no camera: the human hand model animated open -> pinches -> power grasp -> open.

It produces landmarks directly (the detector is bypassed): world landmarks are the model's canonical hand placed
half a metre in front of a virtual camera, palm towards it, with a slow sway, and image landmarks are their
pinhole projection, so every downstream stage (canonicalisation, filters, wrist pose, retargeting) runs as it does
for a real hand. This is the embedded default source of the studio and the demo.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from lad_core.tracking.sources.base import FrameSource, Pacer
from lad_core.tracking.types import HandObservation, SourceFrame

# (pose name, seconds to move into it, seconds to hold it)
DEFAULT_SCRIPT: tuple[tuple[str, float, float], ...] = (
    ("open", 0.6, 0.6),
    ("pinch_index", 0.8, 0.5),
    ("open", 0.6, 0.2),
    ("pinch_middle", 0.8, 0.5),
    ("open", 0.6, 0.2),
    ("pinch_ring", 0.8, 0.5),
    ("open", 0.6, 0.2),
    ("pinch_little", 0.8, 0.5),
    ("open", 0.6, 0.3),
    ("power", 1.0, 0.8),
    ("open", 1.0, 0.4),
)

IMAGE_SIZE = (640, 480)
_FOCAL = 0.5 * IMAGE_SIZE[0] / math.tan(math.radians(60.0) / 2)  # a 60-degree horizontal field of view


def _ease(u: float) -> float:
    return 0.5 - 0.5 * math.cos(math.pi * min(max(u, 0.0), 1.0))


def _rot(axis: int, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


class SyntheticHandSource(FrameSource):
    """Animated model hand at `fps`; `realtime` paces it like a camera; `loop` repeats the script forever.

    `duration` caps the total time (None: one pass of the script, or forever with loop).
    """

    name = "synthetic"

    def __init__(self, *, fps: float = 30.0, realtime: bool = True, loop: bool = True, duration: float | None = None,
                 script: tuple[tuple[str, float, float], ...] = DEFAULT_SCRIPT, sway: bool = True,
                 **_ignored: object):  # fmt: skip
        from lad_core.embodiments import human_model

        self._model = human_model
        self.fps, self.realtime, self.loop, self.duration = float(fps), bool(realtime), bool(loop), duration
        self.live = self.realtime
        self.sway = bool(sway)
        self.script = tuple(script)
        self._angles = {name: np.asarray(human_model.named_pose(name), dtype=np.float64) for name, _, _ in self.script}
        self.period = sum(move + hold for _, move, hold in self.script)

    @classmethod
    def from_spec(cls, target: str, **options):
        return cls(**options)

    def angles_at(self, t: float) -> np.ndarray:
        """Joint angles of the script at time `t` (seconds, wraps around the script's period)."""
        t = t % self.period
        previous = self._angles[self.script[-1][0]]
        for name, move, hold in self.script:
            target = self._angles[name]
            if t < move:
                return previous + (target - previous) * _ease(t / move)
            t -= move
            if t < hold:
                return target.copy()
            t -= hold
            previous = target
        return previous.copy()

    def hand_at(self, t: float) -> HandObservation:
        canonical = np.asarray(self._model.articulate(self.angles_at(t)), dtype=np.float64)
        # canonical axes: +z wrist -> middle MCP, +y thumb side, +x out of the palm. Place the hand fingers up,
        # palm towards the camera (OpenCV camera: x right, y down, z forward), so the thumb is on the image's right.
        base = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])  # columns: canonical x, y, z in camera
        sway = _rot(1, 0.25 * math.sin(2 * math.pi * t / 7.0)) @ _rot(0, 0.15 * math.sin(2 * math.pi * t / 5.0)) if self.sway else np.eye(3)
        rotation = sway @ base
        wrist = np.array([0.03 * math.sin(2 * math.pi * t / 9.0) if self.sway else 0.0, 0.08, 0.5])
        cam = canonical @ rotation.T + wrist
        w, h = IMAGE_SIZE
        u = (_FOCAL * cam[:, 0] / cam[:, 2] + 0.5 * w) / w
        v = (_FOCAL * cam[:, 1] / cam[:, 2] + 0.5 * h) / h
        image = np.stack([u, v, (cam[:, 2] - cam[0, 2]) * _FOCAL / w], axis=-1)
        world = cam - cam.mean(axis=0)  # like MediaPipe: metric, camera axes, origin at the hand's centre
        return HandObservation(timestamp=t, image_landmarks=image, world_landmarks=world, handedness="right",
                               score=1.0, image_size=IMAGE_SIZE)  # fmt: skip

    def _frames(self) -> Iterator[SourceFrame]:
        pacer = Pacer() if self.realtime else None
        end = self.duration if self.duration is not None else (None if self.loop else self.period)
        index = 0
        while True:
            t = index / self.fps
            if end is not None and t >= end - 1e-9:
                return
            if pacer is not None:
                pacer.wait(t)
            yield SourceFrame(index=index, timestamp=t, hands=(self.hand_at(t),))
            index += 1
