from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from lad_core.robots.factory import generic_robot_info
from lad_core.robots.kinematic import FakeKinematicBackend
from lad_core.robots.server import RobotServer


@pytest.fixture
def server():
    """A robot server on a free loopback port, serving the fake kinematic robot from a thread."""
    srv = RobotServer(FakeKinematicBackend(generic_robot_info(3)), endpoint="tcp://127.0.0.1:*")
    srv.bind()
    thread = threading.Thread(target=srv.serve, kwargs={"max_seconds": 60}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    thread.join(5)


@pytest.fixture
def server_process():
    """`lad robot-server` as a real process on a free port: yields (process, endpoint)."""
    proc = subprocess.Popen([sys.executable, "-m", "lad_core.cli.robot", "--n-joints", "3", "--port", "0",
                             "--max-seconds", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"robot server did not start: {line!r} {proc.stderr.read()}")
        yield proc, line.split()[1]
    finally:
        proc.terminate()
        proc.wait(5)
