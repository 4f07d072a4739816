"""Studio fixtures: a main window on the synthetic source with settings and history in tmp_path; teardown fails a
test that leaves the session's threads running or top-level windows open."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


def _lad_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith(("lad-studio", "lad-capture", "lad-inference"))}


@pytest.fixture
def make_window(qtbot, tmp_path):
    from PySide6 import QtCore, QtWidgets

    from app.window import MainWindow
    from lad_core.studio.session import TeleopSession

    before = _lad_threads()
    made = []

    def make(source: str = "synthetic", autostart: bool = True, **kw):
        settings = QtCore.QSettings(str(tmp_path / "studio.ini"), QtCore.QSettings.IniFormat)
        kw.setdefault("data_dir", tmp_path / "episodes")
        kw.setdefault("history_path", tmp_path / "runs.json")
        w = MainWindow(TeleopSession(source), settings, autostart=autostart, **kw)
        qtbot.addWidget(w)
        made.append(w)
        w.show()
        qtbot.waitExposed(w)
        return w

    yield make
    for w in made:
        w.close()
        w.shutdown()
    QtWidgets.QApplication.processEvents()
    leaked = _lad_threads() - before
    assert not leaked, f"threads left running: {leaked}"
    open_windows = [w for w in QtWidgets.QApplication.topLevelWidgets() if w.isVisible()]
    assert not open_windows, f"windows left open: {open_windows}"
