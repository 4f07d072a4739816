"""Building a supervised rollout without Qt: the robot backend from a spec string, the command source from a policy
checkpoint or a recorded episode, and the controller with the safety layer. ``lad rollout`` and the studio's rollout
console use the same functions.

Backend specs: ``kinematic`` (fake, no physics), ``sim`` (pybullet; ``options['seed']`` + episode picks the scene;
``options['process']=True`` steps it in a child process: ``lad_core.robots.sim_process``, the studio's choice),
``remote:ENDPOINT`` (a ``lad robot-server``), or any name in the ``lad.robot_backends`` entry points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def make_backend(spec: str, embodiment: str, task: str, options: dict[str, Any], episode: int = 0):
    """The robot backend named by ``spec`` (see --backend)."""
    from lad_core.robots import factory

    if spec.startswith("remote:"):
        from lad_core.robots.remote import RemoteBackend

        return RemoteBackend(spec.partition(":")[2], client_name="lad rollout")
    info = factory.robot_info_for_embodiment(embodiment)
    options = dict(options)
    if spec == "sim":
        options["seed"] = int(options.get("seed", 0)) + episode
        if options.pop("process", False):
            from lad_core.robots.sim_process import SimProcessBackend

            return SimProcessBackend(info, task=task, options=options)
    return factory.create_backend(spec, info, sim_task=task, **options)


def make_source(checkpoint: str | Path, embodiment: str, n_joints: int, *, available: dict[str, Any] | None = None,
                latent: str | Path | None = None, seed: int = 0, num_inference_steps: int | None = None):
    """A ``PolicySource`` for a policy checkpoint folder, a ``ReplaySource`` for a recorded episode file."""
    from lad_core.errors import InputError

    path = Path(checkpoint)
    if path.is_file() and path.suffix in (".h5", ".hdf5"):
        return replay_source_from_episode(path, n_joints)
    if not path.is_dir():
        raise InputError(f"{path}: no such checkpoint folder or episode file")
    from lad_core.rollout.policy_source import PolicySource, load_chunk_policy

    policy = load_chunk_policy(path, embodiment, latent=latent, seed=seed, num_inference_steps=num_inference_steps,
                               available_keys=available)
    return PolicySource(policy, n_joints, name=f"policy {path.name}")


def replay_source_from_episode(path: Path, n_joints: int, chunk_size: int = 8):
    """Replay the commanded absolute wrist poses and end-effector joints of a recorded episode."""
    import numpy as np
    from scipy.spatial.transform import Rotation

    from lad_core.episodes import read_episode
    from lad_core.errors import InputError
    from lad_core.rollout import ReplaySource

    data = read_episode(path)
    arm_action = data.info.extra.get("arm_action", "absolute_pose")
    if arm_action != "absolute_pose" or data.arm.shape[1] != 6:
        raise InputError(f"{path}: only episodes with absolute wrist-pose actions (6) replay on a robot; this one "
                         f"has arm_action={arm_action!r}, arm_dim={data.arm.shape[1]}")
    if data.end_effector.shape[1] != n_joints:
        raise InputError(f"{path}: the episode has {data.end_effector.shape[1]} end-effector values, the robot "
                         f"{n_joints}")
    quats = Rotation.from_rotvec(np.asarray(data.arm[:, 3:], float)).as_quat()
    return ReplaySource.from_arrays(data.arm[:, :3], quats, data.end_effector, chunk_size=chunk_size,
                                    name=f"replay {path.name}")


def make_controller(backend, source, rate: float, source_timeout: float):
    from lad_core.rollout import RolloutController
    from lad_core.safety.layer import SafetyLayer
    from lad_core.safety.limits import SafetyLimits

    if rate <= 0 or source_timeout <= 0:
        from lad_core.errors import ConfigError

        raise ConfigError("must be positive", field="--rate/--source-timeout")
    safety = SafetyLayer(SafetyLimits.for_robot(backend.info))
    return RolloutController(backend, source, safety, rate_hz=rate, source_timeout_s=source_timeout)


def sim_success(backend) -> bool | None:
    """The simulator's own success check, when the backend is a simulation (in-process or in a child process)."""
    if callable(getattr(backend, "success", None)):
        try:
            return bool(backend.success())
        except Exception:
            return None
    env = getattr(backend, "env", None)
    check = getattr(env, "success", None)
    try:
        return bool(check()) if callable(check) else None
    except Exception:
        return None
