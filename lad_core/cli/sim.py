"""`lad sim replay EPISODE`: play a recorded simulated episode back in pybullet at its recorded rate and report
how far the object's trajectory strays from the recorded one."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sim", help="simulation tools (replay)", description=__doc__)
    sub = p.add_subparsers(dest="sim_command", metavar="SUBCOMMAND", required=True)
    r = sub.add_parser("replay", help="replay a recorded sim episode")
    r.add_argument("episode", help="episode .h5 file recorded in the simulator")
    r.add_argument("--gui", action="store_true", help="show the pybullet window")
    r.add_argument("--fast", action="store_true", help="do not pace at the recorded rate")
    r.set_defaults(func=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    import numpy as np

    from lad_core.sim.recording import replay_episode

    recorded, replayed, success = replay_episode(args.episode, realtime=not args.fast, gui=args.gui)
    err = np.linalg.norm(recorded[:, :3] - replayed[:, :3], axis=1)
    print(f"{len(recorded)} ticks replayed; object position error max {1000 * err.max():.2f} mm, "
          f"final {1000 * err[-1]:.2f} mm; task success: {success}")
    return 0
