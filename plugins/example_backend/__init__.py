"""Example robot backend plugin: the shape a hardware driver takes.

A driver package implements ``lad_core.robots.base.RobotBackend`` and exposes a factory taking a
``BackendConfig``; it registers the factory in its own ``pyproject.toml``::

    [project.entry-points."lad.robot_backends"]
    my_robot = "my_driver.backend:create"

after which ``lad robot-server --backend my_robot`` serves it and ``lad plugins`` lists it. This example is
registered as ``example``: ``lad robot-server --backend example --embodiment gripper``.
"""

from plugins.example_backend.backend import EchoDeviceBackend, create

__all__ = ["EchoDeviceBackend", "create"]
