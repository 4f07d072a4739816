"""``lad policy``: train latent diffusion policies and evaluate them in simulation.

    lad policy train CONFIG [--out DIR] [--resume [CKPT]] [--steps N] [--seed S]
    torchrun --nproc-per-node 2 -m lad_core.cli.main policy train CONFIG      (DDP, same entry point)
    lad policy eval CKPT --task cube_in_box --embodiment mimic --episodes 50
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from lad_core.errors import LadError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("policy", help="train and evaluate latent diffusion policies", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="policy_command", metavar="ACTION")
    t = sub.add_parser("train", help="train a policy from a YAML config (see resources/configs/policy/)")
    t.add_argument("config", help="training config YAML")
    t.add_argument("--out", help="output folder (default: runs/policy/<config name>)")
    t.add_argument("--resume", nargs="?", const=True, default=False,
                   help="continue from the output folder's latest checkpoint, or from CKPT")
    t.add_argument("--steps", type=int, help="override run.steps")
    t.add_argument("--seed", type=int, help="override run.seed (initialisation, batches, noise), for seed repeats")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)
    e = sub.add_parser("eval", help="roll a checkpoint out in simulation and report success rates",
                       description="Roll a checkpoint out in simulation: --positions object placements (scene "
                                   "seeds), each tried episodes/positions times; prints the success rate and mean "
                                   "+/- std over placements (paper Fig. 6), and writes every episode to --json.")
    e.add_argument("checkpoint", help="checkpoint folder (.../checkpoints/step_NNNNNNN)")
    e.add_argument("--task", default="cube_in_box")
    e.add_argument("--embodiment", required=True)
    e.add_argument("--episodes", type=int, default=50)
    e.add_argument("--positions", type=int, help="object placements (default: min(episodes, 10))")
    e.add_argument("--seed", type=int, default=0, help="first scene seed")
    e.add_argument("--max-ticks", type=int, default=220, help="control ticks per episode (20 Hz)")
    e.add_argument("--inference-steps", type=int, help="DDIM steps (default: the checkpoint's)")
    e.add_argument("--latent", help="latent model checkpoint (default: the one the policy was trained with)")
    e.add_argument("--no-ema", action="store_true", help="use the raw weights rather than the EMA weights")
    e.add_argument("--json", help="also write the full result (every episode) to this JSON file")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.set_defaults(func=_eval)
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])


def _train(args: argparse.Namespace) -> int:
    from lad_core.policy.train_config import load_train_config
    from lad_core.policy.training import train

    config = load_train_config(args.config)
    if args.steps is not None:
        if args.steps <= 0:
            raise LadError(f"--steps must be positive, got {args.steps}")
        config = dataclasses.replace(config, run=dataclasses.replace(config.run, steps=args.steps))
    if args.seed is not None:
        config = dataclasses.replace(config, run=dataclasses.replace(config.run, seed=args.seed))
    out = Path(args.out) if args.out else Path("runs") / "policy" / Path(args.config).stem
    result = train(config, out, resume=args.resume, progress=not args.no_progress)
    if result.losses:
        print(f"trained to step {result.step}; last loss {result.losses[-1]:.4f}; checkpoint {result.checkpoint}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    import json

    from lad_core.policy.checkpoint import load_policy, read_checkpoint_meta
    from lad_core.policy.evaluation import codec_for, evaluate

    meta = read_checkpoint_meta(args.checkpoint)  # a bad checkpoint is reported first
    if args.embodiment not in meta.get("embodiments", []):
        raise LadError(f"{args.checkpoint}: the policy was trained on {meta.get('embodiments')}, not "
                       f"'{args.embodiment}'")
    loaded = load_policy(args.checkpoint, use_ema=not args.no_ema)
    result = evaluate(loaded, task=args.task, embodiment=args.embodiment, episodes=args.episodes,
                      positions=args.positions, codec=codec_for(loaded, args.latent), max_ticks=args.max_ticks,
                      seed=args.seed, num_inference_steps=args.inference_steps, checkpoint=str(args.checkpoint),
                      progress=not args.no_progress)
    summary = {k: v for k, v in result.to_dict().items() if k != "outcomes"}
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2))
    print(json.dumps(summary))
    print(f"{args.embodiment} {args.task}: success {result.success_rate:.0%} over {result.episodes} episodes; "
          f"per placement {result.position_mean:.2f} +/- {result.position_std:.2f} ({result.positions} placements)",
          file=sys.stderr)
    return 0
