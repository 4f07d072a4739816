"""Two-stage training of the latent action model (paper Sec. 3.2, Eq. 4-6), resumable, as a generator of progress.

Stage 1 trains the encoders with the pairwise InfoNCE loss; the temperature decays exponentially from
``temperature.start`` to ``temperature.end`` over stage 1 (per step) and stays at ``end`` in stage 2. Stage 2 trains
the decoders with L_total = L_recon + lambda * L_contrastive, fine-tuning the encoders at ``lr * encoder_lr_scale``
(or keeping them frozen when ``finetune_encoders`` is false). ``cross_weight`` > 0 adds a term the paper does not
have: each decoder also reconstructs its modality from another modality's latent (see docs/latent.md); with
``ema_decay`` > 0 the validated and saved model is a moving average of the stage-2 weights. L_recon is the mean over modalities of the MSE in
normalized units (Eq. 5 up to a constant factor per modality, so that a 189-d human pose and a 1-d width weigh the
same).

Output folder::

    metrics.jsonl        one JSON line per epoch: stage, epoch, step, temperature, train losses, val SR/CR losses
    tb/                  TensorBoard event files (the same scalars)
    last/                resumable checkpoint: the model + train_state.safetensors/.json (optimizer, stage, epoch)
    model/               the final model (LatentActionModel.load(out / "model")) with final validation metrics

``iter_training`` yields a :class:`TrainProgress` per epoch and honours ``cancel()`` between epochs (the state is
saved first, so a later call resumes); ``train`` runs it to the end.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from lad_core.ema import EmaWeights
from lad_core.errors import ConfigError, InputError
from lad_core.latent.configuration import LatentConfig, StageConfig
from lad_core.latent.fingertip_terms import FingertipTerms
from lad_core.latent.modeling import LatentActionModel, info_nce

log = logging.getLogger(__name__)
STATE_JSON, STATE_TENSORS = "train_state.json", "train_state.safetensors"


@dataclass
class TrainProgress:
    stage: int
    epoch: int  # 0-based index of the epoch just finished within its stage
    epochs: int  # epochs of this stage
    step: int  # global optimizer step
    temperature: float
    train: dict  # mean losses of the epoch
    val: dict | None  # validation summary when evaluated this epoch
    seconds: float


@dataclass
class TrainResult:
    model: LatentActionModel
    out_dir: Path
    metrics: dict  # final validation metrics (metrics.evaluate)
    seconds: float
    history: list[dict] = field(default_factory=list)


@dataclass
class _Split:
    train: dict[str, torch.Tensor]  # normalized
    val_raw: dict[str, np.ndarray]
    provenance: dict


def _prepare(config: LatentConfig, model: LatentActionModel, data=None) -> _Split:
    from lad_core.latent.pairs import PairedData, load_pairs, validate_pairs

    mods = config.model.modalities
    if data is None:
        pairs = load_pairs(config.pairs_path(), mods)
    elif isinstance(data, PairedData):
        validate_pairs(data.data, str(data.path or "pairs"), mods)
        pairs = data
    else:
        validate_pairs(data, "pairs", mods)
        pairs = PairedData({m: np.asarray(data[m], np.float32) for m in mods}, {})
    n = len(pairs)
    order = np.random.default_rng(config.run.seed).permutation(n)
    if config.data.max_tuples:
        order = order[: config.data.max_tuples]
    n_val = max(1, int(round(len(order) * config.data.val_fraction)))
    if len(order) - n_val < 2:
        raise InputError(f"{pairs.path or 'pairs'}: {n} tuples are too few to train (need at least {n_val + 2})")
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    train_raw = {m: torch.as_tensor(pairs.data[m][train_idx], dtype=torch.float32) for m in mods}
    model.fit_normalization(train_raw)
    train = {m: model.normalizers[m].normalize(v) for m, v in train_raw.items()}
    val_raw = {m: pairs.data[m][val_idx] for m in mods}
    prov = {"pairs": str(pairs.path) if pairs.path else None, "source": pairs.attrs.get("source"),
            "scales": pairs.attrs.get("scales"), "retarget": pairs.attrs.get("retarget"), "n_train": len(train_idx), "n_val": len(val_idx)}
    return _Split(train, val_raw, prov)


def _optimizer(kind: str, groups, lr: float, weight_decay: float):
    cls = torch.optim.AdamW if kind == "adamw" else torch.optim.Adam
    return cls(groups, lr=lr, weight_decay=weight_decay)


def _stage2_optimizer(config: LatentConfig, model: LatentActionModel):
    s2 = config.stage2
    groups = [{"params": list(model.decoders.parameters()), "lr": s2.lr}]
    if s2.finetune_encoders:
        groups.append({"params": list(model.encoders.parameters()), "lr": s2.lr * s2.encoder_lr_scale})
    return _optimizer(s2.optimizer, groups, s2.lr, s2.weight_decay)


# ---------------------------------------------------------------------------------------------- train state
def _save_state(path: Path, model, opt, stage: int, next_epoch: int, step: int, config: LatentConfig, split,
                ema: EmaWeights | None = None) -> None:
    from safetensors.torch import save_file

    model.save(path, {"config": config.to_mapping(), "provenance": split.provenance})
    tensors, plain = {}, {"param_groups": opt.state_dict()["param_groups"], "state": {}}
    for idx, st in opt.state_dict()["state"].items():
        plain["state"][str(idx)] = {}
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"{idx}.{k}"] = v.detach().cpu().contiguous()
            else:
                plain["state"][str(idx)][k] = v
    if ema is not None:
        tensors.update({f"ema/{k}": v for k, v in ema.state_dict().items()})
        plain["ema_updates"] = ema.optimization_step
    save_file(tensors, str(path / (STATE_TENSORS + ".tmp")))
    (path / (STATE_JSON + ".tmp")).write_text(json.dumps(
        {"stage": stage, "next_epoch": next_epoch, "step": step, "config": config.to_mapping(), "optimizer": plain}))
    (path / (STATE_TENSORS + ".tmp")).replace(path / STATE_TENSORS)
    (path / (STATE_JSON + ".tmp")).replace(path / STATE_JSON)


def _load_state(path: Path, config: LatentConfig):
    from safetensors.torch import load_file

    from lad_core.latent.checkpoint import load_model

    from lad_core.latent.configuration import config_from_mapping

    state = json.loads((path / STATE_JSON).read_text())
    try:  # through the current schema: a run saved before a field existed holds that field's default
        saved = config_from_mapping(state["config"]).to_mapping()
    except ConfigError:
        saved = dict(state["config"])
    now = config.to_mapping()
    saved.pop("run", None), now.pop("run", None)
    if saved != now:
        diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
        raise ConfigError(f"{path} holds a run of a different config (sections {diff} differ); use another output "
                          f"folder or start over without resuming", source=config.source_file)
    model = load_model(path)
    tensors = load_file(str(path / STATE_TENSORS))
    opt_state = {"param_groups": state["optimizer"]["param_groups"], "state": {}}
    for idx, plain in state["optimizer"]["state"].items():
        entry = dict(plain)
        entry.update({k.split(".", 1)[1]: v for k, v in tensors.items() if k.split(".", 1)[0] == idx})
        opt_state["state"][int(idx)] = entry
    ema = None
    if "ema_updates" in state["optimizer"]:
        ema = EmaWeights(model, config.stage2.ema_decay)
        ema.load_state_dict({k[len("ema/"):]: v for k, v in tensors.items() if k.startswith("ema/")},
                            state["optimizer"]["ema_updates"])
    return model, opt_state, state["stage"], state["next_epoch"], state["step"], ema


# ---------------------------------------------------------------------------------------------- the loop
def _batches(n: int, batch_size: int, gen: torch.Generator):
    perm = torch.randperm(n, generator=gen)
    if n <= batch_size:
        return [perm]
    return [perm[s : s + batch_size] for s in range(0, n - batch_size + 1, batch_size)]


def _cross_term(model, z, train, idx, mods, step: int, sources=None) -> tuple[torch.Tensor, dict]:
    """Option beyond the paper: MSE of decoding modality j from modality i's latent, i = the (step)-th other one
    among `sources` (None: every modality). Also returns the normalized predictions (j -> tensor)."""
    total, preds = torch.zeros(()), {}
    for k, j in enumerate(mods):
        others = [m for m in (sources or mods) if m != j]
        if not others:
            continue
        i = others[(step + k) % len(others)]
        preds[j] = model.reconstruct(j, z[i])
        total = total + F.mse_loss(preds[j], train[j][idx])
    return total / max(len(preds), 1), preds


def _stage2_extras(s2, model, z, split, idx, mods, step, preds, tips, gen, parts: dict) -> torch.Tensor:
    """The opt-in stage-2 terms beyond the paper (cross, fingertip, sweep); logs each into `parts`."""
    extra = torch.zeros(())
    cross_preds = {}
    if s2.cross_weight > 0:
        l_cross, cross_preds = _cross_term(model, z, split.train, idx, mods, step, s2.cross_sources)
        extra = extra + s2.cross_weight * l_cross
        parts["cross"] = float(l_cross.detach())
    if s2.fingertip_weight > 0:
        l_tip = tips.mean_tip_loss(preds, idx)
        parts["tip_cm2"] = float(l_tip.detach())
        if cross_preds:
            l_cross_tip = tips.mean_tip_loss(cross_preds, idx)
            parts["cross_tip_cm2"] = float(l_cross_tip.detach())
            l_tip = l_tip + s2.cross_weight * l_cross_tip
        extra = extra + s2.fingertip_weight * l_tip
    if s2.sweep_weight > 0:
        l_sweep = tips.sweep_loss(s2.sweep_batch, gen)
        parts["sweep_cm2"] = float(l_sweep.detach())
        extra = extra + s2.sweep_weight * l_sweep
    return extra


def _base_lrs(config: LatentConfig, stage: int) -> list[float]:
    """Learning rates of the optimizer's parameter groups before any schedule (see _stage2_optimizer)."""
    if stage == 1:
        return [config.stage1.lr]
    s2 = config.stage2
    return [s2.lr] + ([s2.lr * s2.encoder_lr_scale] if s2.finetune_encoders else [])


def _encoder_input(x: torch.Tensor, std: float) -> torch.Tensor:
    """Training-time input augmentation (data.input_noise): Gaussian noise in normalized units."""
    return x + std * torch.randn_like(x) if std > 0 else x


def quick_validation(model, val_raw: dict[str, np.ndarray], limit: int = 4096) -> dict:
    from lad_core.latent.metrics import evaluate, sr_cr_summary

    sub = {m: v[:limit] for m, v in val_raw.items()}
    met = evaluate(model, sub, fingertips=False)
    return {"loss": met["loss"], "top1": met["top1"], **sr_cr_summary(met)}


def _flush_denormal_is_on() -> bool:
    """torch has a setter for the flush but no getter: a subnormal float survives a multiplication only when off."""
    return torch.tensor([1e-40], dtype=torch.float32).mul(1.0).item() == 0.0


@contextmanager
def _denormals_flushed():
    """Late in long runs Adam's moments and small gradients underflow into denormal floats, which x86 CPUs compute
    many times slower (cpu_all_wide's stage-2 epochs went from 6 to 19 min); flushing them to zero costs nothing in
    accuracy (|x| < 1.2e-38). Scoped to the training steps of this thread, since the setting is global CPU state
    that other code (hypothesis, numpy's subnormal checks) relies on; the caller's setting is restored after."""
    was_on = _flush_denormal_is_on()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(was_on)


def _validate(model, val_raw, ema: EmaWeights | None) -> dict:
    if ema is None:
        return quick_validation(model, val_raw)
    ema.swap(model)
    try:
        return quick_validation(model, val_raw)
    finally:
        ema.swap(model)


@dataclass
class _Stage:
    """What every step of one stage shares."""

    number: int
    settings: StageConfig  # config.stage1 or config.stage2
    opt: torch.optim.Optimizer
    finetune: bool  # stage 1, or stage 2 with finetune_encoders: the encoders get gradients
    contrastive_weight: float
    base_lrs: list[float]
    total_steps: int  # for the learning-rate schedule
    noise: dict  # data.input_noise, only while the encoders train


def _open_stage(config: LatentConfig, model, number: int, n: int, opt_state) -> _Stage:
    scfg = config.stage1 if number == 1 else config.stage2
    if number == 1:
        opt = _optimizer(scfg.optimizer, model.encoders.parameters(), scfg.lr, scfg.weight_decay)
    else:
        opt = _stage2_optimizer(config, model)
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    finetune = number == 1 or config.stage2.finetune_encoders
    return _Stage(number, scfg, opt, finetune, config.stage2.contrastive_weight if number == 2 else 1.0,
                  _base_lrs(config, number), max(1, scfg.epochs * len(_batches(n, scfg.batch_size, torch.Generator()))),
                  config.data.input_noise if finetune else {})


def _step_loss(config: LatentConfig, model, split: _Split, stage: _Stage, idx, tau: float, step: int, tips,
               gen) -> tuple[torch.Tensor, dict]:
    """The loss of one batch and its logged parts: InfoNCE in stage 1, Eq. 6 plus the opt-in terms in stage 2."""
    mods = config.model.modalities
    with torch.set_grad_enabled(stage.finetune):
        z = {m: model.embed(m, _encoder_input(split.train[m][idx], stage.noise.get(m, 0.0))) for m in mods}
    contrastive, _ = info_nce(z, tau)
    if stage.number == 1:
        return contrastive, {"contrastive": float(contrastive.detach())}
    preds = {m: model.reconstruct(m, z[m]) for m in mods}
    recon = {m: F.mse_loss(preds[m], split.train[m][idx]) for m in mods}
    l_rec = sum(recon.values()) / len(mods)
    lam = stage.contrastive_weight
    loss = l_rec + lam * contrastive if stage.finetune and lam > 0 else l_rec
    parts = {"recon": float(l_rec.detach()), "contrastive": float(contrastive.detach()),
             **{f"recon_{m}": float(v.detach()) for m, v in recon.items()}}
    return loss + _stage2_extras(config.stage2, model, z, split, idx, mods, step, preds, tips, gen, parts), parts


def _train_epoch(config: LatentConfig, model, split: _Split, stage: _Stage, epoch: int, step: int, steps1: int,
                 tips, ema: EmaWeights | None) -> tuple[dict, int]:
    """One epoch of optimizer steps: (mean losses, the global step after it). Batches, noise and dropout are a
    function of (seed, stage, epoch), so a resumed run repeats them exactly."""
    seed = config.run.seed * 100_003 + stage.number * 10_007 + epoch
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model.train()
    if not stage.finetune:
        model.encoders.eval()
    n = len(next(iter(split.train.values())))
    batches = _batches(n, stage.settings.batch_size, gen)
    sums: dict[str, float] = {}
    with _denormals_flushed():
        for b, idx in enumerate(batches):
            tau = config.temperature.at(step / steps1) if stage.number == 1 else config.temperature.end
            factor = stage.settings.lr_factor((epoch * len(batches) + b) / stage.total_steps)
            for group, lr in zip(stage.opt.param_groups, stage.base_lrs):
                group["lr"] = lr * factor
            loss, parts = _step_loss(config, model, split, stage, idx, tau, step, tips, gen)
            stage.opt.zero_grad(set_to_none=True)
            loss.backward()
            stage.opt.step()
            if ema is not None:
                ema.step(model)
            step += 1
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
    train = {k: v / len(batches) for k, v in sums.items()}
    if not all(np.isfinite(v) for v in train.values()):
        raise InputError(f"training diverged at stage {stage.number} epoch {epoch}: losses {train}")
    return train, step


def _log_epoch(jsonl, writer, record: dict) -> None:
    jsonl.write(json.dumps(record) + "\n")
    jsonl.flush()
    st, step, val = record["stage"], record["step"], record["val"]
    for k, v in record["train"].items():
        writer.add_scalar(f"stage{st}/train/{k}", v, step)
    writer.add_scalar(f"stage{st}/temperature", record["temperature"], step)
    if val is not None:
        writer.add_scalar(f"stage{st}/val/sr_loss", val["sr"], step)
        writer.add_scalar(f"stage{st}/val/cr_loss", val["cr"], step)
        for k, v in val["loss"].items():
            writer.add_scalar(f"stage{st}/val/loss/{k}", v, step)


def iter_training(config: LatentConfig, out_dir: str | Path, data=None, resume: bool = True,
                  cancel: Callable[[], bool] | None = None) -> Iterator[TrainProgress]:
    """Train per `config`, writing to `out_dir`; yields after every epoch. `data`: PairedData or a dict of arrays
    instead of the config's pairs file."""
    torch.set_num_threads(config.run.threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last"
    torch.manual_seed(config.run.seed)  # the initial weights are a function of the seed
    model = LatentActionModel.from_config(config.model)
    split = _prepare(config, model, data)
    stage_at, start_epoch, step, opt_state, ema = 1, 0, 0, None, None
    if resume and (last / STATE_JSON).exists():
        model, opt_state, stage_at, start_epoch, step, ema = _load_state(last, config)
        log.info("resuming %s at stage %d epoch %d", last, stage_at, start_epoch)
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(out / "tb"))
    t0 = time.perf_counter()
    n = len(next(iter(split.train.values())))
    steps1 = max(1, config.stage1.epochs * len(_batches(n, config.stage1.batch_size, torch.Generator())))
    s2 = config.stage2
    tips = FingertipTerms(model, split.train, config.model.modalities) if s2.fingertip_weight > 0 or s2.sweep_weight > 0 else None
    try:
        with open(out / "metrics.jsonl", "a") as jsonl:
            for st in range(stage_at, 3):
                stage = _open_stage(config, model, st, n, opt_state if st == stage_at else None)
                if st == 2 and ema is None and s2.ema_decay > 0:
                    ema = EmaWeights(model, s2.ema_decay)
                stage_ema = ema if st == 2 else None
                epochs = stage.settings.epochs
                for epoch in range(start_epoch if st == stage_at else 0, epochs):
                    train, step = _train_epoch(config, model, split, stage, epoch, step, steps1, tips, stage_ema)
                    is_last = epoch == epochs - 1
                    val = None
                    if (epoch + 1) % config.run.eval_every == 0 or is_last:
                        val = _validate(model, split.val_raw, stage_ema)
                    tau_now = config.temperature.at(step / steps1) if st == 1 else config.temperature.end
                    _log_epoch(jsonl, writer, {"stage": st, "epoch": epoch, "step": step, "temperature": tau_now,
                                               "train": train, "val": val, "seconds": time.perf_counter() - t0})
                    stop = cancel is not None and cancel()
                    if (epoch + 1) % config.run.checkpoint_every == 0 or is_last or stop:
                        if is_last and st == 1:  # stage 2 starts from a fresh optimizer
                            _save_state(last, model, _stage2_optimizer(config, model), 2, 0, step, config, split)
                        else:
                            nxt_stage, nxt_epoch = (st, epoch + 1) if not is_last else (st + 1, 0)
                            _save_state(last, model, stage.opt, nxt_stage, nxt_epoch, step, config, split, stage_ema)
                    yield TrainProgress(st, epoch, epochs, step, tau_now, train, val, time.perf_counter() - t0)
                    if stop:
                        return
    finally:
        writer.close()
    if ema is not None:
        ema.swap(model)  # the average is what ships
    _finish(model, config, split, out, time.perf_counter() - t0)


def _finish(model, config, split, out: Path, seconds: float) -> dict:
    from lad_core.latent.metrics import evaluate, sr_cr_summary

    metrics = evaluate(model, split.val_raw)
    summary = {"val": metrics, "summary": sr_cr_summary(metrics), "train_seconds": seconds}
    model.save(out / "model", {"config": config.to_mapping(), "provenance": split.provenance, "metrics": summary})
    (out / "final_metrics.json").write_text(json.dumps(summary, indent=1))
    return summary


def train(config: LatentConfig, out_dir: str | Path, data=None, resume: bool = True,
          on_progress: Callable[[TrainProgress], None] | None = None) -> TrainResult:
    from lad_core.latent.checkpoint import load_model

    t0 = time.perf_counter()
    history = []
    for p in iter_training(config, out_dir, data=data, resume=resume):
        history.append({"stage": p.stage, "epoch": p.epoch, "train": p.train, "val": p.val})
        if on_progress is not None:
            on_progress(p)
    out = Path(out_dir)
    final = json.loads((out / "final_metrics.json").read_text())
    return TrainResult(load_model(out / "model"), out, final["val"], time.perf_counter() - t0, history)
