"""``lad robot-server``: serve one robot backend over the robot protocol (see ``lad_core.robots.protocol``).

Examples::

    lad robot-server --backend kinematic --embodiment mimic            # the fake kinematic robot, no physics
    lad robot-server --backend sim --sim cube_in_box --embodiment mimic  # the pybullet backend, once registered
    lad robot-server --backend kinematic --n-joints 3 --port 0         # any free port; prints READY <endpoint>

The server prints ``READY <endpoint>`` on stdout once bound. SIGINT/SIGTERM stop it (the robot holds);
SIGUSR1 latches the e-stop (the server's own e-stop input).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("robot-server", help="serve a robot backend over the robot protocol (ZeroMQ)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="kinematic",
                   help="robot backend: a name in the lad.robot_backends entry points (kinematic, sim, plugins) "
                        "or module:factory (default: kinematic)")
    p.add_argument("--sim", metavar="TASK", default=None, help="scene/task for simulated backends")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--embodiment", metavar="NAME", default=None, help="end-effector embodiment (e.g. mimic)")
    who.add_argument("--n-joints", type=int, default=None, help="a generic test end-effector with N joints")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=5557, help="TCP port; 0 picks a free one (default: 5557)")
    p.add_argument("--heartbeat-timeout", type=float, default=0.12,
                   help="deadman: hold when the controller is silent this long, seconds (default: 0.12)")
    p.add_argument("--rate", type=float, default=50.0, help="expected command rate, Hz (sets step limits)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=JSON",
                   help="backend option, e.g. --option max_joint_speed=2.0 (repeatable)")
    p.add_argument("--max-seconds", type=float, default=None, help="stop after this long (tests, demos)")
    p.add_argument("--print-schema", action="store_true", help="print the protocol's JSON schema and exit")


def _options(pairs: list[str]) -> dict:
    from lad_core.errors import ConfigError

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"expected KEY=JSON, got {pair!r}", field="--option")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def run(args: argparse.Namespace) -> int:
    from lad_core.errors import ConfigError
    from lad_core.robots import factory, protocol
    from lad_core.robots.server import RobotServer

    if args.print_schema:
        print(json.dumps(protocol.json_schema(), indent=2))
        return 0
    if args.rate <= 0 or args.heartbeat_timeout <= 0:
        raise ConfigError("must be positive", field="--rate/--heartbeat-timeout")
    if args.n_joints is not None:
        info = factory.generic_robot_info(args.n_joints)
    else:
        info = factory.robot_info_for_embodiment(args.embodiment or "mimic")
    backend = factory.create_backend(args.backend, info, sim_task=args.sim, **_options(args.option))
    port = "*" if args.port == 0 else str(args.port)
    server = RobotServer(backend, endpoint=f"tcp://{args.host}:{port}", heartbeat_timeout_s=args.heartbeat_timeout,
                         command_period_s=1.0 / args.rate)
    endpoint = server.bind()
    signal.signal(signal.SIGTERM, lambda *_: server.shutdown())
    signal.signal(signal.SIGINT, lambda *_: server.shutdown())
    if hasattr(signal, "SIGUSR1"):
        signal.signal(signal.SIGUSR1, lambda *_: server.estop.trigger("server", "SIGUSR1 on the robot server"))
    print(f"READY {endpoint}", flush=True)
    print(f"robot server: backend={args.backend} robot={info.name} ({info.n_joints} joints), deadman "
          f"{args.heartbeat_timeout * 1000:.0f} ms", file=sys.stderr, flush=True)
    server.serve(max_seconds=args.max_seconds)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the server without the rest of the CLI (used by tests and ``python -m lad_core.cli.robot``)."""
    from lad_core.errors import LadError

    parser = argparse.ArgumentParser(prog="lad robot-server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except LadError as exc:
        print(f"lad robot-server: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
