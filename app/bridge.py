"""Carries model events from worker threads to the UI thread as Qt signals (queued connections)."""

from __future__ import annotations

from PySide6 import QtCore


class SessionBridge(QtCore.QObject):
    """Re-emits a TeleopSession's "error", "started" and "finished" events as signals on the UI thread."""

    error = QtCore.Signal(str)
    started = QtCore.Signal(str)
    finished = QtCore.Signal()

    def __init__(self, session, parent=None):
        super().__init__(parent)
        ev = session.events
        self._unsubs = [
            ev.subscribe("error", lambda exc: self.error.emit(f"{type(exc).__name__}: {exc}")),
            ev.subscribe("started", self.started.emit),
            ev.subscribe("finished", self.finished.emit),
        ]

    def close(self) -> None:
        for unsub in self._unsubs:
            unsub()
        self._unsubs = []
