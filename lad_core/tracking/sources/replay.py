"""Replay of a recorded landmark file (our HDF5 recordings or an (N, 21, 3) ``.npy``), bypassing the detector."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lad_core.tracking.recording import read_landmarks
from lad_core.tracking.sources.base import FrameSource, Pacer
from lad_core.tracking.types import HandObservation, SourceFrame


class LandmarkReplaySource(FrameSource):
    """Yields the recorded hands frame by frame (world landmarks when recorded, else the canonical ones).

    realtime: pace by the recorded timestamps. Frames recorded without a hand yield no hands, so loss handling
    downstream sees the same gaps the live run saw.
    """

    name = "replay"

    def __init__(self, path: str | Path, *, realtime: bool = False, fps: float = 30.0, loop: bool = False,
                 **_ignored: object):  # fmt: skip
        self.path = Path(path)
        self.recording = read_landmarks(self.path, fps=fps)
        self.realtime, self.loop = bool(realtime), bool(loop)
        self.live = self.realtime

    def _frames(self) -> Iterator[SourceFrame]:
        rec = self.recording
        world = rec.world_landmarks
        span = float(rec.timestamp[-1] - rec.timestamp[0]) + (1.0 / 30.0) if len(rec) else 0.0
        pacer = Pacer() if self.realtime else None
        index, lap = 0, 0
        while True:
            for i in range(len(rec)):
                t = float(rec.timestamp[i] - rec.timestamp[0]) + lap * span
                if pacer is not None:
                    pacer.wait(t)
                hands: tuple[HandObservation, ...] = ()
                if rec.present[i]:
                    pts = world[i] if world is not None and np.isfinite(world[i]).all() else rec.canonical[i]
                    img = rec.image_landmarks[i] if rec.image_landmarks is not None else None
                    hands = (HandObservation(
                        timestamp=t,
                        image_landmarks=np.asarray(img, np.float64) if img is not None and np.isfinite(img).all() else None,
                        world_landmarks=np.asarray(pts, np.float64),
                        handedness="left" if rec.handedness[i] < 0 else "right",
                        score=float(rec.score[i]),
                    ),)  # fmt: skip
                yield SourceFrame(index=index, timestamp=t, hands=hands)
                index += 1
            if not self.loop or not len(rec):
                return
            lap += 1

    def describe(self) -> str:
        return f"replay {self.path.name} ({len(self.recording)} frames)"
