"""The training loop: co-trained batches, EMA, cosine LR with warm-up, checkpoints, resume, metrics, DDP.

``iter_train`` is a generator worker: it validates everything (datasets non-empty, every embodiment known to the
latent model, a resumed checkpoint fits the config) *before* the first step, then yields a :class:`TrainProgress`
per step and stops between steps when ``cancel`` (anything with ``is_set()``) is set. ``train`` drives it with a tqdm
bar. Under ``torchrun`` (``WORLD_SIZE`` > 1) the same entry point initializes the process group (gloo on CPU, nccl
on CUDA), wraps the policy in DistributedDataParallel, shards every dataset with a DistributedSampler, and only rank 0
writes checkpoints and metrics (``metrics.jsonl`` + TensorBoard events in the output folder).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lad_core.errors import ConfigError, InputError
from lad_core.policy.checkpoint import (check_compatible, latest_checkpoint, read_checkpoint_meta, save_checkpoint)
from lad_core.policy.dataset import Episode, WindowDataset
from lad_core.ema import EmaWeights
from lad_core.policy.diffusion import make_lr_scheduler, make_optimizer
from lad_core.policy.latent import LatentBasis, LatentCodec, LinearCodec, load_latent_codec
from lad_core.policy.processing import Normalizer, Stats
from lad_core.policy.sampling import CoTrainingBatcher, CoTrainingSampler, action_chunk
from lad_core.policy.train_config import TrainConfig

log = logging.getLogger(__name__)


@dataclass
class TrainProgress:
    step: int
    total_steps: int
    loss: float
    lr: float
    samples_per_s: float
    checkpoint: Path | None = None
    policy: object = None  # the (unwrapped) policy being trained, for inspection between steps


@dataclass
class TrainResult:
    step: int
    losses: list[float]
    checkpoint: Path | None


# ------------------------------------------------------------------------------------------------ setup pieces


def load_episodes(config: TrainConfig) -> dict[str, list[Episode]]:
    """The episodes of every dataset in the config (synthetic or an HDF5 folder)."""
    from lad_core.policy.sources import recorded_episodes, synthetic_episodes

    obs = config.policy.observation
    out = {}
    for d in config.datasets:
        if d.synthetic is not None:
            s = d.synthetic
            out[d.name] = synthetic_episodes(d.embodiment, num_episodes=s.episodes, length=s.length,
                                             end_effector_dim=s.end_effector_dim, seed=s.seed,
                                             cameras=[c.name for c in obs.cameras if not c.optional],
                                             image_size=tuple(obs.image_size))
        else:
            out[d.name] = recorded_episodes(d.path)
    return out


def build_datasets(config: TrainConfig, episodes: Mapping[str, Sequence[Episode]]) -> list[WindowDataset]:
    p = config.policy
    datasets = []
    for d in config.datasets:
        if d.name not in episodes:
            raise InputError(f"no episodes given for dataset '{d.name}'")
        ds = WindowDataset(episodes[d.name], name=d.name, observation=p.observation, arm_dim=p.action.arm_dim,
                           arm_mode=p.action.arm_mode, n_obs_steps=p.n_obs_steps, horizon=p.horizon)
        if ds.embodiment != d.embodiment:
            raise InputError(f"dataset '{d.name}': its episodes are of embodiment '{ds.embodiment}', the config says "
                             f"'{d.embodiment}'")
        datasets.append(ds)
    return datasets


def build_codec(config: TrainConfig, datasets: Sequence[WindowDataset]) -> LatentCodec | None:
    lat = config.latent
    if config.policy.action.end_effector != "latent" or lat is None:
        return None
    if lat.kind == "linear":
        dims = {ds.embodiment: ds.end_effector_dim for ds in datasets}
        return LinearCodec(dims, lat.dim, seed=lat.seed)
    return load_latent_codec(lat.path)


def check_codec(config: TrainConfig, datasets: Sequence[WindowDataset], codec: LatentCodec | None) -> None:
    """Every dataset's embodiment must be known to the latent model, whose latent size must match the policy."""
    act = config.policy.action
    if act.end_effector == "explicit":
        for ds in datasets:
            if ds.end_effector_dim != act.end_effector_dim:
                raise ConfigError(f"dataset '{ds.name}' has {ds.end_effector_dim}-D end-effector actions, the policy "
                                  f"expects {act.end_effector_dim}", field="policy.action.end_effector_dim")
        return
    if codec is None:
        raise ConfigError("latent end-effector actions need a latent model", field="latent")
    for ds in datasets:
        if ds.embodiment not in codec.embodiments:
            raise ConfigError(f"dataset '{ds.name}' is of embodiment '{ds.embodiment}', which {codec.name} lacks "
                              f"(it knows {codec.embodiments})", field="datasets.embodiment")
    if codec.latent_dim != act.end_effector_dim:
        raise ConfigError(f"{codec.name} has latent_dim={codec.latent_dim}, the policy expects "
                          f"{act.end_effector_dim}", field="policy.action.end_effector_dim")
    if act.project_latent and not codec.unit_norm:
        raise ConfigError(f"{codec.name} does not output unit-norm latents, so its latents cannot be projected onto "
                          f"the unit sphere", field="policy.action.project_latent")


def check_embodiment_cue(config: TrainConfig, datasets: Sequence[WindowDataset]) -> None:
    """With an embodiment cue, every dataset's embodiment needs its slot in the one-hot."""
    cue = config.policy.observation.embodiment_cue
    if not cue:
        return
    for ds in datasets:
        if ds.embodiment not in cue:
            raise ConfigError(f"dataset '{ds.name}' is of embodiment '{ds.embodiment}', which the embodiment cue "
                              f"{list(cue)} lacks", field="policy.observation.embodiment_cue")


def fit_latent_basis(config: TrainConfig, datasets: Sequence[WindowDataset], codec: LatentCodec) -> LatentBasis:
    """The ``action.latent_basis`` of the encoded end-effector commands of every dataset together (one basis for
    the shared latent space), with the variance it keeps per embodiment."""
    spec = config.policy.action.latent_basis
    latents: dict[str, list[torch.Tensor]] = {}
    for ds in datasets:
        latents.setdefault(ds.embodiment, []).append(codec.encode(ds.embodiment,
                                                                  torch.from_numpy(ds.end_effector_frames)))
    basis = LatentBasis.fit_pca({e: torch.cat(z) for e, z in latents.items()}, spec.dims)
    log.info("latent basis: %s", basis.describe())
    return basis


def fit_normalizer(config: TrainConfig, datasets: Sequence[WindowDataset], codec: LatentCodec | None) -> Normalizer:
    """Observation statistics over all datasets; action statistics per embodiment (arm over windows, end-effector
    part over frames encoded to the latent space: identical min/max, frame-weighted mean/std)."""
    obs_batches: dict[str, list[np.ndarray]] = {}
    by_emb: dict[str, list[WindowDataset]] = {}
    for ds in datasets:
        by_emb.setdefault(ds.embodiment, []).append(ds)
    arm_stats = {}
    for emb, group in by_emb.items():
        arms = []
        for ds in group:
            for batch in ds.iter_batches():
                for key, value in batch["obs"].items():
                    if not key.startswith("images/"):
                        obs_batches.setdefault(key, []).append(value)
                arms.append(batch["arm"])
        arm_stats[emb] = Stats.from_batches(arms)
    action = {}
    for emb, group in by_emb.items():
        frames = [torch.from_numpy(ds.end_effector_frames) for ds in group]
        ee = [codec.encode(emb, f).numpy() if codec is not None else f.numpy() for f in frames]
        action[emb] = Stats.concat([arm_stats[emb], Stats.from_batches(ee)])
    obs = {k: Stats.from_batches(v) for k, v in obs_batches.items()}
    p = config.policy
    joint = p.action.arm_dim if p.action.end_effector == "latent" and p.action.latent_normalization == "joint" else None
    return Normalizer(obs, action, obs_mode=p.observation.normalization, action_mode=p.action.normalization,
                      action_joint_from=joint)


# ------------------------------------------------------------------------------------------------ distributed


def _setup_distributed(device: str) -> tuple[int, int, bool]:
    """(rank, world_size, initialized_here) from torchrun's environment."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), False
    if world <= 1:
        return 0, 1, False
    dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return dist.get_rank(), dist.get_world_size(), True


# ------------------------------------------------------------------------------------------------ the loop


def iter_train(config: TrainConfig, out_dir: str | Path, *, episodes: Mapping[str, Sequence[Episode]] | None = None,
               codec: LatentCodec | None = None, resume: bool | str | Path = False,
               cancel=None) -> Iterator[TrainProgress]:
    """Train ``config``'s policy, writing checkpoints and metrics under ``out_dir``.

    ``episodes`` (dataset name -> episodes) and ``codec`` override what the config would load. ``resume``: True
    continues from ``out_dir``'s latest checkpoint (if any), a path from that checkpoint.
    """
    from lad_core.policy.factory import make_policy

    run = config.run
    out_dir = Path(out_dir)
    torch.set_num_threads(run.num_threads)
    rank, world, own_group = _setup_distributed(run.device)
    device = torch.device(run.device if not run.device.startswith("cuda") or world == 1
                          else f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}")
    try:
        # ---- everything that can be wrong is checked before the first step
        datasets = build_datasets(config, episodes if episodes is not None else load_episodes(config))
        codec = codec if codec is not None else build_codec(config, datasets)
        check_codec(config, datasets, codec)
        check_embodiment_cue(config, datasets)
        ckpt_dir = out_dir / "checkpoints"
        resume_from = None
        if resume:
            resume_from = latest_checkpoint(ckpt_dir) if resume is True else Path(resume)
        meta = None
        if resume_from is not None:
            meta = read_checkpoint_meta(resume_from)
            check_compatible(meta, config, resume_from / "config.json")
            normalizer = Normalizer.load(resume_from / "stats.safetensors")
            lacking = sorted({ds.embodiment for ds in datasets} - set(normalizer.action))
            if lacking:
                raise ConfigError(f"the checkpoint has no statistics for embodiments {lacking}",
                                  source=resume_from, field="datasets.embodiment")
        basis = None
        if config.policy.action.latent_basis is not None:
            basis = (LatentBasis.load(resume_from / LatentBasis.FILE) if resume_from is not None
                     else fit_latent_basis(config, datasets, codec))
        # what the policy predicts: the latent, or its coordinates in the basis
        action_codec = basis.reduce(codec) if basis is not None else codec
        if resume_from is None:
            normalizer = fit_normalizer(config, datasets, action_codec)

        torch.manual_seed(run.seed + rank)
        policy = make_policy(config.policy_type, config.policy).to(device)
        model = policy
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel

            model = DistributedDataParallel(policy, device_ids=[device.index] if device.type == "cuda" else None)
        o = config.optim
        optimizer = make_optimizer(o.name, policy.parameters(), o.lr, o.weight_decay, tuple(o.betas))
        lr_sched = make_lr_scheduler(optimizer, o.warmup_steps, run.steps)
        ema = EmaWeights(policy, config.ema.max_decay, config.ema.power) if config.ema.enabled else None
        sampler = CoTrainingSampler([len(ds) for ds in datasets], [d.weight for d in config.datasets],
                                    run.batch_size, seed=run.seed, rank=rank, world_size=world)
        batcher = CoTrainingBatcher(datasets, sampler, normalizer, action_codec,
                                    embodiment_cue=config.policy.observation.embodiment_cue)
        step = 0
        if resume_from is not None:
            step = _restore(resume_from, meta, policy, optimizer, lr_sched, ema, sampler, rank, run.seed)
        ckpt_meta = {"embodiments": sorted({ds.embodiment for ds in datasets}),
                     "datasets": {ds.name: {"embodiment": ds.embodiment, "windows": len(ds)} for ds in datasets},
                     "end_effector_dims": {ds.embodiment: ds.end_effector_dim for ds in datasets},
                     "latent": None if codec is None else {"name": codec.name, "latent_dim": codec.latent_dim,
                                                           "embodiments": codec.embodiments},
                     "num_parameters": policy.num_parameters()}
        if basis is not None:
            ckpt_meta["latent_basis"] = basis.describe()

        writer = metrics = None
        if rank == 0:
            out_dir.mkdir(parents=True, exist_ok=True)
            metrics = open(out_dir / "metrics.jsonl", "a")
            if run.tensorboard:
                from torch.utils.tensorboard import SummaryWriter

                writer = SummaryWriter(str(out_dir / "tensorboard"))

        def checkpoint(at: int) -> Path | None:
            if rank != 0:
                return None
            extra = {"step": at, "sampler": sampler.state_dict(),
                     "ema_step": ema.optimization_step if ema else None}
            return save_checkpoint(ckpt_dir / f"step_{at:07d}", config=config, step=at,
                                   model_state=policy.state_dict(), ema_state=ema.state_dict() if ema else None,
                                   normalizer=normalizer, meta=ckpt_meta, optimizer=optimizer,
                                   lr_scheduler=lr_sched, extra_state=extra, latent_basis=basis)

        policy.train()
        t_last, n_last = time.perf_counter(), 0
        try:
            while step < run.steps:
                if cancel is not None and cancel.is_set():
                    checkpoint(step)
                    return
                batch = batcher()
                batch = {"obs": {k: v.to(device) for k, v in batch["obs"].items()},
                         "action": batch["action"].to(device)}
                loss, _info = model(batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if o.grad_clip:
                    torch.nn.utils.clip_grad_norm_(policy.parameters(), o.grad_clip)
                optimizer.step()
                lr_sched.step()
                if ema is not None:
                    ema.step(policy)
                step += 1
                n_last += run.batch_size
                loss_value = float(loss.detach())
                lr = lr_sched.get_last_lr()[0]
                elapsed = time.perf_counter() - t_last
                rate = n_last * world / elapsed if elapsed > 0 else 0.0
                if rank == 0 and (step % run.log_every == 0 or step == run.steps):
                    row = {"step": step, "loss": loss_value, "lr": lr, "samples_per_s": rate, "time": time.time()}
                    metrics.write(json.dumps(row) + "\n")
                    metrics.flush()
                    if writer is not None:
                        writer.add_scalar("train/loss", loss_value, step)
                        writer.add_scalar("train/lr", lr, step)
                        writer.add_scalar("train/samples_per_s", rate, step)
                    t_last, n_last = time.perf_counter(), 0
                saved = None
                if step % run.checkpoint_every == 0 or step == run.steps:
                    saved = checkpoint(step)
                yield TrainProgress(step, run.steps, loss_value, lr, rate, saved, policy)
        finally:
            if metrics is not None:
                metrics.close()
            if writer is not None:
                writer.close()
    finally:
        if own_group:
            import torch.distributed as dist

            dist.destroy_process_group()


def _restore(folder: Path, meta: dict, policy, optimizer, lr_sched, ema, sampler, rank: int, seed: int) -> int:
    from safetensors.torch import load_file

    from lad_core.policy.checkpoint import _optimizer_from_data

    policy.load_state_dict(load_file(str(folder / "model.safetensors")))
    state_path = folder / "train_state.json"
    if not state_path.is_file():
        raise InputError(f"{folder}: cannot resume, train_state.json is missing (an inference-only checkpoint?)")
    state = json.loads(state_path.read_text())
    tensors = load_file(str(folder / "train_state.safetensors"))
    optimizer.load_state_dict(_optimizer_from_data(tensors, state["optimizer"]))
    if state.get("lr_scheduler"):
        lr_sched.load_state_dict(state["lr_scheduler"])
    if ema is not None:
        ema_file = folder / "ema.safetensors"
        if not ema_file.is_file():
            raise InputError(f"{folder}: cannot resume with EMA, ema.safetensors is missing")
        ema.load_state_dict(load_file(str(ema_file)), int(state.get("ema_step") or 0))
    sampler.load_state_dict(state["sampler"])
    step = int(state["step"])
    if rank == 0:
        torch.set_rng_state(tensors["rng/torch"])
    else:  # rank 0 alone checkpoints; other ranks reseed deterministically
        torch.manual_seed(seed + rank + 1_000_003 * step)
    return step


def train(config: TrainConfig, out_dir: str | Path, *, progress: bool = True, **kwargs) -> TrainResult:
    """Run :func:`iter_train` to the end with a progress bar (rank 0); returns the losses and the last checkpoint."""
    from tqdm import tqdm

    show = progress and int(os.environ.get("RANK", "0")) == 0
    losses, last, step = [], None, 0
    with tqdm(total=config.run.steps, disable=not show, desc="policy train", unit="step") as bar:
        for p in iter_train(config, out_dir, **kwargs):
            if bar.n == 0 and p.step > 1:
                bar.update(p.step - 1)
            bar.update(1)
            bar.set_postfix(loss=f"{p.loss:.4f}", lr=f"{p.lr:.2e}")
            losses.append(p.loss)
            step = p.step
            last = p.checkpoint or last
    return TrainResult(step, losses, last)


__all__ = ["TrainProgress", "TrainResult", "iter_train", "train", "build_datasets", "fit_normalizer",
           "fit_latent_basis", "check_codec", "check_embodiment_cue", "load_episodes", "action_chunk"]
