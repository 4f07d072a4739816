"""The sim scene view of the teleop area: the running simulation's external camera, shown only while a sim runs.

Rendering happens on `lad_core.studio.simview.SceneCamera`'s thread; `tick()` (UI thread, the rollout panel's poll)
only shows the newest image.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from lad_core.studio.simview import SceneCamera, sim_scene


class SimSceneView(QtWidgets.QLabel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(160, 120)
        self.setAlignment(QtCore.Qt.AlignCenter)
        self.setStyleSheet("QLabel { background: #101014; color: #c0c0c0; }")
        self.setSizePolicy(QtWidgets.QSizePolicy.Ignored, QtWidgets.QSizePolicy.Ignored)
        self.setToolTip("the simulation's external camera (rendered off the UI thread, a few frames per second)")
        self.camera: SceneCamera | None = None
        self.shown = 0  # images shown since the last attach
        self._last = 0
        self.hide()

    def attach(self, backend, version=None) -> bool:
        """Starts rendering `backend`'s scene when it is a sim (again whenever `version()` changes); False (and
        stays hidden) for other backends."""
        self.detach()
        if sim_scene(backend) is None:
            return False
        self.camera = SceneCamera(backend, version=version)
        self.camera.start()
        self.shown = self._last = 0
        self.setText("sim scene: rendering…")
        self.show()
        return True

    def detach(self) -> None:
        """Stops the render thread (before the backend closes its scene) and hides the view."""
        if self.camera is not None:
            self.camera.stop()
            self.camera = None
        self.clear()
        self.hide()

    def tick(self) -> None:
        cam = self.camera
        if cam is None:
            return
        if cam.error is not None and not cam.running:
            self.setText(f"sim scene view stopped: {cam.error}")
            return
        latest = cam.latest
        if latest is None or latest[0] == self._last:
            return
        self._last, image = latest
        h, w = image.shape[:2]
        qimg = QtGui.QImage(image.data, w, h, image.strides[0], QtGui.QImage.Format_RGB888).copy()
        self.setPixmap(QtGui.QPixmap.fromImage(qimg).scaled(self.size(), QtCore.Qt.KeepAspectRatio,
                                                             QtCore.Qt.SmoothTransformation))
        self.shown += 1
