"""The camera image (or a blank canvas for landmark-only sources) with the landmark overlay and tracking state."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from lad_core.embodiments.human import PARENTS

_BONES = np.array([(p, j) for j, p in enumerate(PARENTS) if p >= 0]).reshape(-1)


class CameraView(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.bones = pg.PlotDataItem(pen=pg.mkPen((80, 220, 120), width=2), connect="pairs")
        self.joints = pg.ScatterPlotItem(size=6, brush=pg.mkBrush(255, 80, 80), pen=None)
        self.plot.addItem(self.bones)
        self.plot.addItem(self.joints)
        self.state = QtWidgets.QLabel("waiting for the source…")
        self.state.setObjectName("trackingState")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.state)
        self._size: tuple[int, int] | None = None
        self._set_canvas((640, 480))

    def _set_canvas(self, size: tuple[int, int]) -> None:
        if size != self._size:
            self._size = size
            self.image.setImage(np.full((size[1], size[0], 3), 24, np.uint8), levels=(0, 255))
            self.plot.setRange(xRange=(0, size[0]), yRange=(0, size[1]), padding=0.02)

    def show_frame(self, frame) -> None:
        tracked = frame.tracked
        if frame.image is not None:
            h, w = frame.image.shape[:2]
            self._size = (w, h)
            self.image.setImage(frame.image, levels=(0, 255), autoLevels=False)
        else:
            self._set_canvas(tracked.image_size or (640, 480))
        w, h = self._size
        if tracked.image_landmarks is not None and tracked.present:
            xy = tracked.image_landmarks[:, :2] * (w, h)
            self.joints.setData(pos=xy)
            self.bones.setData(xy[_BONES, 0], xy[_BONES, 1])
        else:
            self.joints.setData(pos=np.zeros((0, 2)))
            self.bones.setData([], [])
        if tracked.present:
            text = f"tracking {tracked.handedness or ''} hand (score {tracked.score:.2f})"
        elif tracked.lost and tracked.has_pose:
            text = f"LOST for {tracked.time_since_loss:.1f} s: holding the last pose"
        else:
            text = "no hand" + (f" (rejected: {tracked.rejected})" if tracked.rejected else "")
        self.state.setText(text)
