"""Evaluation in simulation: roll a trained policy out on seeded scenes and report success (paper Fig. 6).

Protocol: ``positions`` object placements (scene seeds ``seed``, ``seed + 1``, ...; each seed fixes where
``lad_core.sim`` puts the object and the container) are each tried ``trials`` times with a different sampling seed
of the policy (DDIM noise), so episode i runs placement ``i % positions``, trial ``i // positions``. The result holds
the overall success rate and, as in the paper's Fig. 6, the mean and standard deviation over placements of each
placement's success rate.

An episode ends at the task's success check (object resting inside the container, untouched) or after ``max_ticks``
control ticks; torch runs on the checkpoint's ``run.num_threads`` meanwhile. Observations come from :class:`lad_core.sim.env.SimObservation` by name: low-dim keys ``arm_pose``,
``arm_joints``, ``ee_joints``, ``object_pose``, ``target_position``, and cameras ``external``/``wrist`` rendered at
the policy's image size. Every check (embodiment, observation keys, cameras, latent decoder) runs before the first
rollout. :func:`iter_evaluate` is a generator worker (one :class:`EpisodeOutcome` per episode, stops between
episodes when ``cancel.is_set()``); :func:`evaluate` collects an :class:`EvalResult`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

from lad_core.errors import ConfigError, InputError
from lad_core.policy.checkpoint import LoadedPolicy
from lad_core.policy.latent import LatentCodec

SIM_LOWDIM = ("arm_pose", "arm_joints", "ee_joints", "object_pose", "target_position")
SIM_CAMERAS = ("external", "wrist")


@dataclass
class EpisodeOutcome:
    index: int
    position: int  # placement index
    scene_seed: int
    trial: int
    success: bool
    ticks: int
    object_xy: tuple[float, float]  # where the scene put the object (robot base frame, m)
    arm_path_m: float  # distance the wrist travelled (m)
    seconds: float


@dataclass
class EvalResult:
    task: str
    embodiment: str
    episodes: int
    positions: int
    success_rate: float
    position_mean: float  # mean over placements of the per-placement success rate
    position_std: float  # population std over placements
    per_position: list[dict] = field(default_factory=list)
    outcomes: list[EpisodeOutcome] = field(default_factory=list)
    max_ticks: int = 0
    seconds: float = 0.0
    checkpoint: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _policy_needs(loaded: LoadedPolicy) -> tuple[list[str], list[str]]:
    cfg = loaded.config.policy
    return list(cfg.observation.lowdim_keys(cfg.action.arm_dim)), [c.name for c in cfg.observation.cameras]


def check_evaluable(loaded: LoadedPolicy, embodiment: str, codec: LatentCodec | None) -> None:
    """Everything the rollout needs, checked before the simulator starts."""
    if embodiment not in loaded.normalizer.action:
        raise InputError(f"the policy was trained on {sorted(loaded.normalizer.action)}, not '{embodiment}'")
    cue = loaded.config.policy.observation.embodiment_cue
    if cue and embodiment not in cue:
        raise InputError(f"the policy's embodiment cue covers {list(cue)}, not '{embodiment}'")
    lowdim, cameras = _policy_needs(loaded)
    unknown = [k for k in lowdim if k not in SIM_LOWDIM]
    if unknown:
        raise InputError(f"the policy observes {unknown}, which the simulator does not provide (it has "
                         f"{list(SIM_LOWDIM)}); train on recorded sim episodes to evaluate in sim")
    bad = [c for c in cameras if c not in SIM_CAMERAS]
    if bad:
        raise InputError(f"the policy uses camera(s) {bad}; the simulator renders {list(SIM_CAMERAS)}")
    if loaded.config.policy.action.end_effector == "latent":
        if codec is None:
            raise InputError("a latent policy needs the latent model (its decoder for the target embodiment)")
        codec.decoder(embodiment)
        if codec.latent_dim != loaded.config.policy.action.end_effector_dim:
            raise ConfigError(f"{codec.name} has latent_dim={codec.latent_dim}, the policy was trained with "
                              f"{loaded.config.policy.action.end_effector_dim}", field="latent")
        if loaded.config.policy.action.latent_basis is not None and loaded.latent_basis is None:
            raise InputError("the policy predicts coordinates in a latent basis, but none was loaded with it")


def codec_for(loaded: LoadedPolicy, latent_path: str | None = None) -> LatentCodec | None:
    """The latent model a checkpoint was trained with: ``latent_path`` when given, else the training config's
    (the linear stand-in is rebuilt from its seed and the end-effector sizes saved in the checkpoint). None for an
    explicit policy."""
    from lad_core.policy.latent import LinearCodec, load_latent_codec

    cfg = loaded.config
    if cfg.policy.action.end_effector != "latent":
        return None
    if latent_path is not None:
        return load_latent_codec(latent_path)
    lat = cfg.latent
    if lat is None:
        raise InputError("the checkpoint names no latent model; pass one (--latent)")
    if lat.kind == "linear":
        dims = loaded.meta.get("end_effector_dims")
        if not dims:
            raise InputError("the checkpoint predates saved end-effector sizes; cannot rebuild its linear latent "
                             "stand-in")
        return LinearCodec(dims, lat.dim, seed=lat.seed)
    return load_latent_codec(lat.path)


def _frame(obs, lowdim: list[str], cameras: list[str]) -> dict[str, np.ndarray]:
    frame = {k: np.asarray(getattr(obs, k), dtype=np.float32) for k in lowdim}
    frame["arm_pose"] = np.asarray(obs.arm_pose, dtype=np.float32)  # the runner needs it for absolute targets
    for cam in cameras:
        frame[f"images/{cam}"] = obs.images[cam]
    return frame


def iter_evaluate(loaded: LoadedPolicy, *, task: str, embodiment: str, episodes: int, positions: int | None = None,
                  codec: LatentCodec | None = None, max_ticks: int = 220, seed: int = 0,
                  num_inference_steps: int | None = None, cancel=None) -> Iterator[EpisodeOutcome]:
    if not isinstance(episodes, int) or episodes < 1:
        raise ConfigError(f"must be a positive integer, got {episodes!r}", field="episodes")
    positions = min(episodes, 10) if positions is None else positions
    if not isinstance(positions, int) or not 1 <= positions <= episodes:
        raise ConfigError(f"must be between 1 and episodes={episodes}, got {positions!r}", field="positions")
    if max_ticks < 1:
        raise ConfigError(f"must be positive, got {max_ticks}", field="max_ticks")
    check_evaluable(loaded, embodiment, codec)
    import torch

    # torch on the thread count the policy was trained with (run.num_threads): on a shared CPU, more threads than
    # free cores make every chunk several times slower
    threads_before = torch.get_num_threads()
    torch.set_num_threads(loaded.config.run.num_threads)
    try:
        yield from _rollouts(loaded, task=task, embodiment=embodiment, episodes=episodes, positions=positions,
                             codec=codec, max_ticks=max_ticks, seed=seed, num_inference_steps=num_inference_steps,
                             cancel=cancel)
    finally:
        torch.set_num_threads(threads_before)


def _rollouts(loaded: LoadedPolicy, *, task: str, embodiment: str, episodes: int, positions: int,
              codec: LatentCodec | None, max_ticks: int, seed: int, num_inference_steps: int | None,
              cancel) -> Iterator[EpisodeOutcome]:
    from lad_core.policy.rollout import PolicyRunner
    from lad_core.sim.env import SimConfig, SimEnv

    lowdim, cameras = _policy_needs(loaded)
    obs_cfg = loaded.config.policy.observation
    sim_cfg = SimConfig(embodiment, task=task, cameras=tuple(cameras), image_size=tuple(obs_cfg.image_size))
    with SimEnv(sim_cfg) as env:
        for i in range(episodes):
            if cancel is not None and cancel.is_set():
                return
            position, trial = i % positions, i // positions
            scene_seed = seed + position
            t0 = time.perf_counter()
            obs = env.reset(scene_seed)
            object_xy = tuple(float(v) for v in env.task.layout.object_xy)
            runner = PolicyRunner(loaded, embodiment, codec, seed=seed * 1000 + trial,
                                  num_inference_steps=num_inference_steps)
            success, ticks, path = False, 0, 0.0
            while ticks < max_ticks:
                before = obs.arm_pose[:3]
                step = runner.step(_frame(obs, lowdim, cameras))
                obs = env.step(step.arm_target.astype(np.float64), step.end_effector.astype(np.float64),
                               render=bool(cameras))
                ticks += 1
                path += float(np.linalg.norm(obs.arm_pose[:3] - before))
                if env.success():
                    success = True
                    break
            yield EpisodeOutcome(i, position, scene_seed, trial, success, ticks, object_xy, path,
                                 time.perf_counter() - t0)


def summarize(outcomes: list[EpisodeOutcome], *, task: str, embodiment: str, max_ticks: int,
              seconds: float = 0.0, checkpoint: str = "") -> EvalResult:
    if not outcomes:
        raise InputError("no evaluation episodes ran")
    by_pos: dict[int, list[EpisodeOutcome]] = {}
    for o in outcomes:
        by_pos.setdefault(o.position, []).append(o)
    per_position = []
    for pos in sorted(by_pos):
        group = by_pos[pos]
        wins = sum(o.success for o in group)
        per_position.append({"position": pos, "scene_seed": group[0].scene_seed, "object_xy": list(group[0].object_xy),
                             "successes": wins, "trials": len(group), "success_rate": wins / len(group)})
    rates = np.array([p["success_rate"] for p in per_position])
    return EvalResult(task, embodiment, len(outcomes), len(per_position),
                      float(np.mean([o.success for o in outcomes])), float(rates.mean()), float(rates.std()),
                      per_position, list(outcomes), max_ticks, seconds, checkpoint)


def evaluate(loaded: LoadedPolicy, *, task: str, embodiment: str, episodes: int, checkpoint: str = "",
             progress: bool = False, **kwargs) -> EvalResult:
    """Run :func:`iter_evaluate` to the end (optionally with a tqdm bar) and summarize."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    outcomes = []
    with tqdm(total=episodes, disable=not progress, desc=f"eval {embodiment} {task}", unit="episode") as bar:
        for outcome in iter_evaluate(loaded, task=task, embodiment=embodiment, episodes=episodes, **kwargs):
            outcomes.append(outcome)
            bar.update(1)
            bar.set_postfix(success=f"{np.mean([o.success for o in outcomes]):.0%}")
    return summarize(outcomes, task=task, embodiment=embodiment, max_ticks=kwargs.get("max_ticks", 220),
                     seconds=time.perf_counter() - t0, checkpoint=checkpoint)
