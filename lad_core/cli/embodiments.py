"""`lad embodiments`: list the registered embodiments (built-in and plugins) and plugins that failed to load."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("embodiments", help="list registered embodiments", description=__doc__)
    p.add_argument("--joints", action="store_true", help="also list each embodiment's joints and limits")
    p.set_defaults(func=run)


def run(args) -> int:
    from lad_core import embodiments

    for name in embodiments.names():
        spec = embodiments.get(name)
        print(f"{name:10s} {spec.kind:8s} action_dim={spec.action_dim:<4d} {spec.description}")
        if args.joints:
            for j in spec.actuated_joints:
                print(f"    {j.name:18s} [{j.lower:+.3f}, {j.upper:+.3f}]")
    for name, error in embodiments.load_failures().items():
        print(f"{name:10s} FAILED   {error}")
    return 0
