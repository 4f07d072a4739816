"""`lad studio`: open the LAD Studio desktop application (the same as `lad-studio`).

The GUI runs as `python -m app.main` in a child process: `lad_core` never imports the Qt application.
"""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("studio", help="open the LAD Studio desktop application", description=__doc__)
    p.add_argument("--video", metavar="FILE", help="track a video file (looped at its own speed)")
    p.add_argument("--camera", metavar="N", type=int, help="track webcam N")
    p.add_argument("--source", metavar="SPEC", help="any frame source spec (default: the last one used, else synthetic)")
    p.add_argument("--data", metavar="DIR", help="episode folder for recording")
    p.add_argument("--view", choices=("auto", "3d", "gl", "2d"), help="hand views: 3d (painted), gl (pyvista), 2d, or auto")
    p.add_argument("--quit-after", type=float, metavar="S", help="close after S seconds (smoke runs)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import importlib.util
    import subprocess
    import sys

    from lad_core.errors import LadError

    if importlib.util.find_spec("PySide6") is None or importlib.util.find_spec("app") is None:
        raise LadError("the studio needs the GUI extras: pip install -e '.[gui]'")
    argv = [sys.executable, "-m", "app.main"]
    for opt in ("video", "camera", "source", "data", "view", "quit_after"):
        value = getattr(args, opt)
        if value is not None:
            argv += [f"--{opt.replace('_', '-')}", str(value)]
    return subprocess.call(argv)
