"""``lad rollout``: a supervised policy rollout from the terminal, through the safety layer.

    lad rollout CKPT --backend kinematic --embodiment gripper                    # interactive (stdin is a TTY)
    lad rollout CKPT --backend sim --task cube_in_box --embodiment mimic --out runs/rollouts/mimic
    lad rollout CKPT --backend remote:tcp://127.0.0.1:5557 --embodiment mimic   # a `lad robot-server`
    lad rollout CKPT --backend kinematic --embodiment gripper --episodes 3 --auto --out DIR   # scripted

CKPT is a policy checkpoint folder (``lad policy train``), or a recorded episode file (``.h5``) whose commanded
actions are replayed. --backend names a robot backend: ``kinematic`` (fake, no physics), ``sim`` (pybullet),
``remote:ENDPOINT`` or any plugin registered in ``lad.robot_backends``.

Keys (interactive): g/Enter run, p pause/run, s step one chunk, Space or Esc E-STOP, r reset after an e-stop,
t take over (then i/k j/l u/o nudge the wrist +-x +-y +-z by 1 cm, [ ] close/open, h hand back), y/n mark
success/failure, q quit (the robot holds; the rollout is saved with --out).
--auto runs each episode until --max-steps control ticks (or the source ends) without asking anything.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

NUDGE_M = 0.01
NUDGE_JOINT = 0.1
_NUDGES = {"i": (0, 1), "k": (0, -1), "j": (1, 1), "l": (1, -1), "u": (2, 1), "o": (2, -1)}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("rollout", help="supervised policy rollout on a robot backend (e-stop, step, takeover)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="policy checkpoint folder, or a recorded episode .h5 to replay")
    p.add_argument("--backend", default="kinematic",
                   help="kinematic | sim | remote:tcp://HOST:PORT | a lad.robot_backends plugin (default: kinematic)")
    p.add_argument("--embodiment", required=True, help="end-effector embodiment (e.g. mimic, gripper)")
    p.add_argument("--task", default="cube_in_box", help="task name (sim scene; stored with saved episodes)")
    p.add_argument("--latent", default=None, help="latent model checkpoint (latent policies without a stand-in)")
    p.add_argument("--episodes", type=int, default=1, help="episodes to run (default 1)")
    p.add_argument("--auto", action="store_true", help="non-interactive: run every episode to --max-steps")
    p.add_argument("--max-steps", type=int, default=200, help="control ticks per episode in --auto (default 200)")
    p.add_argument("--rate", type=float, default=20.0, help="control rate, Hz (default 20)")
    p.add_argument("--source-timeout", type=float, default=2.0,
                   help="watchdog: hold and pause when the policy takes longer than this for a chunk, s (default 2)")
    p.add_argument("--seed", type=int, default=0, help="policy noise seed; sim scene seed of episode i is seed+i")
    p.add_argument("--inference-steps", type=int, default=None, help="DDIM steps (default: the checkpoint's)")
    p.add_argument("--outcome", choices=("success", "failure"), default=None,
                   help="--auto: the outcome to mark (default: the sim's success check when it has one, else unmarked)")
    p.add_argument("--threads", type=int, default=1, help="torch threads for the policy (default 1)")
    p.add_argument("--out", default=None, help="dataset folder to save each rollout to as an episode")
    p.add_argument("--option", action="append", default=[], metavar="KEY=JSON", help="backend option (repeatable)")
    p.set_defaults(func=run)


# ------------------------------------------------------------------------------------------------ set-up
# The Qt-free pieces (also used by the studio's rollout console) live in lad_core.rollout.setup.
def make_source(args: argparse.Namespace, n_joints: int, available: dict[str, Any]):
    from lad_core.rollout.setup import make_source as build

    return build(args.checkpoint, args.embodiment, n_joints, available=available, latent=args.latent, seed=args.seed,
                 num_inference_steps=args.inference_steps)


def _options(pairs: list[str]) -> dict:
    from lad_core.cli.robot import _options as parse

    return parse(pairs)


# ------------------------------------------------------------------------------------------------ running
class Console:
    """Prints controller and safety events as lines (thread-safe enough: whole lines, flushed)."""

    def __init__(self, stream=None):
        self.stream = stream

    def line(self, text: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(f"\r{text}\n")
        stream.flush()

    def on_event(self, event) -> None:
        import numpy as np

        d = event.data
        if event.kind == "state":
            self.line(f"[rollout] state {d['state']}" + (f" ({d['reason']})" if d.get("reason") else ""))
        elif event.kind == "estop":
            self.line(f"[rollout] E-STOP: robot halted {d['latency_ticks']} tick(s) / {d['latency_ms']:.1f} ms "
                      "after the trigger; press r to reset")
        elif event.kind == "chunk_preview":
            pos = d["chunk"].preview_positions()
            if len(pos):
                self.line(f"[rollout] next chunk: {len(pos)} steps, wrist {np.round(pos[0], 3).tolist()} -> "
                          f"{np.round(pos[-1], 3).tolist()}")
        elif event.kind in ("takeover", "hand_back", "outcome", "fault", "watchdog", "finished"):
            self.line(f"[rollout] {event.kind} {d}")

    def on_safety(self, event) -> None:
        self.line(f"[safety] {event.kind} ({event.source}): {event.message}")


def _wait_episode(ctrl, max_ticks: int, deadline_s: float) -> str:
    from lad_core.rollout import ESTOPPED, FAULTED, FINISHED, PAUSED

    start_tick, t0 = ctrl.tick_index, time.monotonic()
    while True:
        if ctrl.state in (FINISHED, FAULTED, ESTOPPED):
            return ctrl.state
        if ctrl.state == PAUSED:  # only the watchdog pauses an --auto run: a scripted run does not resume by itself
            return "watchdog"
        if len(ctrl.steps) >= max_ticks or ctrl.tick_index - start_tick > 20 * max_ticks:
            return "max_steps"
        if time.monotonic() - t0 > deadline_s:
            return "timeout"
        time.sleep(0.01)


def run_auto(ctrl, args) -> str:
    ctrl.start()
    budget = args.max_steps / args.rate * 5 + 4 * args.source_timeout + 10
    ended = _wait_episode(ctrl, args.max_steps, budget)
    ctrl.pause()
    return ended


def run_interactive(ctrl, console: Console, n_joints: int) -> str:
    """Keyboard supervision until q (or the source finishing and q). Returns why it ended."""
    import os
    import select
    import termios
    import tty

    from lad_core.rollout import TeleopSource
    from lad_core.robots.base import RobotCommand

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    teleop = TeleopSource(name="keyboard teleop", wait_s=0.05)
    target: list[RobotCommand | None] = [None]
    try:
        tty.setcbreak(fd)  # before the prompt, so no key typed after it waits for a newline
        console.line("[rollout] keys: g run  p pause  s step  SPACE/ESC e-stop  r reset  t takeover  h hand back  "
                     "y/n success/failure  q quit")
        while True:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            data = os.read(fd, 32).decode(errors="replace")
            if not data:
                return "eof"
            for key in data:
                if key in (" ", "\x1b"):
                    ctrl.estop("keyboard", "operator e-stop (keyboard)")
                elif key == "q":
                    return "quit"
                elif key in ("g", "\n", "\r"):
                    ctrl.start()
                elif key == "p" and ctrl.state == "running":
                    ctrl.pause()
                elif key == "p":
                    ctrl.start()
                elif key == "s":
                    ctrl.step(1)
                elif key == "r":
                    ctrl.reset()
                elif key == "t":
                    state = ctrl.latest_state()
                    target[0] = state.as_command() if state is not None else None
                    ctrl.takeover(teleop)
                    ctrl.start()
                elif key == "h":
                    ctrl.hand_back()
                elif key in ("y", "n"):
                    ctrl.mark_outcome(key == "y")
                elif ctrl.intervening and target[0] is not None and (key in _NUDGES or key in "[]"):
                    cur = target[0]
                    pos, joints = cur.ee_position.copy(), cur.joints.copy()
                    if key in _NUDGES:
                        axis, sign = _NUDGES[key]
                        pos[axis] += sign * NUDGE_M
                    else:
                        joints += (NUDGE_JOINT if key == "[" else -NUDGE_JOINT)
                    target[0] = RobotCommand(pos, cur.ee_orientation, joints)
                    teleop.push(target[0])
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def run(args: argparse.Namespace) -> int:
    from lad_core.errors import ConfigError
    from lad_core.rollout.episode import save_rollout
    from lad_core.rollout.setup import make_backend, make_controller, sim_success
    from lad_core.rollout.policy_source import observation_from_state

    if args.episodes < 1 or args.max_steps < 1:
        raise ConfigError("must be >= 1", field="--episodes/--max-steps")
    interactive = not args.auto
    if interactive and not sys.stdin.isatty():
        raise ConfigError("stdin is not a terminal: use --auto (with --episodes N) for scripted rollouts",
                          field="--auto")
    import logging

    logging.getLogger("lad_core.safety.events").setLevel(logging.WARNING)  # the console prints every safety event
    options = _options(args.option)
    if args.threads < 1:
        raise ConfigError("must be >= 1", field="--threads")
    if Path(args.checkpoint).is_dir():
        import torch

        torch.set_num_threads(args.threads)
    console = Console()
    source = None
    results = []
    for episode in range(args.episodes):
        backend = make_backend(args.backend, args.embodiment, args.task, options, episode)
        backend.connect()
        try:
            if backend.info.n_joints != _embodiment_joints(args.embodiment):
                raise ConfigError(f"the robot has {backend.info.n_joints} end-effector joints, embodiment "
                                  f"'{args.embodiment}' has {_embodiment_joints(args.embodiment)}", field="--embodiment")
            if source is None:
                state = backend.read_state()
                source = make_source(args, backend.info.n_joints, observation_from_state(state))
                if hasattr(source, "warmup"):
                    console.line(f"[rollout] policy warm-up: first chunk in {source.warmup(state):.2f} s")
            else:
                source.reset()
            ctrl = make_controller(backend, source, args.rate, args.source_timeout)
            ctrl.subscribe(console.on_event)
            unsubscribe = ctrl.safety.log.subscribe(console.on_safety)
            console.line(f"[rollout] episode {episode + 1}/{args.episodes}: {source.name} on {args.backend} "
                         f"({backend.info.name}, {backend.info.n_joints} joints) at {args.rate:g} Hz")
            with ctrl:
                ended = run_auto(ctrl, args) if not interactive else run_interactive(ctrl, console,
                                                                                        backend.info.n_joints)
                if ctrl.outcome is None:
                    if args.outcome is not None:
                        ctrl.mark_outcome(args.outcome == "success")
                    elif (ok := sim_success(backend)) is not None:
                        ctrl.mark_outcome(ok)
            unsubscribe()
            n_interventions = sum(1 for s in ctrl.steps if s.intervention)
            summary = (f"[rollout] episode {episode + 1} ended ({ended}): {len(ctrl.steps)} steps, "
                       f"{n_interventions} under operator control, outcome "
                       f"{'unmarked' if ctrl.outcome is None else ('success' if ctrl.outcome else 'failure')}, "
                       f"{len(ctrl.safety.log.events())} safety event(s)")
            if args.out and ctrl.steps:
                path = save_rollout(ctrl, args.out, embodiment=args.embodiment, task=args.task,
                                    extra={"checkpoint": str(Path(args.checkpoint).resolve()),
                                           "backend": args.backend, "ended": ended})
                summary += f"; saved {path}"
            console.line(summary)
            results.append(ended)
        finally:
            backend.close()
        if ended == "quit" or ended == "eof":
            break
    return 1 if any(r == "fault" for r in results) else 0


def _embodiment_joints(name: str) -> int:
    from lad_core.robots.factory import robot_info_for_embodiment

    return robot_info_for_embodiment(name).n_joints

