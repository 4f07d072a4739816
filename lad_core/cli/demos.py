"""`lad demos`: scripted expert demonstrations in simulation, written as episode files.

    lad demos --task cube_in_box --embodiment mimic --episodes 50 --out DIR

Plays the scripted expert (lad_core.sim.expert) on seeded scenes until DIR holds --episodes successful episodes
(failed attempts are discarded unless --keep-failures; at most 2x --episodes attempts), with a progress bar.
`lad sim replay EPISODE` (lad_core.cli.sim) plays one back.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demos", help="record scripted expert demonstrations in simulation",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="cube_in_box", help="cube_in_box or toy_in_bowl")
    p.add_argument("--embodiment", required=True, help="gripper, mimic, faive or another registered robot")
    p.add_argument("--episodes", type=int, default=10, help="successful episodes to record")
    p.add_argument("--out", required=True, help="dataset directory (created; new episodes get the next indices)")
    p.add_argument("--seed", type=int, default=0, help="first scene seed; attempt i uses seed + i")
    p.add_argument("--image-size", type=int, nargs=2, default=(128, 128), metavar=("H", "W"))
    p.add_argument("--cameras", default="external,wrist", help="comma-separated; empty for none")
    p.add_argument("--renderer", default="tiny", choices=("tiny", "egl"))
    p.add_argument("--keep-failures", action="store_true", help="also keep failed attempts (success=False)")
    p.add_argument("--max-attempts", type=int, default=None, help="default: 2 x --episodes")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from lad_core.episodes import EpisodeDataset, EpisodeWriter
    from lad_core.errors import ConfigError
    from lad_core.sim.env import SimConfig, SimEnv
    from lad_core.sim.expert import run_demo
    from lad_core.sim.recording import episode_info, episode_schema, frame_from

    if args.episodes < 1:
        raise ConfigError(f"must be >= 1, got {args.episodes}", field="--episodes")
    cameras = tuple(c for c in args.cameras.split(",") if c)
    config = SimConfig(args.embodiment, task=args.task, cameras=cameras, image_size=tuple(args.image_size),
                       renderer=args.renderer)  # fmt: skip
    dataset = EpisodeDataset(args.out, create=True)
    max_attempts = args.max_attempts or 2 * args.episodes
    kept = attempts = 0
    with SimEnv(config) as env, tqdm(total=args.episodes, unit="episode", desc=f"{args.embodiment} {args.task}") as bar:
        schema = episode_schema(env)
        while kept < args.episodes and attempts < max_attempts:
            seed = args.seed + attempts
            attempts += 1
            writer = EpisodeWriter(dataset.path_for(dataset.next_index()), schema,
                                   episode_info(env, seed, "scripted_expert"))  # fmt: skip
            try:
                result = run_demo(env, seed, render=bool(cameras),
                                  on_tick=lambda obs, arm, ee: writer.append(frame_from(obs, arm, ee)))
            except BaseException:
                writer.abort(delete=True)
                raise
            if result.success or args.keep_failures:
                writer.close(success=result.success)
                kept += 1
                bar.update(1)
            else:
                writer.abort(delete=True)
            bar.set_postfix(attempts=attempts, success_rate=f"{(kept if not args.keep_failures else 0) / attempts:.0%}")
    print(f"{kept} episode(s) in {dataset.root} from {attempts} attempt(s)")
    return 0 if kept >= args.episodes else 1
