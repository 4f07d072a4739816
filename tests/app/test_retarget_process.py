"""The session's retargeting in a child process (what the studio uses): the same joints, drawings and residuals
as on the session's thread for the same real frames, scales forwarded and applied from the next frame, the process
kept across restarts and ended by close(), and a dead process reported as an error naming it."""

from __future__ import annotations

import numpy as np
import pytest

from lad_core.tracking.types import TrackedFrame


def _tracked(pose, index=0):
    return TrackedFrame(index=index, timestamp=index / 30, present=True, lost=False, time_since_loss=0.0,
                        canonical=np.asarray(pose, dtype=np.float64))


def test_process_retargeting_matches_the_thread_and_takes_scales(real_pose_sequence):
    from lad_core.studio.session import TeleopSession

    robots = ["mimic", "gripper"]
    local = TeleopSession(robots=robots)
    remote = TeleopSession(robots=robots, retarget_process=True)
    try:
        remote._ensure_worker()  # what the session thread does on start
        worker = remote._worker
        for i, pose in enumerate(real_pose_sequence[200:212]):
            a, b = local.process(_tracked(pose, i)), remote.process(_tracked(pose, i))
            for name in robots:
                ra, rb = a.robots[name], b.robots[name]
                assert np.allclose(ra.qpos, rb.qpos, atol=1e-9), (i, name)
                assert np.allclose(ra.drawing.points, rb.drawing.points, atol=1e-9)
                assert np.array_equal(ra.drawing.segments, rb.drawing.segments)
                assert ra.converged == rb.converged
            assert np.allclose(a.robots["mimic"].residuals, b.robots["mimic"].residuals, atol=1e-9)
            assert b.robots["gripper"].residuals is None
        # Scales: set on the session, applied in the child from the very next frame.
        pose = real_pose_sequence[300]
        scales = remote.scales("mimic")
        scales[:5] *= 1.6
        for s in (local, remote):
            s.set_scales("mimic", scales)
        a, b = local.process(_tracked(pose, 20)), remote.process(_tracked(pose, 20))
        assert np.allclose(a.robots["mimic"].qpos, b.robots["mimic"].qpos, atol=1e-9)
        assert np.allclose(b.robots["mimic"].scaled_keyvectors[:5] / a.robots["mimic"].scaled_keyvectors[:5], 1.0)
        # A restart resets the child's retargeters (the same process); the warm start is gone in both.
        remote._ensure_worker()
        assert remote._worker is worker and worker.alive
        for r in local.retargeters.values():
            r.reset()
        a, b = local.process(_tracked(pose, 21)), remote.process(_tracked(pose, 21))
        assert np.allclose(a.robots["mimic"].qpos, b.robots["mimic"].qpos, atol=1e-9)
    finally:
        remote.close()
    assert remote._worker is None and not worker.alive


def test_a_dead_retarget_process_is_reported_by_the_session(real_pose_sequence):
    from lad_core.studio.retarget_worker import RetargetWorkerError
    from lad_core.studio.session import TeleopSession

    session = TeleopSession(robots=["gripper"], retarget_process=True)
    session._ensure_worker()
    try:
        session._worker._proc.kill()
        session._worker._proc.wait(5)
        with pytest.raises(RetargetWorkerError, match="retargeting process"):
            session.process(_tracked(real_pose_sequence[0]))
        session._ensure_worker()  # a later start replaces a dead process
        assert session._worker.alive
        assert "gripper" in session.process(_tracked(real_pose_sequence[0])).robots
    finally:
        session.close()
