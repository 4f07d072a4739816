"""The supervised rollout controller on the fake kinematic backend: e-stop latency, watchdog, fuzzing, takeover."""

from __future__ import annotations

import random
import threading
import time

import numpy as np
import pytest

from lad_core.robots.base import RobotCommand
from lad_core.robots.factory import generic_robot_info
from lad_core.robots.kinematic import FakeKinematicBackend
from lad_core.rollout import ActionChunk, ReplaySource, RolloutController, TeleopSource
from lad_core.safety import SafetyLayer, SafetyLimits

IDENTITY = np.array([0.0, 0.0, 0.0, 1.0])
RATE = 50.0


class RecordingBackend(FakeKinematicBackend):
    """The fake robot, plus a log of every call in order with its time."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, float, RobotCommand | None]] = []

    def command(self, command):
        self.calls.append(("command", time.monotonic(), command))
        super().command(command)

    def stop(self):
        self.calls.append(("stop", time.monotonic(), None))
        super().stop()


def wait_until(predicate, timeout=3.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.002)
    return False


def sweep(n=2000, n_joints=2):
    t = np.linspace(0, 20, n)
    pos = np.stack([0.2 * np.sin(t), 0.2 * np.cos(t), 0.4 + 0.1 * np.sin(2 * t)], 1)
    joints = np.stack([np.sin(t + k) for k in range(n_joints)], 1)
    return ReplaySource.from_arrays(pos, np.tile(IDENTITY, (n, 1)), joints, chunk_size=8)


@pytest.fixture
def robot():
    info = generic_robot_info(2)
    return info, RecordingBackend(info)


def make(robot, source, **kw):
    info, backend = robot
    return RolloutController(backend, source, SafetyLayer(SafetyLimits.for_robot(info)), rate_hz=RATE, **kw)


def test_estop_halts_within_one_tick_and_latches(robot):
    _, backend = robot
    rng = random.Random(7)
    with make(robot, sweep()) as ctl:
        for trial in range(8):
            ctl.start()
            assert wait_until(lambda: len(ctl.steps) > 3)
            time.sleep(rng.uniform(0.0, 1.0 / RATE))  # trigger at a random phase of the tick
            n_before = len(backend.calls)
            t_trigger = time.monotonic()
            ctl.estop("test", f"trial {trial}")
            assert wait_until(lambda: ctl.state == "estopped", 1.0)
            ticks, ms = ctl.last_estop_latency
            assert ticks <= 1, f"trial {trial}: halted {ticks} ticks after the trigger"
            assert ms <= 100.0  # wall time: generous, the machine is shared; the tick count is the contract
            after = backend.calls[n_before:]
            first_stop = next(i for i, c in enumerate(after) if c[0] == "stop")
            assert first_stop <= 1  # at most the one in-flight command of the current tick went out
            assert after[first_stop][1] - t_trigger < 0.1
            n_latched = len(backend.calls)
            ctl.start()  # refused while latched
            time.sleep(0.1)
            assert ctl.state == "estopped"
            assert not [c for c in backend.calls[n_latched:] if c[0] == "command"]
            q = backend.read_state().ee_position
            time.sleep(0.05)
            np.testing.assert_array_equal(backend.read_state().ee_position, q)  # really holding
            ctl.reset()
            assert ctl.state == "idle"


class HangingSource:
    name = "hung-policy"

    def __init__(self, good_chunks: int):
        self.release = threading.Event()
        self.calls = 0
        self.good = good_chunks

    def next_chunk(self, state):
        self.calls += 1
        if self.calls > self.good:
            self.release.wait(10.0)  # a hung policy
        return ActionChunk((RobotCommand(state.ee_position + [0.002, 0, 0], IDENTITY, state.joints),) * 4,
                           self.name)

    def reset(self):
        self.calls = 0


def test_hanging_source_trips_the_watchdog_and_holds(robot):
    _, backend = robot
    source = HangingSource(good_chunks=3)
    events = []
    ctl = make(robot, source, source_timeout_s=0.15)
    ctl.subscribe(lambda e: events.append(e) if e.kind in ("watchdog", "state") else None)
    try:
        with ctl:
            ctl.start()
            assert wait_until(lambda: any(e.kind == "watchdog" for e in events), 3.0)
            assert ctl.state == "paused"
            trip = next(e for e in events if e.kind == "watchdog")
            assert 0.15 <= trip.data["waited_s"] < 0.15 + 0.15
            last_command = max(t for kind, t, _ in backend.calls if kind == "command")
            stops = [t for kind, t, _ in backend.calls if kind == "stop" and t > last_command]
            assert stops, "the watchdog must hold the robot"
            assert any(e.kind == "watchdog" for e in ctl.safety.log.events())
            n_cmds = len([c for c in backend.calls if c[0] == "command"])
            time.sleep(0.1)
            assert len([c for c in backend.calls if c[0] == "command"]) == n_cmds
    finally:
        source.release.set()


def test_fuzzed_stream_never_reaches_the_backend_unclamped(robot):
    info, backend = robot
    rng = np.random.default_rng(0)
    raw = []
    for i in range(150):
        kind = i % 6
        pos = rng.normal(0, 5.0, 3) if kind in (0, 1) else rng.normal(0, 0.1, 3) + [0, 0, 0.4]
        q = rng.normal(size=4)
        joints = rng.normal(0, 10.0, 2)
        if kind == 2:
            joints = np.array([np.nan, 0.0])
        if kind == 3:
            pos = np.array([np.inf, 0, 0])
        if kind == 4:
            joints = rng.normal(size=int(rng.integers(0, 5)) + 3)  # wrong shape
        raw.append({"ee_position": pos, "ee_orientation": q, "joints": joints} if kind != 5 else "garbage")
    limits = SafetyLimits.for_robot(info)
    ctl = RolloutController(backend, ReplaySource(raw, chunk_size=5), SafetyLayer(limits), rate_hz=200.0)
    with ctl:
        ctl.start()
        assert wait_until(lambda: ctl.state == "finished", 5.0)
    sent = [c for kind, _, c in backend.calls if kind == "command"]
    assert len(sent) == len(ctl.steps) == len(raw)
    dt = ctl.period
    for step, cmd in zip(ctl.steps, sent):
        assert cmd is step.command
        assert np.all(np.isfinite(cmd.joints)) and np.all(np.isfinite(cmd.ee_position))
        assert np.all(np.abs(cmd.joints - step.state.joints) <= limits.max_joint_velocity * dt + 1e-9)
        assert np.linalg.norm(cmd.ee_position - step.state.ee_position) <= limits.max_linear_velocity * dt + 1e-9
        assert np.all(cmd.ee_position <= limits.workspace_upper + 1e-9)
        assert np.all(cmd.ee_position >= limits.workspace_lower - 1e-9)
    kinds = {e.kind for e in ctl.safety.log.events()}
    assert {"rejected", "clamped"} <= kinds


def test_preview_shows_the_next_chunk_before_it_runs_and_step_runs_one(robot):
    started = []
    ctl = make(robot, sweep(64))
    ctl.subscribe(lambda e: started.append(e.data["chunk"]) if e.kind == "chunk_started" else None)
    with ctl:
        assert wait_until(lambda: ctl.preview() is not None)
        preview = ctl.preview()
        assert preview.preview_positions().shape == (8, 3)
        assert not ctl.steps  # nothing executed yet
        ctl.step()
        assert wait_until(lambda: ctl.state == "paused")
        assert started[0] is preview
        assert len(ctl.steps) == 8
        assert wait_until(lambda: ctl.preview() is not None and ctl.preview() is not preview)
        time.sleep(0.1)
        assert len(ctl.steps) == 8  # paused means no more commands


def test_takeover_and_hand_back_are_recorded_as_interventions(robot):
    _, backend = robot
    teleop = TeleopSource(wait_s=0.05)
    events = []
    ctl = make(robot, sweep())
    ctl.subscribe(lambda e: events.append(e.kind))
    with ctl:
        ctl.start()
        assert wait_until(lambda: len(ctl.steps) >= 10)
        ctl.takeover(teleop)
        target = backend.read_state().ee_position + [0.0, 0.0, 0.05]
        for _ in range(15):
            teleop.push(RobotCommand(target, IDENTITY, [0.0, 0.0]))
            time.sleep(1.0 / RATE)
        assert wait_until(lambda: any(s.intervention for s in ctl.steps))
        teleop.lose_tracking()  # tracking lost: hold
        assert wait_until(lambda: any(e.kind == "hold" for e in ctl.safety.log.events()), 1.0)
        n = len(ctl.steps)
        time.sleep(0.1)
        assert len(ctl.steps) == n
        ctl.hand_back()
        assert wait_until(lambda: ctl.steps[-1].source == "replay" and not ctl.steps[-1].intervention)
    assert "takeover" in events and "hand_back" in events
    teleop_steps = [s for s in ctl.steps if s.intervention]
    assert teleop_steps and all(s.source == "teleop" for s in teleop_steps)


def test_backend_failure_faults_and_holds(robot):
    _, backend = robot
    with make(robot, sweep()) as ctl:
        ctl.start()
        assert wait_until(lambda: len(ctl.steps) > 2)
        original = backend.command

        def broken(command):
            raise ConnectionError("cable pulled")

        backend.command = broken
        assert wait_until(lambda: ctl.state == "fault")
        backend.command = original
        assert any(e.kind == "fault" for e in ctl.safety.log.events())
        assert backend.calls[-1][0] == "stop"
