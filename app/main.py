"""`lad-studio` (also `lad studio`): open LAD Studio on the synthetic hand, a video file or a camera."""

from __future__ import annotations

import argparse
import sys


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(prog="lad-studio", description=__doc__)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--video", metavar="FILE", help="track a video file (looped at its own speed)")
    src.add_argument("--camera", metavar="N", type=int, help="track webcam N")
    src.add_argument("--source", metavar="SPEC", help="any frame source spec (default: the last one used, else synthetic)")
    p.add_argument("--data", metavar="DIR", help="episode folder for recording (default: the last one used)")
    p.add_argument("--view", choices=("auto", "3d", "gl", "2d"),
                   help="hand views: 3d (painted, no OpenGL), gl (pyvista OpenGL), 2d (projections), or auto "
                        "(default: gl on a hardware OpenGL renderer, else 3d)")
    p.add_argument("--quit-after", type=float, metavar="S", help=argparse.SUPPRESS)  # smoke runs
    return p


def run(args: argparse.Namespace) -> int:
    from PySide6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setOrganizationName("LAD")
    app.setApplicationName("LAD Studio")
    settings = QtCore.QSettings()
    if args.video:
        source = f"video:{args.video}"
    elif args.camera is not None:
        source = f"webcam:{args.camera}"
    else:
        source = args.source or str(settings.value("source", "synthetic"))
    splash = QtWidgets.QLabel("LAD Studio: loading kinematics and retargeters…")
    splash.setWindowFlags(QtCore.Qt.SplashScreen)
    splash.setStyleSheet("padding: 24px; font-size: 14pt")
    splash.show()
    app.processEvents()

    from app.window import MainWindow
    from lad_core.studio.session import TeleopSession

    session = TeleopSession(source, retarget_process=True)  # retargeting off the UI's GIL (benchmarks/README.md)
    window = MainWindow(session, settings, data_dir=args.data, view=args.view)
    splash.close()
    window.show()
    if args.quit_after:
        QtCore.QTimer.singleShot(int(args.quit_after * 1000), window.close)
    code = app.exec()
    window.shutdown()
    return int(code)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
