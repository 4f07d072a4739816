"""``lad latent``: paired data, training, evaluation and ablation of the shared latent action space.

    lad latent make-pairs --synthetic 200000 --out runs/latent/pairs.h5      Eq. 1 tuples from synthetic poses
    lad latent make-pairs --landmarks joints.npy --out real_pairs.h5         ... or from recorded landmarks
    lad latent train resources/configs/latent/cpu_all.yaml --out runs/latent/cpu_all
    lad latent eval runs/latent/cpu_all/model --pairs pairs.h5 --landmarks held_out.npy --sweep
    lad latent ablate resources/configs/latent/cpu_mimic_gripper.yaml --out runs/latent/ablation
    lad latent export runs/latent/cpu_all/model shipped/ --half                 float16 weights, half the size

Training writes metrics.jsonl, TensorBoard events (tb/) and a resumable checkpoint (last/); run the same command
again to resume. Results are JSON lines on stdout; progress bars go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("latent", help="latent action space: make-pairs, train, eval, ablate",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="latent_command", metavar="ACTION")

    mp = sub.add_parser("make-pairs", help="retarget human poses into paired tuples (HDF5)")
    src = mp.add_mutually_exclusive_group(required=True)
    src.add_argument("--synthetic", type=int, metavar="N", help="N poses from the synthetic human pose sampler")
    src.add_argument("--landmarks", metavar="FILE", help="recorded landmarks (.npy (N,21,3) or .h5)")
    mp.add_argument("--out", required=True, help="output HDF5 file")
    mp.add_argument("--modalities", default="human,faive,mimic,gripper", help="comma-separated embodiments")
    mp.add_argument("--seed", type=int, default=0, help="sampler seed (synthetic)")
    mp.add_argument("--chunk", type=int, default=4096, help="poses retargeted per chunk")
    mp.add_argument("--retarget-config", metavar="YAML",
                    help="retargeting settings (default: RetargetConfig.converged(), recorded in the file)")
    mp.set_defaults(func=_make_pairs)

    tr = sub.add_parser("train", help="two-stage training from a config YAML (resumes when --out holds a run)")
    tr.add_argument("config", help="config YAML (resources/configs/latent/*.yaml)")
    tr.add_argument("--out", help="output folder (default: runs/latent/<config name>)")
    tr.add_argument("--pairs", help="use this pairs file instead of the config's data.pairs")
    tr.add_argument("--no-resume", action="store_true", help="start over even if --out holds a checkpoint")
    tr.add_argument("--seed", type=int, help="override run.seed (initialisation, split, batches), for seed repeats")
    tr.set_defaults(func=_train)

    ev = sub.add_parser("eval", help="SR/CR metrics, CR matrix, retrieval, real-pose targets, gripper sweep")
    ev.add_argument("checkpoint", help="model folder (…/model or …/last)")
    ev.add_argument("--pairs", help="paired validation data (HDF5)")
    ev.add_argument("--landmarks", help="held-out real landmarks (.npy/.h5): human -> robot fingertip error vs retargeting")
    ev.add_argument("--sweep", action="store_true", help="decode a gripper width sweep 0 -> 1 into the hands")
    ev.add_argument("--limit", type=int, default=20000, help="evaluate at most this many tuples of --pairs")
    ev.set_defaults(func=_eval)

    ex = sub.add_parser("export", help="copy a model folder for shipping, optionally with float16 weights")
    ex.add_argument("checkpoint", help="model folder (…/model)")
    ex.add_argument("out", help="output folder")
    ex.add_argument("--half", action="store_true", help="float16 weights (half the size; statistics stay float32)")
    ex.set_defaults(func=_export)

    ab = sub.add_parser("ablate", help="train full / w/o TA / w/o FT / w/o both and write Table 1")
    ab.add_argument("config", help="config YAML")
    ab.add_argument("--out", help="output folder (default: runs/latent/ablation_<config name>)")
    ab.add_argument("--pairs", help="use this pairs file instead of the config's data.pairs")
    ab.add_argument("--no-resume", action="store_true")
    ab.set_defaults(func=_ablate)
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])


def _emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def _make_pairs(args) -> int:
    from lad_core.latent.pairs import file_source, make_pairs, synthetic_source

    source = synthetic_source(args.synthetic, seed=args.seed) if args.synthetic is not None else file_source(args.landmarks)
    mods = [m.strip() for m in args.modalities.split(",") if m.strip()]
    retarget = None
    if args.retarget_config:
        from lad_core.retarget import RetargetConfig

        retarget = RetargetConfig.load(args.retarget_config)
    res = make_pairs(source, args.out, mods, chunk=args.chunk, progress=True, retarget_config=retarget)
    _emit({"event": "pairs", "path": str(res.path), "count": res.count, "seconds": round(res.seconds, 2),
           "pairs_per_s": round(res.rate, 1), "modalities": list(res.modalities)})
    return 0


def _config(args):
    from lad_core.latent.configuration import load_config

    cfg = load_config(args.config)
    if getattr(args, "pairs", None):
        from pathlib import Path

        cfg = cfg.with_changes(data={"pairs": str(Path(args.pairs).resolve())})
    if getattr(args, "seed", None) is not None:
        cfg = cfg.with_changes(run={"seed": args.seed})
    if not cfg.pairs_path().exists():
        from lad_core.errors import InputError

        raise InputError(f"{args.config}: pairs file {cfg.pairs_path()} does not exist; create it with "
                         f"`lad latent make-pairs --synthetic N --modalities {','.join(cfg.model.modalities)} "
                         f"--out {cfg.pairs_path()}` or pass --pairs")
    return cfg


def _bar(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="epoch", file=sys.stderr)


def _train(args) -> int:
    from lad_core.latent.training import iter_training

    cfg = _config(args)
    out = args.out or f"runs/latent/{cfg.name}"
    bars = {1: _bar(cfg.stage1.epochs, "stage 1 (encoders)"), 2: _bar(cfg.stage2.epochs, "stage 2 (decoders)")}
    for p in iter_training(cfg, out, resume=not args.no_resume):
        bar = bars[p.stage]
        bar.n = p.epoch + 1
        bar.set_postfix({k: f"{v:.4g}" for k, v in list(p.train.items())[:2]}, refresh=True)
        if p.val is not None:
            _emit({"event": "epoch", "stage": p.stage, "epoch": p.epoch, "step": p.step,
                   "temperature": round(p.temperature, 4), "train": p.train, "val_sr": p.val["sr"],
                   "val_cr": p.val["cr"]})
    for b in bars.values():
        b.close()
    final = json.loads((__import__("pathlib").Path(out) / "final_metrics.json").read_text())
    _emit({"event": "done", "model": f"{out}/model", **final["summary"], "train_seconds": final["train_seconds"]})
    return 0


def _eval(args) -> int:
    import numpy as np

    from lad_core.latent.checkpoint import load_model
    from lad_core.latent.metrics import evaluate, format_matrix, gripper_sweep, real_pose_targets, sr_cr_summary

    model = load_model(args.checkpoint)
    if not (args.pairs or args.landmarks or args.sweep):
        from lad_core.errors import InputError

        raise InputError("nothing to evaluate: give --pairs, --landmarks and/or --sweep")
    if args.pairs:
        from lad_core.latent.pairs import load_pairs

        data = load_pairs(args.pairs, model.embodiments)
        n = min(len(data), args.limit)
        met = evaluate(model, {m: v[:n] for m, v in data.data.items()})
        _emit({"event": "pairs_metrics", "n": n, "summary": sr_cr_summary(met), "summary_mm": sr_cr_summary(met, "mm"),
               **{k: met[k] for k in ("loss", "mae", "mm", "top1")}})
        print(format_matrix(met, "loss"), file=sys.stderr)
        print(format_matrix(met, "mm"), file=sys.stderr)
    if args.landmarks:
        from lad_core.latent.pairs import file_source

        src = file_source(args.landmarks)
        landmarks = np.concatenate([c for c, _ in src.chunks(1 << 20)])
        _emit({"event": "real_poses", "file": args.landmarks, **real_pose_targets(model, landmarks)})
    if args.sweep:
        if "gripper" not in model.embodiments:
            from lad_core.errors import InputError

            raise InputError(f"{args.checkpoint}: the model has no gripper modality for a width sweep")
        _emit({"event": "gripper_sweep", **gripper_sweep(model)})
    return 0


def _export(args) -> int:
    """Copy with the same config and meta; reports the largest change of any decoded value (joint radians or
    gripper width) at each modality's mean input, so a --half copy can be checked at a glance."""
    import numpy as np

    from lad_core.latent.checkpoint import load_model, save_model

    model = load_model(args.checkpoint)
    save_model(model, args.out, half=args.half)
    copy = load_model(args.out)
    moved = {}
    for src in model.embodiments:
        x = model.normalizers[src].mean.numpy()[None]
        for dst in model.embodiments:
            moved[f"{src}->{dst}"] = float(np.abs(model.cross(src, dst, x) - copy.cross(src, dst, x)).max())
    _emit({"event": "exported", "out": args.out, "half": args.half, "max_change_at_mean_pose": moved})
    return 0


def _ablate(args) -> int:
    from lad_core.latent.ablation import run_ablation

    cfg = _config(args)
    out = args.out or f"runs/latent/ablation_{cfg.name}"
    results = run_ablation(cfg, out, resume=not args.no_resume,
                           on_progress=lambda v, p: print(f"{v}: stage {p.stage} epoch {p.epoch + 1}/{p.epochs}",
                                                          file=sys.stderr) if p.epoch + 1 == p.epochs else None)
    from lad_core.latent.metrics import sr_cr_summary

    for v, met in results.items():
        _emit({"event": "variant", "variant": v, **sr_cr_summary(met), "loss": met["loss"]})
    print((__import__("pathlib").Path(out) / "table.md").read_text())
    return 0
