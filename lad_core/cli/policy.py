"""``lad policy``: train latent diffusion policies and evaluate them in simulation.

    lad policy train CONFIG [--out DIR] [--resume [CKPT]] [--steps N]
    torchrun --nproc-per-node 2 -m lad_core.cli.main policy train CONFIG      (DDP, same entry point)
    lad policy eval CKPT --task cube_in_box --embodiment mimic --episodes 50
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
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
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)
    e = sub.add_parser("eval", help="roll a checkpoint out in simulation and report success rates")
    e.add_argument("checkpoint", help="checkpoint folder (…/checkpoints/step_NNNNNNN)")
    e.add_argument("--task", default="cube_in_box")
    e.add_argument("--embodiment", required=True)
    e.add_argument("--episodes", type=int, default=50)
    e.add_argument("--latent", help="latent model checkpoint (latent policies)")
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
    out = Path(args.out) if args.out else Path("runs") / "policy" / Path(args.config).stem
    result = train(config, out, resume=args.resume, progress=not args.no_progress)
    if result.losses:
        print(f"trained to step {result.step}; last loss {result.losses[-1]:.4f}; checkpoint {result.checkpoint}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from lad_core.policy.checkpoint import read_checkpoint_meta

    meta = read_checkpoint_meta(args.checkpoint)  # a bad checkpoint is reported first
    if args.embodiment not in meta.get("embodiments", []):
        raise LadError(f"{args.checkpoint}: the policy was trained on {meta.get('embodiments')}, not "
                       f"'{args.embodiment}'")
    if importlib.util.find_spec("lad_core.sim") is None:
        raise LadError(
            "policy evaluation is not available yet: it needs the simulation package lad_core.sim (the "
            "simulation/episodes issue), with a task environment for "
            f"'{args.task}' x '{args.embodiment}' offering reset(seed) -> observation, step(arm_target, "
            "end_effector) -> observation, and success(); the rollout side is ready "
            "(lad_core.policy.rollout.PolicyRunner)")
    raise LadError("lad_core.sim exists but the policy evaluation loop is not wired to it yet; roll out with "
                   "lad_core.policy.rollout.PolicyRunner meanwhile")
