"""Helper process for the deadman test: connects as controller and streams a sweep at 50 Hz until killed."""

import sys
import time

import numpy as np

from lad_core.robots.base import RobotCommand
from lad_core.robots.remote import RemoteBackend

backend = RemoteBackend(sys.argv[1], client_name="stream-client")
backend.connect()
n = backend.info.n_joints
print("STREAMING", flush=True)
t0 = time.monotonic()
while time.monotonic() - t0 < 30.0:  # bounded even if nobody kills us
    t = time.monotonic() - t0
    backend.command(RobotCommand([0.2 * np.sin(3 * t), 0.2 * np.cos(3 * t), 0.4], [0, 0, 0, 1], np.full(n, np.sin(t))))
    time.sleep(0.02)
