"""Recording teleop episodes from a live `TeleopSession`: the session's frames go to an episodes `Recorder` on the
session thread (never blocking it), while start/stop/next/re-record/discard come from the caller.

Each episode holds, per frame: `observations/human_landmarks` (63: canonical landmarks), `actions/arm` (6: wrist
translation in metres and rotation vector in radians, camera frame; zeros when the pose is unknown) and
`actions/end_effector` (the chosen embodiment's retargeted joints, or the gripper width).

Events (`events.subscribe(kind, fn)`): "recorder"(RecorderEvent) on the thread the recorder fired it on (control
calls: the caller; write errors: the writer thread); "stopped_on_loss"(EpisodeSummary) on the session thread when
the stream ended mid-episode and the take was saved.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from lad_core.errors import InputError
from lad_core.studio.events import EventEmitter

log = logging.getLogger(__name__)

ARM_NAMES = ("x", "y", "z", "rx", "ry", "rz")


def teleop_schema(embodiment: str):
    from lad_core import embodiments
    from lad_core.episodes import EpisodeSchema

    spec = embodiments.get(embodiment)
    gripper = spec.kind == "gripper"
    dim = 1 if gripper else spec.action_dim
    names = {"actions/arm": ARM_NAMES}
    if not gripper:
        names["actions/end_effector"] = tuple(spec.joint_names)
    return EpisodeSchema(cameras={}, observations={"human_landmarks": 63}, arm_dim=6, end_effector_dim=dim,
                         end_effector_kind="gripper_width" if gripper else "joints", names=names)


def _rotvec(rot: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_matrix(rot).as_rotvec()


class TeleopRecording:
    """Records `embodiment`'s retargeted actions from `session` into the dataset folder `root`."""

    def __init__(self, session, root: str | Path, *, embodiment: str, task: str, fps: float = 30.0):
        if embodiment not in session.robots:
            raise InputError(f"cannot record {embodiment!r}: the session retargets to {', '.join(session.robots)}")
        self.session = session
        self.root = Path(root)
        self.embodiment = embodiment
        self.task = task
        self.fps = fps
        self.events = EventEmitter(("recorder", "stopped_on_loss"))
        self._lock = threading.Lock()
        self._t0 = 0.0
        self.recorder = self._make_recorder()
        self._unsubs = [session.events.subscribe("frame", self._on_frame),
                        session.events.subscribe("finished", self._on_finished)]

    def _make_recorder(self):
        from lad_core.episodes import Recorder

        rec = Recorder(self.root, teleop_schema(self.embodiment), embodiment=self.embodiment, task=self.task,
                       fps=self.fps, extra={"source": self.session.source_spec})
        rec.subscribe(lambda ev: self.events.emit("recorder", ev))
        return rec

    def configure(self, *, root: str | Path | None = None, embodiment: str | None = None, task: str | None = None) -> None:
        """Change folder, embodiment or task between episodes."""
        if self.is_recording:
            raise InputError("stop the current episode before changing the dataset, embodiment or task")
        if embodiment is not None and embodiment not in self.session.robots:
            raise InputError(f"cannot record {embodiment!r}: the session retargets to {', '.join(self.session.robots)}")
        self.root = Path(root) if root is not None else self.root
        self.embodiment = embodiment or self.embodiment
        self.task = task or self.task
        with self._lock:
            self.recorder = self._make_recorder()

    # ------------------------------------------------------------------------------------------- control
    @property
    def is_recording(self) -> bool:
        return self.recorder.is_recording

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._t0 if self.is_recording else 0.0

    def start(self) -> int:
        with self._lock:
            self._t0 = time.monotonic()
            return self.recorder.start(**self._info())

    def stop(self, success: bool = True):
        with self._lock:
            return self.recorder.stop(success)

    def next(self, success: bool = True):
        with self._lock:
            summary = self.recorder.stop(success)
            self._t0 = time.monotonic()
            return summary, self.recorder.start(**self._info())

    def rerecord(self) -> int:
        """Discard the running take, or re-record the last saved episode."""
        with self._lock:
            if self.recorder.is_recording:
                index = self.recorder.current_index
                self.recorder.discard()
                if self.recorder.dataset.path_for(index).exists():
                    return self.recorder.rerecord(index, **self._info())
                self._t0 = time.monotonic()
                return self.recorder.start(index, **self._info())
            indices = self.recorder.dataset.indices()
            if not indices:
                raise InputError("no episode to re-record yet")
            self._t0 = time.monotonic()
            return self.recorder.rerecord(indices[-1], **self._info())

    def discard(self) -> None:
        with self._lock:
            self.recorder.discard()

    def _info(self) -> dict:
        """Per-episode metadata: the scales in use when the take started (None for grippers)."""
        r = self.session.retargeters[self.embodiment]
        return {"retarget_scales": None if r.scales is None else [round(float(v), 6) for v in self.session.scales(self.embodiment)]}

    def episodes(self):
        return self.recorder.dataset.index()

    def delete(self, index: int) -> Path:
        return self.recorder.dataset.delete(index)

    def close(self) -> None:
        for unsub in self._unsubs:
            unsub()
        with self._lock:
            if self.recorder.is_recording:
                self.recorder.stop(False)  # keep what was recorded

    # ------------------------------------------------------------------------------------------- session thread
    def _on_frame(self, frame) -> None:
        if not self.recorder.is_recording or not self._lock.acquire(blocking=False):
            return  # a control call is running: skip this frame rather than block the session thread
        try:
            if not self.recorder.is_recording or frame.tracked.canonical is None:
                return
            robot = frame.robots.get(self.embodiment)
            if robot is None:
                return
            self.recorder.add_frame(self.make_frame(frame, robot.qpos))
        finally:
            self._lock.release()

    def make_frame(self, frame, qpos):
        from lad_core.episodes import Frame

        arm = np.zeros(6)
        pose = frame.tracked.wrist_pose
        if pose is not None:
            arm[:3], arm[3:] = pose.translation, _rotvec(pose.rotation)
        return Frame(time.monotonic() - self._t0, {}, {"human_landmarks": frame.tracked.canonical.reshape(-1)},
                     arm, np.atleast_1d(qpos))

    def _on_finished(self) -> None:
        with self._lock:
            if self.recorder.is_recording:
                try:
                    summary = self.recorder.stop(False)
                except Exception:  # noqa: BLE001 - the recorder reported it as an "error" event
                    log.debug("stop after stream end failed", exc_info=True)
                    return
                self.events.emit("stopped_on_loss", summary)

